import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {FileSpool} from '../../src/core/run-log/spool'
import {recordSpooled} from '../../src/core/tick/recording'
import {driverSource, knexSource, type DriverSource} from '../../src/core/db/connection-source'
import {setPausedRecorded} from '../../src/core/operate/action-log'
import type {Alerting} from '../../src/core/run-log/incidents'
import {SqlRunRecorder, type BeginRequest, type EndRequest} from '../../src/core/run-log/recorder'
import {SqlRunStore} from '../../src/core/run-log/run-store'
import type {PauseInfo, RunStatus} from '../../src/core/contract/run-types'
import {BACKENDS, expireLeases, freshDatabase, plain, tableRows, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

const MINUTE = 60_000
const BY = 'manage (pauseAfterFailures)'

for (const dialect of BACKENDS) describe(`pauseAfterFailures in the run recorder, on a real ${dialect} database`, function () {
  this.timeout(30_000)
  let t: TestDatabase
  let sources: DriverSource[] = []
  let store: SqlRunStore
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())
  beforeEach(async () => {
    for (const table of ['cron_alert_attempt', 'cron_alert', 'cron_action', 'cron_job_log', 'cron_job']) await t.db(table).delete()
    store = new SqlRunStore(knexSource(t.db, t.dialect))
  })
  afterEach(async () => {
    await Promise.all(sources.map((source) => source.close()))
    sources = []
  })

  /** A recorder on a driver connection of its own, as each process has. */
  const recorder = () => {
    const source = driverSource(t.config)
    sources.push(source)
    return new SqlRunRecorder(source)
  }
  const start = at('2026-01-05T10:00:00Z')
  const alerting: Alerting = {job: {code: 'job', className: 'FlakyJob', schedule: 'every 1 min'}, policy: {failureThreshold: 100, recoveryThreshold: 1, remindAfterMs: null}, reporter: 'h1'}
  const begin = (minute: number, overrides: Partial<BeginRequest<string>> = {}) =>
    recorder().begin<string>({code: 'job', holder: {token: `t${minute}`, host: 'h1', pid: 11}, nowMs: start + minute * MINUTE, leaseMs: 300_000, parallel: true, decide: () => ({start: true, slot: null}), ...overrides})
  const end = (runId: number, minute: number, status: RunStatus, overrides: Partial<EndRequest> = {}) =>
    recorder().end({
      runId,
      code: 'job',
      status,
      endMs: start + minute * MINUTE + 1000,
      message: status === 'succeeded' ? 'ok' : `Error: boom at minute ${minute}\n    at FlakyJob.do (flaky.js:3:11)`,
      releaseToken: null,
      removeOtherSuccesses: false,
      pauseAfterFailures: 3,
      alerting: {...alerting, startMs: start + minute * MINUTE, slot: null, pid: 11},
      ...overrides,
    })
  /** A run at `minute` that ends with `status`; what its end paused, if anything. */
  const run = async (minute: number, status: RunStatus, overrides: Partial<EndRequest> = {}): Promise<PauseInfo | undefined> => {
    const begun = await begin(minute)
    if (begun.kind !== 'started') throw new Error(`not started: ${begun.kind}`)
    return (await end(begun.runId, minute, status, overrides)).paused
  }
  const actions = async () => (await tableRows(t.db, 'cron_action')).map(plain).map((row) => [row.action, row.by_user, row.note])
  const alerts = async () => (await tableRows(t.db, 'cron_alert')).map(plain)
  const pause = async () => (await store.pausedJobs()).get('job')

  it('N − 1 failures leave the job running; the Nth pauses it with the note, one action row and one alert', async () => {
    expect(await run(0, 'failed')).to.equal(undefined)
    expect(await run(1, 'timed_out')).to.equal(undefined)
    expect(await pause()).to.equal(undefined)
    const note = 'paused after 3 failures: Error: boom at minute 2'
    expect(await run(2, 'failed')).to.deep.equal({sinceMs: start + 2 * MINUTE + 1000, by: BY, note})
    expect(await pause()).to.deep.equal({sinceMs: start + 2 * MINUTE + 1000, by: BY, note})
    expect(await actions()).to.deep.equal([['pause', BY, note]])
    const sent = await alerts()
    expect(sent.map((alert) => [alert.kind, alert.code, alert.dedupe_key])).to.deep.equal([['paused', 'job', `paused:job:${start + 2 * MINUTE + 1000}`]])
    const text = String(sent[0].text).split('\n')
    expect(text[0]).to.equal(`[manage] job ${note}`)
    expect(text).to.include('it runs again only once resumed: manage crons:resume job (or Resume on the dashboard)')
    expect(text).to.include('message: Error: boom at minute 2')
    expect(JSON.parse(String(sent[0].details))).to.deep.include({pauseAfterFailures: 3, note, status: 'failed'})
    // A further failure (a run forced by name while paused) changes nothing: no second record, no second alert.
    expect(await run(3, 'failed')).to.equal(undefined)
    expect(await actions()).to.have.length(1)
    expect(await alerts()).to.have.length(1)
  })

  it('a success in between starts the count again', async () => {
    await run(0, 'failed')
    await run(1, 'failed')
    await run(2, 'succeeded')
    await run(3, 'interrupted')
    expect(await run(4, 'failed')).to.equal(undefined)
    expect(await run(5, 'failed')).to.deep.include({note: 'paused after 3 failures: Error: boom at minute 5'})
  })

  it('after crons:resume, N fresh failures are needed', async () => {
    for (const minute of [0, 1, 2]) await run(minute, 'failed')
    expect(await pause()).to.not.equal(undefined)
    await setPausedRecorded(knexSource(t.db, t.dialect), {code: 'job', pause: false, by: 'ops', note: null, atMs: start + 2 * MINUTE + 30_000}, String)
    expect(await run(3, 'failed')).to.equal(undefined)
    expect(await run(4, 'failed')).to.equal(undefined)
    expect(await pause()).to.equal(undefined)
    expect(await run(5, 'failed')).to.deep.include({sinceMs: start + 5 * MINUTE + 1000})
    expect((await actions()).map(([action]) => action)).to.deep.equal(['pause', 'resume', 'pause'])
    expect((await alerts()).map((alert) => alert.kind)).to.deep.equal(['paused', 'paused'])
  })

  it("with no alerting (the job's alerts = false, or no channel) it pauses all the same, and raises no alert", async () => {
    for (const minute of [0, 1, 2]) await run(minute, 'failed', {alerting: undefined})
    expect(await pause()).to.deep.include({by: BY})
    expect(await actions()).to.have.length(1)
    expect(await alerts()).to.deep.equal([])
  })

  it('a job without the option is never paused', async () => {
    for (const minute of [0, 1, 2, 3]) await run(minute, 'failed', {pauseAfterFailures: undefined})
    expect(await pause()).to.equal(undefined)
  })

  /**
   * Two runs of a parallel job ending failed at once (N = 2), after `before`. On a server, a third
   * connection holds the job's row until both ends wait for it, so they meet at the pause's read
   * (sqlite's transactions take the file's write lock first: they never meet).
   */
  const concurrently = async (before: RunStatus[], options: {alerting: boolean}) => {
    for (const [minute, status] of before.entries()) await run(minute, status)
    const a = await begin(10)
    const b = await begin(10, {holder: {token: 'other', host: 'h2', pid: 22}})
    if (a.kind !== 'started' || b.kind !== 'started') throw new Error('not started')
    const held = dialect === 'sqlite' ? null : await t.db.transaction()
    await held?.('cron_job').where({code: 'job'}).forUpdate().select('code')
    const ending = [a, b].map((begun) => end(begun.runId, 10, 'failed', {pauseAfterFailures: 2, ...(options.alerting ? {} : {alerting: undefined})}))
    if (held) {
      await bothWaiting()
      await held.commit()
    }
    const ended = await Promise.all(ending)
    expect(ended.filter((result) => result.paused)).to.have.length(1)
    expect(await pause()).to.deep.include({by: BY})
    expect(await actions()).to.have.length(1)
    expect((await alerts()).map((alert) => alert.kind)).to.deep.equal(options.alerting ? ['paused'] : [])
  }
  /** Until two sessions of the test's database wait for a row lock (at most 5 s; then the test goes on, and fails if they never met). */
  const bothWaiting = async () => {
    const waiting =
      dialect === 'postgres'
        ? "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        : "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND COMMAND = 'Query' AND INFO LIKE '%FOR UPDATE'"
    for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
      const result = (await t.db.raw(waiting)) as {rows?: Array<{n: unknown}>} | Array<Array<{n: unknown}>>
      const rows = Array.isArray(result) ? result[0] : result.rows!
      if (Number(rows[0].n) >= 2) return
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  it('two processes ending failures at once that each make N: the job pauses once (one action row, one alert)', () => concurrently(['failed'], {alerting: true}))
  it('two processes ending the Nth and N−1th failures at once: each sees the other, and the job pauses once', () => concurrently(['succeeded'], {alerting: false}))

  it('an outcome kept in the spool (the database was away) that makes N pauses the job when the next tick records it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'manage-spool-'))
    try {
      await run(0, 'failed')
      await run(1, 'failed')
      const begun = await begin(2)
      const runId = begun.kind === 'started' ? begun.runId : -1
      const spool = new FileSpool(dir, 'test database')
      const message = 'Error: the API went away'
      spool.add({runId, code: 'job', status: 'failed', endMs: start + 2 * MINUTE + 1000, message, releaseToken: null, removeOtherSuccesses: false, pauseAfterFailures: 3, alerting: {...alerting, startMs: start + 2 * MINUTE, slot: null, pid: 11}})
      const logged: string[] = []
      await recordSpooled(spool, recorder(), (code, level, line) => logged.push(`${code} ${level} ${line}`))
      expect(logged).to.include(`job warn paused after 3 failures: ${message} (pauseAfterFailures); it runs again once resumed: manage crons:resume job`)
      expect(await pause()).to.deep.equal({sinceMs: start + 2 * MINUTE + 1000, by: BY, note: `paused after 3 failures: ${message}`})
      expect((await alerts()).map((alert) => alert.kind)).to.deep.equal(['paused'])
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('runs a claim finds dead count as failures: the claim that makes N pauses the job, and starts no run', async () => {
    await run(0, 'failed')
    await run(1, 'failed')
    await store.insertRun({code: 'job', status: 'running', startMs: start + 2 * MINUTE, leaseExpiresMs: start + 3 * MINUTE, host: 'h9', pid: 99})
    await expireLeases(t)
    let given: PauseInfo | null | undefined
    const begun = await begin(10, {pauseAfterFailures: 3, alerting, parallel: false, decide: (_fresh, paused) => ((given = paused), paused ? {start: false, why: 'paused'} : {start: true, slot: null})})
    expect(begun).to.deep.include({kind: 'declined', why: 'paused'})
    expect(given).to.deep.include({sinceMs: start + 10 * MINUTE, by: BY})
    expect(given!.note).to.match(/^paused after 3 failures: interrupted: the process 99 on h9 stopped renewing its lease/)
    expect(await pause()).to.deep.equal(given)
    expect(await actions()).to.have.length(1)
    expect((await alerts()).map((alert) => alert.kind)).to.deep.equal(['paused'])
    expect((await tableRows(t.db, 'cron_job_log')).map((row) => row.status)).to.deep.equal(['failed', 'failed', 'interrupted'])
  })
})
