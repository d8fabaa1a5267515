import {mkdtempSync, rmSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {NO_ALERTS} from '../../src/core/alerts/alert-settings'
import {alertedJob} from '../../src/core/notify/quick-watch'
import {knexSource} from '../../src/core/db/connection-source'
import {loadJobs} from '../../src/core/jobs/load-jobs'
import {PACKAGE_VERSION} from '../../src/core/project/package-name'
import {SqlAlertOutbox} from '../../src/core/run-log/alert-outbox'
import {SqlRunRecorder} from '../../src/core/run-log/recorder'
import {SqlRunStore} from '../../src/core/run-log/run-store'
import {FileSpool} from '../../src/core/run-log/spool'
import {recordSpooled} from '../../src/core/tick/recording'
import type {TickPlan} from '../../src/core/tick/plan'
import {runCrons, type RunCronsOptions} from '../../src/core/tick/run-crons'
import {watchAgain} from '../../src/core/tick/watch-again'
import {fixedClock} from '../../src/core/time/clock'
import {job, settingsWith} from '../fixtures/jobs'
import {context, lines, Sandbox} from '../helpers/cli'
import {BACKENDS, expireLeases, freshDatabase, plain, tableRows, type TestDatabase} from '../helpers/db'
import {mailbox, receiver, subjectOf} from '../helpers/receivers'
import {at} from '../helpers/schedule'

/** A receiver at a Slack-like path whose last part is its secret; `got` as the bodies alone. */
async function hookAt(answer?: (n: number) => number) {
  const hook = await receiver(answer)
  return {...hook, url: `${hook.url}/hooks/T0/s3cret`, get got() {
    return hook.got.map((request) => request.body)
  }}
}

for (const dialect of BACKENDS) describe(`alerts: incidents, the outbox and delivery, on ${dialect}`, function () {
  this.timeout(30_000)
  let t: TestDatabase
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())
  beforeEach(async () => {
    for (const table of ['cron_job_log', 'cron_job', 'cron_alert', 'cron_alert_attempt', 'cron_tick']) await t.db(table).delete()
  })

  const logs: string[] = []
  const tick = (crons: unknown[], now: string, webhook: string, options: Partial<RunCronsOptions> = {}, alerts: Partial<typeof NO_ALERTS> = {}) => {
    const clock = fixedClock(at(now))
    return runCrons({
      db: t.db,
      dialect: t.dialect,
      settings: settingsWith(crons, {alerts: {...NO_ALERTS, channels: [{kind: 'webhook', url: webhook}], ...alerts}}),
      clock,
      leaseClock: dialect === 'sqlite' ? clock : undefined,
      host: 'web1',
      pid: 4242,
      watch: true,
      serverTick: {version: '0.1.0'},
      onLog: (code, level, message) => logs.push(`${code} ${level} ${message}`),
      ...options,
    })
  }
  const minute = (m: number) => `2026-01-05T10:${String(m).padStart(2, '0')}:00Z`

  it('three failures in a row (failureThreshold 3): one alert with what on-call needs, then one recovery notice', async () => {
    const hook = await hookAt()
    let fail = true
    const Flaky = job('app.flaky', {runEveryMins: 1}, () => {
      if (fail) throw new Error('upstream said 502')
      return 'fine again'
    }, 'FlakyJob')
    try {
      for (const m of [0, 1, 2, 3]) await tick([Flaky], minute(m), hook.url, {}, {failureThreshold: 3})
      fail = false
      await tick([Flaky], minute(4), hook.url, {}, {failureThreshold: 3})
      await tick([Flaky], minute(5), hook.url, {}, {failureThreshold: 3})
      expect(hook.got.map((body) => body.kind)).to.deep.equal(['failed', 'recovered'])
      const [failed, recovered] = hook.got
      const runs = await tableRows(t.db, 'cron_job_log')
      expect(failed).to.include({kind: 'failed', code: 'app.flaky', runId: runs[2].id, host: 'web1', className: 'FlakyJob', schedule: 'every 1 min', failuresInRow: 3, since: '2026-01-05T10:00:00.000Z', pid: 4242})
      const text = failed.text.split('\n')
      expect(text[0]).to.equal('[manage] app.flaky failed on web1 (3 failures in a row)')
      expect(text).to.include('job: app.flaky (FlakyJob), every 1 min')
      expect(text).to.include(`run: ${runs[2].id}, started 2026-01-05T10:02:00.000Z, took 0.0 s`)
      expect(text).to.include('message: Error: upstream said 502')
      expect(text).to.include('failures in a row: 3, since 2026-01-05T10:00:00.000Z')
      expect(text.some((line) => /^ +at /.test(line)), 'the stack').to.equal(true)
      expect(text.at(-1)).to.equal('look further: manage crons:history app.flaky --status failed --full')
      expect(recovered).to.include({kind: 'recovered', code: 'app.flaky', runId: runs[4].id, incident: 'failed'})
      expect(recovered.text.split('\n')[0]).to.equal('[manage] app.flaky recovered on web1 (failed since 2026-01-05T10:00:00.000Z)')
      const alerts = await tableRows(t.db, 'cron_alert')
      expect(alerts.map((row) => `${row.kind}:${row.status}:${row.attempts}`)).to.deep.equal(['failed:delivered:1', 'recovered:delivered:1'])
      expect((await tableRows(t.db, 'cron_alert_attempt')).map((row) => Boolean(row.ok))).to.deep.equal([true, true])
      // No secret of the webhook's in what is recorded.
      expect(JSON.stringify(await tableRows(t.db, 'cron_alert_attempt'))).not.to.include('s3cret')
    } finally {
      await hook.close()
    }
  })

  it('a channel down for two ticks, then up: delivered once, each attempt recorded, with back-off; the job never waits for it', async () => {
    const hook = await hookAt((n) => (n < 2 ? 503 : 200))
    const Fails = job('app.fails', {runEveryMins: 60}, () => {
      throw new Error('disk full')
    })
    try {
      const first = await tick([Fails], minute(0), hook.url)
      expect(first.exitCode, 'the job failed; the channel changes nothing').to.equal(1)
      await tick([Fails], minute(1), hook.url) // tried again after 1 min: 503
      await tick([Fails], minute(2), hook.url) // waits: next try after 2 more min
      expect(hook.got).to.have.length(2)
      await tick([Fails], minute(3), hook.url) // up
      await tick([Fails], minute(4), hook.url)
      expect(hook.answered).to.deep.equal([503, 503, 200])
      expect(hook.got.every((body) => body.kind === 'failed' && body.code === 'app.fails')).to.equal(true)
      const [alert] = await tableRows(t.db, 'cron_alert')
      // One alert, one id on every attempt: the receiver can drop the copies it already has.
      expect(hook.got.map((body) => body.id)).to.deep.equal([alert.public_id, alert.public_id, alert.public_id])
      expect(String(alert.public_id)).to.match(UUID)
      expect(alert).to.include({status: 'delivered', attempts: 3, delivered_at: '2026-01-05T10:03:00.000Z'})
      const attempts = await tableRows(t.db, 'cron_alert_attempt')
      expect(attempts.map((row) => `${Boolean(row.ok)} ${row.detail} ${row.attempted_at}`)).to.deep.equal([
        'false 503 Service Unavailable 2026-01-05T10:00:00.000Z',
        'false 503 Service Unavailable 2026-01-05T10:01:00.000Z',
        'true 200 OK 2026-01-05T10:03:00.000Z',
      ])
      expect(String(attempts[0].channel)).to.match(/^webhook http:\/\/127\.0\.0\.1:\d+\/… #[0-9a-f]{8}$/)
      expect(logs.some((line) => /alert \d+ \(failed app\.fails\) not delivered to webhook http:\/\/127\.0\.0\.1:\d+\/…: 503 Service Unavailable/.test(line))).to.equal(true)
    } finally {
      await hook.close()
    }
  })

  it('interrupted: a run whose process died (its lease ran out) is alerted by the tick that finds it, with the dead process named', async () => {
    const hook = await hookAt()
    const Every5 = job('app.crashy', {runEveryMins: 5})
    try {
      const store = new SqlRunStore(knexSource(t.db, t.dialect))
      await store.insertRun({code: 'app.crashy', status: 'running', startMs: at('2026-01-05T09:50:00Z'), host: 'web3', pid: 999, leaseExpiresMs: at('2026-01-05T09:55:00Z')})
      await expireLeases(t)
      await tick([Every5], minute(0), hook.url)
      expect(hook.got.map((body) => `${body.kind} ${body.code} ${body.host} ${body.pid}`)).to.deep.equal(['interrupted app.crashy web3 999', 'recovered app.crashy web1 4242'])
      expect(hook.got[0].text.split('\n')[0]).to.equal('[manage] app.crashy was interrupted (its process stopped renewing its lease) on web3')
    } finally {
      await hook.close()
    }
  })

  it('stuck: a run going on past its timeout is reported once, by the ticks that see it (the other server is still renewing its lease)', async () => {
    const hook = await hookAt()
    const Hung = job('app.hung', {runEveryMins: 1, timeoutMins: 5}, () => 'never called: it is running elsewhere')
    try {
      const store = new SqlRunStore(knexSource(t.db, t.dialect))
      const runId = await store.insertRun({code: 'app.hung', status: 'running', startMs: at(minute(0)), host: 'web3', pid: 77, leaseMs: 3_600_000, leaseNowMs: at(minute(10))})
      for (const m of [10, 11, 12]) await tick([Hung], minute(m), hook.url)
      expect(hook.got.map((body) => `${body.kind} ${body.code} ${body.runId} ${body.host}`)).to.deep.equal([`stuck app.hung ${runId} web3`])
      expect(hook.got[0].text.split('\n')[0]).to.equal('[manage] app.hung looks stuck on web3: running for 11 min (past its 5 min timeout, which should have stopped it)')
    } finally {
      await hook.close()
    }
  })

  it('an outcome kept in the spool (the database was away) brings its alert with it when the next tick records it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'manage-spool-'))
    try {
      const Fails = job('app.spooled', {runEveryMins: 5})
      const {jobs} = loadJobs([Fails])
      const store = new SqlRunStore(knexSource(t.db, t.dialect))
      const runId = await store.insertRun({code: 'app.spooled', status: 'running', startMs: at(minute(0)), host: 'web1', pid: 4242, leaseExpiresMs: at(minute(5))})
      const alerting = {job: alertedJob(jobs[0]), policy: {failureThreshold: 1, recoveryThreshold: 1, remindAfterMs: null}, reporter: 'web1', startMs: at(minute(0)), slot: null, pid: 4242}
      const spool = new FileSpool(dir, 'test database')
      spool.add({runId, code: 'app.spooled', status: 'failed', endMs: at(minute(1)), message: 'Error: the API went away', releaseToken: null, removeOtherSuccesses: false, alerting})
      await recordSpooled(spool, new SqlRunRecorder(knexSource(t.db, t.dialect)), () => undefined)
      const [alert] = await tableRows(t.db, 'cron_alert')
      expect(alert).to.include({kind: 'failed', code: 'app.spooled', run_id: runId, status: 'pending'})
      expect(String(alert.text)).to.include('job: app.spooled (app_spooledJob), every 5 min')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('missed: a due period with no run while a server kept ticking opens an incident (pinned clock)', async () => {
    const hook = await hookAt()
    const Every5 = job('app.every5', {runEveryMins: 5})
    try {
      // (This server is away for 12 min: under silentAfterMinutes, so not reported itself.)
      const alerts = {silentAfterMs: 30 * 60_000}
      await tick([Every5], minute(0), hook.url, {}, alerts)
      // Another server ticks at 10:06 and 10:10 without this job (its crons lack it); this one is back at 10:12.
      await tick([], minute(6), hook.url, {host: 'web2'}, alerts)
      await tick([job('app.other', {runEveryMins: 60})], minute(10), hook.url, {host: 'web2'}, alerts)
      const report = await tick([Every5], minute(12), hook.url, {}, alerts)
      expect(report.outcomes.map((outcome) => outcome.kind)).to.deep.equal(['succeeded'])
      expect(hook.got.map((body) => `${body.kind} ${body.code}`), logs.join('\n')).to.deep.equal(['missed app.every5', 'recovered app.every5'])
      expect(hook.got[0].text.split('\n')[0]).to.equal('[manage] app.every5 missed its run due at 2026-01-05T10:06:00.000Z: none started within 5 min')
    } finally {
      await hook.close()
    }
  })

  it("the watch again on a plan that stands (a scheduler's refresh, the log unchanged): the missed period is raised and delivered, nothing planned or run", async () => {
    const hook = await hookAt()
    const Every5 = job('app.every5', {runEveryMins: 5})
    try {
      const alerts = {silentAfterMs: 30 * 60_000}
      await tick([Every5], minute(0), hook.url, {}, alerts)
      // The scheduler's last full plan, at 10:01 (nothing due); web2 ticks at 10:06 and 10:10 without the job.
      let plan: TickPlan | undefined
      await tick([Every5], minute(1), hook.url, {runner: 'scheduler', onPlan: (made) => (plan = made)}, alerts)
      await tick([], minute(6), hook.url, {host: 'web2'}, alerts)
      await tick([], minute(10), hook.url, {host: 'web2'}, alerts)
      expect(hook.got).to.deep.equal([])
      const runs = (await tableRows(t.db, 'cron_job_log')).length
      const clock = fixedClock(at(minute(12)))
      const settings = settingsWith([Every5], {alerts: {...NO_ALERTS, channels: [{kind: 'webhook', url: hook.url}], ...alerts}})
      await watchAgain({db: t.db, dialect: t.dialect, settings, clock, leaseClock: dialect === 'sqlite' ? clock : undefined, host: 'web1', pid: 4242, runner: 'scheduler'}, plan!, clock())
      expect(hook.got.map((body) => `${body.kind} ${body.code}`), logs.join('\n')).to.deep.equal(['missed app.every5'])
      expect(await tableRows(t.db, 'cron_job_log')).to.have.length(runs)
    } finally {
      await hook.close()
    }
  })

  it('runner_silent: the first tick after a gap reports it once, with the runs it cost; a server that stopped is reported by another', async () => {
    const hook = await hookAt()
    const Every5 = job('app.every5', {runEveryMins: 5})
    try {
      await tick([Every5], minute(0), hook.url)
      await tick([Every5], minute(1), hook.url, {host: 'web2'})
      await tick([Every5], minute(31), hook.url)
      await tick([Every5], minute(32), hook.url)
      expect(hook.got.map((body) => `${body.kind} ${body.host}`)).to.deep.equal(['runner_silent web1', 'runner_silent web2'])
      const [gap, stopped] = hook.got
      expect(gap.text.split('\n')[0]).to.equal('[manage] no server ran manage runcrons for 30 min (from 2026-01-05T10:01:00.000Z to 2026-01-05T10:31:00.000Z)')
      expect(gap.text).to.include('  app.every5: 5 due, the first at 2026-01-05T10:06:00.000Z')
      expect(gap).to.include({code: null, runId: null, silentHost: null, gapMs: 30 * 60_000})
      expect(stopped.text.split('\n')[0]).to.equal('[manage] web2 has not ticked since 2026-01-05T10:01:00.000Z (31 min); other servers are ticking')
      const ticks = (await t.db('cron_tick').orderBy('host')).map(plain)
      expect(ticks.map((row) => `${row.host} ${row.tick_at} ${row.version}`)).to.deep.equal(['web1 2026-01-05T10:32:00.000Z 0.1.0', 'web2 2026-01-05T10:01:00.000Z 0.1.0'])
    } finally {
      await hook.close()
    }
  })

  it("a job's alerts = false: its failures are recorded, nothing is sent; its own webhooks replace the settings'", async () => {
    const hook = await hookAt()
    const own = await hookAt()
    try {
      const Quiet = job('app.quiet', {runEveryMins: 5, alerts: false}, () => {
        throw new Error('expected noise')
      })
      const Routed = job('app.routed', {runEveryMins: 5, alerts: {webhooks: [own.url]}}, () => {
        throw new Error('for the team')
      })
      await tick([Quiet, Routed], minute(0), hook.url)
      expect(hook.got).to.deep.equal([])
      expect(own.got.map((body) => `${body.kind} ${body.code}`)).to.deep.equal(['failed app.routed'])
    } finally {
      await hook.close()
      await own.close()
    }
  })
})

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** End the leases of the alerts being delivered, as time would: the lease follows the real clock (the database's where it has one). */
async function expireAlertLeases(t: TestDatabase): Promise<void> {
  const past = t.dialect === 'postgres' ? t.db.raw(`now() - interval '1 second'`) : t.dialect === 'mysql' ? t.db.raw('UTC_TIMESTAMP(3) - INTERVAL 1 SECOND') : new Date(Date.now() - 1000).toISOString()
  await t.db('cron_alert').whereNotNull('lease_expires_at').update({lease_expires_at: past})
}

for (const dialect of BACKENDS) describe(`alerts: a tick killed while a receiver holds its alert, on ${dialect}`, function () {
  this.timeout(60_000)
  let t: TestDatabase
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())

  it('the alert is delivered again after its lease, with the same id in the body and the Idempotency-Key: at least once, and a receiver can drop the copy', async () => {
    // The receiver takes the first request and never answers it; the second it answers.
    const hook = await receiver((n) => (n === 0 ? 'hold' : 200))
    // The killed tick is a process of its own (start()); the ticks after it run in this one.
    const sandbox = new Sandbox({databaseUrl: t.url, tier: 'in-process'})
    try {
      const outbox = new SqlAlertOutbox(knexSource(t.db, t.dialect))
      await outbox.raise({kind: 'failed', code: 'test.success', runId: 1, host: 'web9', text: 'held once'}, 'test:held', at('2026-01-05T10:00:00Z'))
      const env = {TEST_ALERT_WEBHOOK: `${hook.url}/t0ken`}
      const first = sandbox.start(['runcrons'], {TEST_CRONS: 'SuccessJob', MANAGE_NOW: '2026-01-05T10:01:00Z', ...env})
      await Promise.race([hook.arrived(1), first.done.then((result) => Promise.reject(new Error(`the tick ended before delivering:\n${context(result)}`)))])
      process.kill(first.pid, 'SIGKILL')
      expect((await first.done).signal).to.equal('SIGKILL')

      // Killed mid-delivery: still pending, no attempt recorded, its id kept with the row, its lease running.
      const [held] = await tableRows(t.db, 'cron_alert')
      expect(held).to.include({status: 'pending', attempts: 0})
      expect(String(held.public_id)).to.match(UUID)
      expect(held.lease_expires_at).not.to.equal(null)
      expect(await tableRows(t.db, 'cron_alert_attempt')).to.deep.equal([])

      // While the lease runs, a tick leaves it alone; once it has run out, the next tick delivers it again.
      const leased = await sandbox.runcrons('SuccessJob', '2026-01-05T10:02:00Z', [], env)
      expect(leased.code, context(leased)).to.equal(0)
      expect(hook.got).to.have.length(1)
      await expireAlertLeases(t)
      const again = await sandbox.runcrons('SuccessJob', '2026-01-05T10:03:00Z', [], env)
      expect(again.code, context(again)).to.equal(0)
      expect(hook.got).to.have.length(2)
      const id = held.public_id
      for (const request of hook.got) {
        expect(request.body).to.include({id, kind: 'failed', text: 'held once'})
        expect(request.headers).to.include({'idempotency-key': id, 'x-manage-alert-id': id})
      }
      const [delivered] = await tableRows(t.db, 'cron_alert')
      expect(delivered).to.include({status: 'delivered', attempts: 1, public_id: id})
    } finally {
      sandbox.remove()
      await hook.close()
    }
  })
})

for (const dialect of BACKENDS) describe(`alerts: three processes ticking together, on ${dialect}`, function () {
  this.timeout(60_000)
  let t: TestDatabase
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())

  it('deliver each pending alert exactly once', async () => {
    const hook = await hookAt()
    const sandbox = new Sandbox({databaseUrl: t.url})
    try {
      const outbox = new SqlAlertOutbox(knexSource(t.db, t.dialect))
      for (let i = 0; i < 12; i++) await outbox.raise({kind: 'failed', code: `app.job${i}`, runId: i, host: 'web9', text: `alert ${i}`}, `test:${i}`, at('2026-01-05T10:00:00Z'))
      const env = {TEST_ALERT_WEBHOOK: hook.url}
      const results = await Promise.all([1, 2, 3].map(() => sandbox.runcrons('SuccessJob', '2026-01-05T10:01:00Z', [], env)))
      for (const result of results) expect(result.code, context(result)).to.equal(0)
      expect(hook.got.map((body) => body.text).sort()).to.deep.equal(Array.from({length: 12}, (_, i) => `alert ${i}`).sort())
      const rows = await tableRows(t.db, 'cron_alert')
      expect(rows.every((row) => row.status === 'delivered' && row.attempts === 1)).to.equal(true)
      expect(await tableRows(t.db, 'cron_alert_attempt')).to.have.length(12)
    } finally {
      sandbox.remove()
      await hook.close()
    }
  })
})

describe('alerts: by e-mail, and from the crontab\'s own ticks (the CLI)', function () {
  this.timeout(60_000)

  it('a failure goes out by e-mail (a real local SMTP server): the subject is the first line, the password never shown', async () => {
    const mail = await mailbox()
    const t = await freshDatabase()
    try {
      const Fails = job('app.mailed', {runEveryMins: 5}, () => {
        throw new Error('quota exceeded')
      })
      const email = {host: '127.0.0.1', port: mail.port, secure: false, user: 'alerts', password: 'Sm7p-S3cret', from: 'cron@example.com', to: ['ops@example.com']}
      const logs: string[] = []
      const clock = fixedClock(at('2026-01-05T10:00:00Z'))
      await runCrons({db: t.db, dialect: t.dialect, settings: settingsWith([Fails], {alerts: {...NO_ALERTS, channels: [{kind: 'email', email}]}}), clock, leaseClock: clock, host: 'web1', watch: true, serverTick: {version: '0.1.0'}, onLog: (_code, _level, line) => logs.push(line)})
      expect(mail.mails).to.have.length(1)
      expect(mail.mails[0].to).to.deep.equal(['ops@example.com'])
      expect(subjectOf(mail.mails[0].data)).to.equal('[manage] app.mailed failed on web1')
      expect(mail.mails[0].data).to.include('message: Error: quota exceeded')
      // The alert's id, for a mail store to keep one copy of an alert sent twice.
      const [row] = await tableRows(t.db, 'cron_alert')
      expect(String(row.public_id)).to.match(UUID)
      expect(mail.mails[0].data).to.match(new RegExp(`^Message-ID: <${row.public_id}@example\\.com>\r$`, 'mi')).and.to.match(new RegExp(`^X-Manage-Alert-Id: ${row.public_id}\r$`, 'mi'))
      const attempts = await tableRows(t.db, 'cron_alert_attempt')
      expect(attempts).to.have.length(1)
      expect(String(attempts[0].channel)).to.match(/^e-mail via 127\.0\.0\.1:\d+ to ops@example\.com #[0-9a-f]{8}$/)
      expect(JSON.stringify([attempts, logs, await tableRows(t.db, 'cron_alert')])).not.to.include('Sm7p-S3cret')
    } finally {
      await t.close()
      await mail.close()
    }
  })

  it('a no-op crontab tick records its heartbeat on the fast path; with an alert pending, it hands over to the full tick, which delivers it', async () => {
    const hook = await receiver()
    const sandbox = new Sandbox({tier: 'in-process'})
    try {
      await sandbox.migrate()
      const env = {TEST_ALERT_WEBHOOK: `${hook.url}/t0ken`}
      expect((await sandbox.runcrons('SuccessJob', '2026-01-05T10:00:00Z', [], env)).code).to.equal(0)
      // 10:02: nothing due, nothing pending: the fast path answers and writes the heartbeat.
      const quiet = await sandbox.runcrons('SuccessJob', '2026-01-05T10:02:00Z', [], env)
      expect(quiet.code, context(quiet)).to.equal(0)
      const beats = await sandbox.withDb((db) => db('cron_tick').select('host', 'tick_at'))
      expect(beats.map((row) => row.tick_at)).to.deep.equal(['2026-01-05T10:02:00.000Z'])
      // An alert waiting in the outbox (say, from a tick whose delivery failed): the next no-op tick delivers it.
      await sandbox.withDb((db) => new SqlAlertOutbox(knexSource(db, 'sqlite')).raise({kind: 'failed', code: 'test.success', runId: 1, host: 'web9', text: 'pending one'}, 'test:pending', at('2026-01-05T10:02:30Z')))
      const delivering = await sandbox.runcrons('SuccessJob', '2026-01-05T10:03:00Z', [], env)
      expect(delivering.code, context(delivering)).to.equal(0)
      expect(hook.got.map((request) => request.body.text)).to.deep.equal(['pending one'])
      expect(delivering.stdout + delivering.stderr).not.to.include('t0ken')

      // What the operator sees: the alert, delivered; this server, ticking; and forgetting a server.
      const listed = await sandbox.run(['alerts', '--json'], {MANAGE_NOW: '2026-01-05T10:04:00Z'})
      expect(JSON.parse(listed.stdout)).to.deep.equal([
        {id: 1, kind: 'failed', code: 'test.success', runId: 1, host: 'web9', text: 'pending one', status: 'delivered', attempts: 1, createdAt: '2026-01-05T10:02:30.000Z', nextAttemptAt: null, deliveredAt: '2026-01-05T10:03:00.000Z'},
      ])
      const table = await sandbox.run(['alerts'], {MANAGE_NOW: '2026-01-05T10:04:00Z'})
      expect(lines(table.stdout)[1]).to.match(/^1 +failed +test\.success +2026-01-05 10:02:30 UTC +delivered 2026-01-05 10:03:00 UTC +1 +pending one$/)
      const runners = JSON.parse((await sandbox.run(['runners', '--json'], {MANAGE_NOW: '2026-01-05T10:30:00Z'})).stdout)
      // Its since: the first tick (10:00) of an unbroken run of ticks (each under silentAfterMinutes from the last).
      expect(runners).to.deep.equal([{host: hostname(), kind: 'crontab', pid: runners[0].pid, version: PACKAGE_VERSION, since: '2026-01-05T10:00:00.000Z', lastTickAt: '2026-01-05T10:03:00.000Z', silent: true, lagMs: null, lagJobs: null}])
      const runnersTable = lines((await sandbox.run(['runners'], {MANAGE_NOW: '2026-01-05T10:30:00Z'})).stdout)
      expect(runnersTable[0]).to.match(/^HOST +KIND +VERSION +SINCE +LAST TICK +AGO +STATE$/)
      expect(runnersTable[1]).to.match(/^\S+ +crontab +0\.1\.0 +2026-01-05 10:00:00 UTC +2026-01-05 10:03:00 UTC +27 min ago +silent$/)
      expect((await sandbox.run(['runners', '--kind', 'scheduler'])).stdout).to.equal('No scheduler runner has ticked yet.\n')
      const badKind = await sandbox.run(['runners', '--kind', 'cron'])
      expect([badKind.code, badKind.stderr]).to.deep.equal([2, "error: --kind 'cron' is not a kind of runner: use crontab or scheduler\n"])
      expect((await sandbox.run(['runners', '--forget', hostname(), '--kind', 'scheduler'])).stdout).to.equal(`No heartbeat from ${hostname()}'s scheduler: nothing to forget.\n`)
      expect((await sandbox.run(['runners', '--forget', hostname()])).stdout).to.equal(`Forgot ${hostname()}.\n`)
      expect((await sandbox.run(['runners'])).stdout).to.match(/^No ticks recorded yet/)
    } finally {
      sandbox.remove()
      await hook.close()
    }
  })
})
