import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {checkAlerts, jobAlerts} from '../../src/core/alerts/alert-settings'
import type {SentAlert} from '../../src/core/alerts/alert'
import {deliver} from '../../src/core/notify/send-alert'
import {PACKAGE_VERSION} from '../../src/core/project/package-name'
import {loadJob} from '../../src/core/jobs/load-jobs'
import {CronJobBase} from '../../src/core/contract/cron-job-base'
import {callManage, context, lines} from '../helpers/cli'
import {flooder, mailbox, receiver, smtpTrickler, trickler} from '../helpers/receivers'

describe('alert channels: manage notify:test', function () {
  this.timeout(30_000)
  let dir: string
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'manage-notify-'))))
  after(() => rmSync(dir, {recursive: true, force: true}))
  const settingsWith = (alerts: string): string => {
    const file = path.join(dir, `s-${Math.random().toString(36).slice(2)}.cjs`)
    writeFileSync(file, `module.exports = {crons: [], alerts: ${alerts}}`)
    return file
  }

  it('sends one sample alert to each webhook and e-mail channel, reports each, and never shows a secret', async () => {
    const hook = await receiver()
    const mail = await mailbox()
    try {
      const settings = settingsWith(`{webhooks: ['${hook.url}/services/T0/B0/h00k-t0ken'], email: {host: '127.0.0.1', port: ${mail.port}, secure: false, user: 'alerts', password: 'Sm7p-S3cret', from: 'cron@example.com', to: ['ops@example.com', 'dev@example.com']}}`)
      const result = await callManage(['notify:test'], {MANAGE_SETTINGS: settings, MANAGE_NOW: '2026-01-05T10:00:00Z'})
      expect(result.code, context(result)).to.equal(0)
      const shown = lines(result.stdout)
      expect(shown[0]).to.match(new RegExp(`^✔ webhook ${hook.url.replace(/\./g, '\\.')}/…: 200 OK \\(\\d+ ms\\)$`))
      expect(shown[1]).to.match(/^✔ e-mail via 127\.0\.0\.1:\d+ to ops@example\.com, dev@example\.com: 250 .*\(\d+ ms\)$/)
      expect(result.stdout + result.stderr).not.to.include('h00k-t0ken').and.not.to.include('Sm7p-S3cret')

      expect(hook.got).to.have.length(1)
      expect(hook.got[0].path).to.equal('/services/T0/B0/h00k-t0ken')
      expect(hook.got[0].body).to.include({kind: 'test', code: null, runId: null})
      // The sample has an id of its own (it has no outbox row), sent as an alert's is: body, Idempotency-Key, X-Manage-Alert-Id, Message-ID.
      const id = String(hook.got[0].body.id)
      expect(id).to.match(/^test-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(hook.got[0].headers).to.include({'idempotency-key': id, 'x-manage-alert-id': id, 'content-type': 'application/json', 'user-agent': `manage-cli/${PACKAGE_VERSION}`})
      const headers = mail.mails[0].data.split('\r\n\r\n')[0]
      expect(headers).to.match(new RegExp(`^Message-ID: <${id}@example\\.com>$`, 'mi'))
      expect(headers).to.match(new RegExp(`^X-Manage-Alert-Id: ${id}$`, 'mi'))
      expect(hook.got[0].body.text).to.match(/^manage notify:test: a test alert from \S+ at 2026-01-05T10:00:00\.000Z\n/)
      expect(mail.mails).to.have.length(1)
      expect(mail.mails[0]).to.deep.include({from: 'cron@example.com', to: ['ops@example.com', 'dev@example.com']})
      // Long header lines are folded (RFC 5322): unfold before reading the subject.
      expect(mail.mails[0].data.replace(/\r\n[ \t]+/g, ' ')).to.match(/^Subject: manage notify:test: a test alert from \S+ at 2026-01-05T10:00:00\.000Z\r?$/m)
    } finally {
      await hook.close()
      await mail.close()
    }
  })

  it('a channel that is down or refuses is reported with the reason, the others still get theirs; exit 1', async () => {
    const hook = await receiver(503)
    const down = await receiver()
    await down.close()
    try {
      const settings = settingsWith(`{webhooks: ['${hook.url}/ok', '${down.url}/t0ken']}`)
      const result = await callManage(['notify:test'], {MANAGE_SETTINGS: settings})
      expect(result.code, context(result)).to.equal(1)
      const shown = lines(result.stdout)
      expect(shown[0]).to.match(/^✗ webhook http:\/\/127\.0\.0\.1:\d+\/…: 503 Service Unavailable \(\d+ ms\)$/)
      expect(shown[1]).to.match(/^✗ webhook http:\/\/127\.0\.0\.1:\d+\/…: connect ECONNREFUSED 127\.0\.0\.1:\d+ \(\d+ ms\)$/)
      expect(result.stdout).not.to.include('t0ken')
      expect(hook.got).to.have.length(1)
    } finally {
      await hook.close()
    }
  })

  it('no channel: one line saying how to add one, exit 1', async () => {
    const result = await callManage(['notify:test'], {MANAGE_SETTINGS: settingsWith('{}')})
    expect(result.stderr).to.equal('error: no alert channels in the settings: add alerts: {webhooks: [...]} or alerts: {email: {...}} (see README, "Alerts and monitoring")\n')
    expect(result.code).to.equal(1)
  })

  const bad: Array<[string, unknown, string]> = [
    ['not an object (a string not quoted back: it may be a URL)', 'https://hooks.slack.com/services/secret', "alerts is a string, not an object: use e.g. alerts: {webhooks: ['https://hooks.example.com/…']}"],
    ['webhooks not a list', {webhooks: 'https://x'}, "alerts.webhooks must be a list of URLs: use e.g. webhooks: ['https://hooks.example.com/…']"],
    ['a webhook that is not a URL (not quoted back: it may be a token)', {webhooks: ['hooks.slack.com/services/secret']}, 'alerts.webhooks[0] is not a URL: use an http:// or https:// URL'],
    ['a webhook with another scheme', {webhooks: ['ftp://x/secret']}, "alerts.webhooks[0] has the scheme 'ftp:': use an http:// or https:// URL"],
    ['e-mail without a host', {email: {from: 'a@b.c', to: 'd@e.f'}}, 'alerts.email.host is missing: use e.g. email:'],
    ['e-mail with a bad port', {email: {host: 'h', port: 70000, from: 'a@b.c', to: 'd@e.f'}}, 'alerts.email.port 70000 is not a port (1–65535)'],
    ['e-mail without recipients', {email: {host: 'h', from: 'a@b.c', to: []}}, 'alerts.email.to must be one or more e-mail addresses'],
    ['a threshold of 0', {failureThreshold: 0}, 'alerts.failureThreshold 0 is not a whole number from 1 to 1000: use e.g. failureThreshold: 3'],
  ]
  for (const [what, value, problem] of bad) {
    it(`refuses alerts settings with ${what}, in one line`, () => {
      const problems: string[] = []
      checkAlerts(value, problems)
      expect(problems).to.have.length(1)
      expect(problems[0].startsWith(problem), problems[0]).to.equal(true)
    })
  }
})

