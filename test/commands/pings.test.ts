import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {expect} from 'chai'
import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {PING_TIMEOUT_MS, pingTick, Pings, runUuid} from '../../src/core/notify/pings'
import {loadJobs} from '../../src/core/jobs/load-jobs'
import {runJob} from '../../src/testing'
import {job} from '../fixtures/jobs'
import {context, lines, ROOT, Sandbox} from '../helpers/cli'
import {flooder, trickler} from '../helpers/receivers'

/** A real local monitor: each request's method, path with query, and body; `answer` false never answers. */
async function monitor(answer = true): Promise<{url: string; got: string[]; close(): Promise<void>}> {
  const got: string[] = []
  const server = http.createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      got.push(`${request.method} ${request.url} ${JSON.stringify(body)}`)
      if (answer) response.writeHead(200).end('OK')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    got,
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

describe('heartbeat pings: a job\'s pingUrl (Healthchecks-compatible)', function () {
  this.timeout(20_000)

  it('pings /start, then the bare URL on success, with the run id as rid and the message as the body', async () => {
    const hc = await monitor()
    try {
      const Pinged = job('app.pinged', {runEveryMins: 5, pingUrl: `${hc.url}/ping/abc`}, () => 'done')
      expect(await runJob(Pinged, {at: '2026-01-05T10:00:00Z'})).to.deep.include({status: 'succeeded'})
      expect(hc.got).to.deep.equal([`POST /ping/abc/start?rid=${runUuid(1)} ""`, `POST /ping/abc?rid=${runUuid(1)} "done"`])
      expect(runUuid(1234)).to.equal('00000000-0000-4000-8000-000000001234')
    } finally {
      await hc.close()
    }
  })

  it('pings /fail on a failure, with the tail of the message (the error and its stack)', async () => {
    const hc = await monitor()
    try {
      const Failing = job('app.failing', {runEveryMins: 5, pingUrl: `${hc.url}/ping/abc/`}, () => {
        throw new Error('boom')
      })
      expect(await runJob(Failing, {at: '2026-01-05T10:00:00Z'})).to.deep.include({status: 'failed'})
      expect(hc.got).to.have.length(2)
      expect(hc.got[0]).to.equal(`POST /ping/abc/start?rid=${runUuid(1)} ""`)
      expect(hc.got[1]).to.match(new RegExp(`^POST /ping/abc/fail\\?rid=${runUuid(1)} "Error: boom\\\\n {4}at `))
    } finally {
      await hc.close()
    }
  })

  it('a monitor that never answers delays neither do() nor the run: the pings time out, the run succeeds, a warning says so', async () => {
    const hc = await monitor(false)
    try {
      let startedAfterMs = Number.POSITIVE_INFINITY
      const began = Date.now()
      const Pinged = job('app.pinged', {runEveryMins: 5, pingUrl: `${hc.url}/hang`}, () => {
        startedAfterMs = Date.now() - began
        return 'done'
      })
      const result = await runJob(Pinged, {at: '2026-01-05T10:00:00Z'})
      const tookMs = Date.now() - began
      expect(result).to.deep.include({status: 'succeeded', message: 'done'})
      expect(startedAfterMs).to.be.below(1000)
      // The start ping, then the end ping after it, each bounded by the ping timeout.
      expect(tookMs).to.be.below(2 * PING_TIMEOUT_MS + 2000)
      expect(result.logged.filter((line) => line.startsWith('warn:'))).to.deep.equal([
        `warn: its ping failed: no answer within ${PING_TIMEOUT_MS} ms`,
        `warn: its ping failed: no answer within ${PING_TIMEOUT_MS} ms`,
      ])
    } finally {
      await hc.close()
    }
  })

  it('a monitor that sends its headers, then its body a byte every 200 ms: each ping is cut at its deadline (one timer for the whole exchange), and the tick\'s wait for them ends', async () => {
    const slow = await trickler(200)
    try {
      const warnings: string[] = []
      const pings = new Pings((code, text) => warnings.push(`${code}: ${text}`), 300)
      const began = Date.now()
      pings.started('app.pinged', `${slow.url}/ping/abc`, 7)(true, 'done')
      await pings.settled()
      const tookMs = Date.now() - began
      // The end ping follows the start ping: two deadlines, not for ever.
      expect(tookMs).to.be.within(550, 1200)
      expect(warnings).to.deep.equal([
        'app.pinged: its ping answered 200 OK, but the rest of its answer did not come within 300 ms',
        'app.pinged: its ping answered 200 OK, but the rest of its answer did not come within 300 ms',
      ])
      expect(slow.requests).to.deep.equal([`POST /ping/abc/start?rid=${runUuid(7)}`, `POST /ping/abc?rid=${runUuid(7)}`])
      await slow.hungUp(2) // both connections closed by the client
    } finally {
      await slow.close()
    }
  })

  it('a monitor that answers 50 MB: the ping reads a few KB, takes the status and closes', async () => {
    const flood = await flooder(50 * 1024 * 1024)
    try {
      const warnings: string[] = []
      const pings = new Pings((code, text) => warnings.push(`${code}: ${text}`), 5000)
      const began = Date.now()
      pings.started('app.pinged', flood.url, 1)(true, 'done')
      await pings.settled()
      expect(Date.now() - began).to.be.below(1000)
      expect(warnings).to.deep.equal([])
      expect(flood.requests).to.equal(2)
      // What left the monitor before the connections closed: its socket buffers at most, far from 2 × 50 MB.
      expect(flood.written).to.be.below(16 * 1024 * 1024)
    } finally {
      await flood.close()
    }
  })

  it('a pingUrl that is not a URL keeps the class from running, without quoting it (it is the check\'s secret)', () => {
    const Bad = job('app.bad', {runEveryMins: 5, pingUrl: 'hc-ping.com/secret-uuid'})
    const {jobs, problems} = loadJobs([Bad])
    expect(jobs).to.deep.equal([])
    expect(problems.map((problem) => problem.message)).to.deep.equal(['pingUrl is not a URL: use the http:// or https:// URL of a check (Healthchecks.io, Cronitor…)'])
  })
})

describe("the runner's own ping: settings tickPingUrl, at the end of every crontab tick", function () {
  this.timeout(30_000)

  it('a no-op tick (the fast path) and a tick that runs a job ping the URL; a failing tick pings /fail; a dead monitor is a warning, not a failure', async () => {
    const hc = await monitor()
    const box = new Sandbox({tier: 'in-process'})
    try {
      await box.migrate()
      const env = {TEST_TICK_PING_URL: `${hc.url}/tick/xyz`}
      const due = await box.runcrons('SuccessJob', '2026-01-05T10:00:00Z', [], env)
      expect(lines(due.stdout), context(due)).to.deep.equal(['[✔] test.success'])
      const quiet = await box.runcrons('SuccessJob', '2026-01-05T10:01:00Z', [], env)
      expect(lines(quiet.stdout), context(quiet)).to.deep.equal(['[ ] test.success'])
      const failing = await box.runcrons('FailJob', '2026-01-05T10:02:00Z', [], env)
      expect(failing.code).to.equal(1)
      expect(hc.got).to.deep.equal(['POST /tick/xyz "manage runcrons exited 0"', 'POST /tick/xyz "manage runcrons exited 0"', 'POST /tick/xyz/fail "manage runcrons exited 1"'])

      await hc.close()
      const unheard = await box.runcrons('SuccessJob', '2026-01-05T10:03:00Z', [], env)
      expect(unheard.code, context(unheard)).to.equal(0)
      expect(unheard.stderr).to.match(/^warning: the tick's ping \(tickPingUrl\) failed: connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/)
      expect(unheard.stderr).not.to.include('xyz')
    } finally {
      box.remove()
    }
  })

  it('a monitor that trickles its answer: the tick\'s ping is cut at its deadline, with a warning (300 ms injected)', async () => {
    const slow = await trickler(200)
    try {
      const began = Date.now()
      const warning = await pingTick(`${slow.url}/tick/xyz`, 0, 300)
      expect(Date.now() - began).to.be.within(250, 800)
      expect(warning).to.equal("the tick's ping (tickPingUrl) answered 200 OK, but the rest of its answer did not come within 300 ms")
      await slow.hungUp(1)
    } finally {
      await slow.close()
    }
  })

  it('a spawned crontab tick whose job\'s pingUrl and tickPingUrl trickle their answers ends within its ping deadlines, with a warning for each', async () => {
    // /start is answered at once, to keep this test short: the end ping and the tick's ping trickle (the real 3 s deadline each).
    const slow = await trickler(200, (url) => url.includes('/start'))
    // The tick is a bin/manage process: it must end within the deadlines, its sockets cut.
    const box = new Sandbox({tier: 'in-process'})
    try {
      const settings = box.file('settings.cjs')
      writeFileSync(
        settings,
        `const {CronJobBase} = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))})
class Pinged extends CronJobBase {
  code = 'app.pinged'
  runEveryMins = 5
  pingUrl = process.env.TEST_PING_URL
  async do() { return 'done' }
}
module.exports = {crons: [Pinged], tickPingUrl: process.env.TEST_TICK_PING_URL}
`,
      )
      const env = {MANAGE_SETTINGS: settings, TEST_PING_URL: `${slow.url}/ping/abc`, TEST_TICK_PING_URL: `${slow.url}/tick/xyz`}
      await box.migrate()
      const began = Date.now()
      const result = await box.spawn(['runcrons'], {...env, MANAGE_NOW: '2026-01-05T10:00:00Z'})
      const tookMs = Date.now() - began
      expect(result.code, context(result)).to.equal(0)
      expect(lines(result.stdout), context(result)).to.deep.equal(['[✔] app.pinged'])
      expect(lines(result.stderr), context(result)).to.deep.equal([
        `    app.pinged warn: its ping answered 200 OK, but the rest of its answer did not come within ${PING_TIMEOUT_MS} ms`,
        `warning: the tick's ping (tickPingUrl) answered 200 OK, but the rest of its answer did not come within ${PING_TIMEOUT_MS} ms`,
      ])
      expect(slow.requests).to.deep.equal([`POST /ping/abc/start?rid=${runUuid(1)}`, `POST /ping/abc?rid=${runUuid(1)}`, 'POST /tick/xyz'])
      expect(tookMs, 'two pings cut at their deadline, one after the other').to.be.below(2 * PING_TIMEOUT_MS + 2500)
    } finally {
      box.remove()
      await slow.close()
    }
  })
})