describe('delivering to a channel: one deadline for the whole exchange, a few KB of any answer', function () {
  this.timeout(10_000)
  const alert: SentAlert = {id: 'a1b2c3d4-0000-4000-8000-000000000001', kind: 'failed', code: 'app.x', runId: 1, host: 'web1', text: '[manage] app.x failed on web1'}

  it('a webhook that sends its headers, then a byte every 200 ms: cut at the deadline (300 ms injected); its 200 is its answer (delivered: sending it again would make a copy), and the cut is said', async () => {
    const slow = await trickler(200)
    try {
      const delivery = await deliver(alert, {kind: 'webhook', url: `${slow.url}/hooks/s3cret`}, 300)
      expect(delivery).to.include({ok: true, detail: '200 OK, but the rest of its answer did not come within 300 ms'})
      expect(delivery.ms).to.be.within(250, 800)
      await slow.hungUp(1)
    } finally {
      await slow.close()
    }
  })

  it('an SMTP server that answers EHLO a byte every 100 ms, for ever (each byte resets every nodemailer timeout): cut at the deadline (400 ms injected), the connection closed', async () => {
    const smtp = await smtpTrickler(100)
    try {
      const email = {host: '127.0.0.1', port: smtp.port, secure: false, user: 'alerts', password: 'Sm7p-S3cret', from: 'cron@example.com', to: ['ops@example.com']}
      const delivery = await deliver(alert, {kind: 'email', email}, 400)
      expect(delivery).to.include({ok: false, detail: 'no answer within 400 ms'})
      expect(delivery.ms).to.be.within(350, 1000)
      expect(smtp.connections).to.equal(1)
      await smtp.hungUp(1)
    } finally {
      await smtp.close()
    }
  })

  it("a webhook's reason phrase is the peer's words: a line's worth of them is kept", async () => {
    const server = http.createServer((request, response) => {
      request.resume()
      response.writeHead(502, `Bad Gateway ${'x'.repeat(5000)}`).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const delivery = await deliver(alert, {kind: 'webhook', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`}, 2000)
      expect(delivery.ok).to.equal(false)
      expect(delivery.detail).to.equal(`502 Bad Gateway ${'x'.repeat(108)}`)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('a webhook that answers 200 with 50 MB: delivered, promptly, having read a few KB (what left the receiver is its socket buffers at most)', async () => {
    const flood = await flooder(50 * 1024 * 1024)
    try {
      const rss = process.memoryUsage().rss
      const delivery = await deliver(alert, {kind: 'webhook', url: flood.url}, 5000)
      expect(delivery).to.include({ok: true, detail: '200 OK'})
      expect(delivery.ms).to.be.below(1000)
      expect(flood.written).to.be.below(16 * 1024 * 1024)
      expect(process.memoryUsage().rss - rss).to.be.below(32 * 1024 * 1024)
    } finally {
      await flood.close()
    }
  })
})

describe("a job's own alerts (CronJobBase.alerts) over the settings'", () => {
  const settings = checkAlerts({webhooks: ['https://hooks.example.com/all'], email: {host: 'smtp.example.com', from: 'cron@example.com', to: 'ops@example.com'}, failureThreshold: 2}, [])
  const channels = (override: unknown) => {
    const problems: string[] = []
    const resolved = jobAlerts(settings, override, problems)
    return {channels: resolved.channels.map((channel) => (channel.kind === 'webhook' ? channel.url : `mail ${channel.email.to.join(',')} via ${channel.email.host}`)), failureThreshold: resolved.failureThreshold, problems}
  }
  const table: Array<[string, unknown, {channels: string[]; failureThreshold: number; problems: string[]}]> = [
    ['none: the settings\'', undefined, {channels: ['https://hooks.example.com/all', 'mail ops@example.com via smtp.example.com'], failureThreshold: 2, problems: []}],
    ['false: no channel at all', false, {channels: [], failureThreshold: 2, problems: []}],
    ['its own webhooks replace the settings\' webhooks, e-mail kept', {webhooks: ['https://hooks.example.com/team']}, {channels: ['mail ops@example.com via smtp.example.com', 'https://hooks.example.com/team'], failureThreshold: 2, problems: []}],
    ['its own recipients, through the settings\' SMTP server', {email: {to: 'team@example.com'}}, {channels: ['https://hooks.example.com/all', 'mail team@example.com via smtp.example.com'], failureThreshold: 2, problems: []}],
    ['its own threshold', {failureThreshold: 5}, {channels: ['https://hooks.example.com/all', 'mail ops@example.com via smtp.example.com'], failureThreshold: 5, problems: []}],
    ['a bad threshold, in one line', {failureThreshold: 0}, {channels: ['https://hooks.example.com/all', 'mail ops@example.com via smtp.example.com'], failureThreshold: 1, problems: ['alerts.failureThreshold 0 is not a whole number from 1 to 1000: use e.g. failureThreshold: 3']}],
    ['not an object, in one line', 'yes', {channels: ['https://hooks.example.com/all', 'mail ops@example.com via smtp.example.com'], failureThreshold: 2, problems: ["alerts is 'yes': use false (no alerts) or e.g. alerts = {failureThreshold: 3, webhooks: ['https://…']}"]}],
  ]
  for (const [what, override, expected] of table) it(what, () => expect(channels(override)).to.deep.equal(expected))

  it('e-mail recipients without the settings\' SMTP server: one line saying what is missing', () => {
    const problems: string[] = []
    jobAlerts(checkAlerts({webhooks: ['https://hooks.example.com/all']}, []), {email: {to: 'team@example.com'}}, problems)
    expect(problems).to.deep.equal(["alerts.email needs the settings' alerts.email (the SMTP server) to send through"])
  })

  it("the loader checks a class's own alerts alone, against their type: each problem in one line, and recipients need no SMTP server yet", () => {
    const problemsOf = (alerts: unknown) => loadJob(class extends CronJobBase { code = 'app.own'; runEveryMins = 5; alerts = alerts as never; do() {} }).problems.map((problem) => problem.message)
    expect(problemsOf({webhooks: 'https://x', email: {to: 'not an address'}, failureThreshold: 0})).to.deep.equal([
      'alerts.webhooks must be a list of URLs',
      'alerts.email.to must be one or more e-mail addresses',
      'alerts.failureThreshold 0 is not a whole number from 1 to 1000: use e.g. failureThreshold: 3',
    ])
    expect(problemsOf({webhooks: ['ftp://x/secret']})).to.deep.equal(["alerts.webhooks[0] has the scheme 'ftp:': use an http:// or https:// URL"])
    expect(problemsOf({email: {to: 'team@example.com'}, recoveryThreshold: 2})).to.deep.equal([])
    expect(problemsOf(false)).to.deep.equal([])
  })
})
