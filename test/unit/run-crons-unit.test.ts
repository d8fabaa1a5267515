import {expect} from 'chai'
import {knex, type Knex} from 'knex'
import {OperationError} from '../../src/core/base/errors'
import type {CronContext} from '../../src/core/contract/cron-job-base'
import {exitCodeOf, type Outcome} from '../../src/core/tick/outcome'
import type {TickPlan} from '../../src/core/tick/plan'
import {runCrons, type RunCronsOptions} from '../../src/core/tick/run-crons'
import {RunStop} from '../../src/core/tick/stopping'
import {fixedClock} from '../../src/core/time/clock'
import {MemoryRunLog} from '../../src/testing/memory-run-log'
import {job, ManualTimers, settingsWith, untilAborted} from '../fixtures/jobs'
import {at} from '../helpers/schedule'

/** runCrons over the in-memory run log: the runner's own rules, with no database at all. */
describe('runCrons over an in-memory run log (the runner alone)', () => {
  let log: MemoryRunLog
  beforeEach(() => (log = new MemoryRunLog()))

  const noDb = () => {
    throw new Error('this test has no database')
  }
  const clock = fixedClock(at('2026-01-05T00:00:00Z'))
  const tick = (crons: unknown[], options: Partial<RunCronsOptions> = {}) =>
    runCrons({db: noDb, dialect: 'sqlite', settings: settingsWith(crons), clock, leaseClock: clock, store: log.store, lock: log.lock, recorder: log.recorder, host: 'h', pid: 7, ...options})
  const kinds = (outcomes: Outcome[]) => outcomes.map((outcome) => `${outcome.kind}:${outcome.code}`)
  const statuses = () => log.runs.map((run) => `${run.code}:${run.status}`)

  it('runs at most --concurrency jobs at once, and every due job once', async () => {
    let running = 0
    let most = 0
    const body = async () => {
      most = Math.max(most, ++running)
      await new Promise((resolve) => setImmediate(resolve))
      running--
      return 'ok'
    }
    const crons = ['a', 'b', 'c', 'd', 'e'].map((code) => job(code, {runEveryMins: 1}, body))
    const report = await tick(crons, {concurrency: 2})
    expect(most).to.equal(2)
    expect(kinds(report.outcomes).sort()).to.deep.equal(['succeeded:a', 'succeeded:b', 'succeeded:c', 'succeeded:d', 'succeeded:e'])
    expect(statuses()).to.have.members(['a:succeeded', 'b:succeeded', 'c:succeeded', 'd:succeeded', 'e:succeeded'])
  })

  it("asks the code's version once, when a job first runs, and records it on each run; a tick that runs nothing never asks", async () => {
    let asked = 0
    const codeVersion = () => (asked++, '1.4.2+3f9c2ab')
    await tick([job('later', {runEveryMins: 60})], {codeVersion, clock: fixedClock(at('2026-01-05T00:00:00Z'))})
    expect(asked).to.equal(1)
    await tick([job('later', {runEveryMins: 60})], {codeVersion, clock: fixedClock(at('2026-01-05T00:01:00Z'))})
    expect(asked, 'nothing due: not asked').to.equal(1)
    await tick(['a', 'b'].map((code) => job(code, {runEveryMins: 1})), {codeVersion})
    expect(asked, 'once for the two runs').to.equal(2)
    expect(log.runs.map((run) => `${run.code}:${run.version}`)).to.deep.equal(['later:1.4.2+3f9c2ab', 'a:1.4.2+3f9c2ab', 'b:1.4.2+3f9c2ab'])
  })

  it('a database error while claiming stops new jobs from starting and is raised once the started ones end', async () => {
    const crons = ['a', 'b', 'c'].map((code) => job(code, {runEveryMins: 1}))
    const seen: Outcome[] = []
    const original = log.recorder.begin.bind(log.recorder)
    let begins = 0
    log.recorder.begin = (request) => (++begins === 2 ? Promise.reject(new Error('connection lost')) : original(request))
    const failed = await tick(crons, {onOutcome: (outcome) => seen.push(outcome)}).then(
      () => null,
      (error: Error) => error,
    )
    expect(failed).to.be.instanceOf(OperationError)
    expect(failed?.message).to.equal('b: claiming it and recording its start: connection lost')
    expect(kinds(seen)).to.deep.equal(['succeeded:a'])
    expect(statuses()).to.deep.equal(['a:succeeded'])
    expect(begins).to.equal(2)
  })

  it('when the outcome cannot be recorded, the claim is still released and the error raised', async () => {
    log.failNext('end', new Error('disk full'))
    const failed = await tick([job('a', {runEveryMins: 1})]).then(
      () => null,
      (error: Error) => error,
    )
    expect(failed?.message).to.equal('a: recording its outcome (succeeded): disk full')
    expect(log.calls.slice(log.calls.indexOf('end'))).to.deep.equal(['end', 'release'])
    expect(await log.lock.holder('a')).to.equal(null)
  })

  it('when neither the database nor the spool can take the outcome, the claim is held and both tried again, saying so each time, for one lease', async () => {
    const full = () => Object.assign(new Error('SQLITE_FULL: database or disk is full'), {code: 'SQLITE_FULL'})
    let nowMs = at('2026-01-05T00:00:00Z')
    const timers = {sleep: (ms: number) => ((nowMs += ms), {done: Promise.resolve(), cancel: () => {}})}
    let ends = 0
    let spoolTries = 0
    const spool = {add: (): string => '', pending: () => ({outcomes: [], refused: []}), hasPending: () => false}
    const lines: string[] = []
    const run = (succeedAt: number) => {
      ends = 0
      spoolTries = 0
      const original = log.recorder.end.bind(log.recorder)
      log.recorder.end = (request) => (++ends < succeedAt ? Promise.reject(full()) : original(request))
      spool.add = () => {
        spoolTries++
        throw Object.assign(new Error('ENOSPC: no space left on device'), {code: 'ENOSPC'})
      }
      return tick([job('a', {runEveryMins: 1})], {settings: settingsWith([job('a', {runEveryMins: 1})], {recordRetryMs: 0, leaseMs: 60_000}), leaseClock: () => nowMs, timers, spool, onLog: (code, level, message) => lines.push(`${code} ${level}: ${message}`)})
    }

    // Room again at the fourth attempt: recorded, the claim released, no more lines.
    const report = await run(4)
    expect(report.outcomes.map((outcome) => outcome.kind)).to.deep.equal(['succeeded'])
    expect(statuses()).to.deep.equal(['a:succeeded'])
    expect(await log.lock.holder('a')).to.equal(null)
    expect(lines).to.deep.equal([1, 2, 4].map((s, i) => `a error: a: recording its outcome (succeeded): nothing can be written (the database: Error: SQLITE_FULL: database or disk is full; the spool: Error: ENOSPC: no space left on device); holding its claim and trying both again in ${s} s (attempt ${i + 1}, for ${60 - [0, 1, 3][i]} s more)`))
    expect(spoolTries).to.equal(3)

    // Never any room: it gives up after one lease (60 s), saying the outcome is lost; the claim is released.
    lines.length = 0
    log = new MemoryRunLog()
    const lost = await run(Infinity).then(() => null, (error: Error) => error)
    expect(lost?.message).to.match(/^a: recording its outcome \(succeeded\): nothing could be written for 60 s \(the database: Error: SQLITE_FULL.*; the spool: Error: ENOSPC.*\); the outcome is lost, and the run will be recorded interrupted when its lease runs out: SQLITE_FULL/)
    expect(lines.map((line) => /in (\d+) s \(attempt (\d+)/.exec(line)!.slice(1).join('/'))).to.deep.equal(['1/1', '2/2', '4/3', '8/4', '10/5', '10/6', '10/7', '10/8', '5/9'])
    expect(await log.lock.holder('a')).to.equal(null)
  })

  it('--dry-run reads the log and writes nothing', async () => {
    const report = await tick([job('a', {runEveryMins: 1}), job('b', {runAtTimes: ['23:00']})], {dryRun: true})
    expect(kinds(report.outcomes)).to.deep.equal(['would-run:a', 'not-due:b'])
    expect(log.calls).to.deep.equal(['histories', 'pausedJobs'])
  })


  it("takes a plan handed to it (the quick tick's) as its own when it would plan the same, and plans again under --force, names or --dry-run", async () => {
    let made = 0
    const Counted = class extends job('a', {runEveryMins: 1}) {
      constructor() {
        super()
        made++
      }
    }
    let planned: TickPlan | undefined
    await tick([Counted], {dryRun: true, onPlan: (plan) => (planned = plan)})
    expect(made).to.equal(1)
    const handed = await tick([Counted], {planned})
    expect(made, 'no class made again').to.equal(1)
    expect(kinds(handed.outcomes)).to.deep.equal(['succeeded:a'])
    // The plan is stale now (a ran): the claim decides again on fresh history.
    const stale = await tick([Counted], {planned})
    expect(kinds(stale.outcomes)).to.not.include('succeeded:a')
    expect(statuses()).to.deep.equal(['a:succeeded'])
    for (const differs of [{force: true}, {names: ['a']}, {dryRun: true}]) {
      const before = made
      await tick([Counted], {planned, ...differs})
      expect(made, JSON.stringify(differs)).to.be.greaterThan(before)
    }
    expect(statuses(), 'and --force ran it').to.deep.equal(['a:succeeded', 'a:succeeded'])
  })
  it('makes the claim rows of jobs that never ran and are due, in one call, and only those', async () => {
    await log.store.insertRun({code: 'old', status: 'succeeded', startMs: at('2026-01-04T00:00:00Z')})
    log.calls.length = 0
    await tick([job('new', {runEveryMins: 1}), job('old', {runEveryMins: 1}), job('later', {runAtTimes: ['23:00']})])
    expect(log.calls.filter((call) => call === 'ensureJobs')).to.have.length(1)
    expect([...log.jobs.keys()].sort()).to.deep.equal(['new', 'old'])
  })

  it('a parallel job whose claim another process holds is left to it; a plain one is running elsewhere', async () => {
    for (const code of ['par', 'plain']) {
      log.jobs.set(code, {holder: {token: 'other', host: 'web2', pid: 99, lockedMs: at('2026-01-05T00:00:00Z')}, leaseExpiresMs: at('2026-01-05T00:05:00Z'), pause: null})
    }
    const report = await tick([job('par', {runEveryMins: 1, allowParallelRuns: true}), job('plain', {runEveryMins: 1})])
    expect(report.outcomes).to.deep.equal([
      {kind: 'claimed-elsewhere', code: 'par', className: 'parJob', host: 'web2', pid: 99},
      {kind: 'running-elsewhere', code: 'plain', className: 'plainJob', sinceMs: at('2026-01-05T00:00:00Z'), host: 'web2', pid: 99},
    ])
    expect(log.runs).to.deep.equal([])
  })

  it('gives do() the run log as a view to read and trim, without the runner\'s writes', async () => {
    let view: CronContext['runLog'] | undefined
    const report = await tick([
      job('a', {runEveryMins: 1}, async (ctx) => {
        view = ctx.runLog
        return (await ctx.runLog.listRuns({limit: 5})).map((run) => `${run.code} ${run.status}`).join()
      }),
    ])
    expect(Object.keys(view!).sort()).to.deep.equal(['deleteRunsBefore', 'getRun', 'getRuns', 'histories', 'listRuns', 'pausedJobs'])
    expect(Object.isFrozen(view)).to.equal(true)
    expect(report.outcomes[0]).to.deep.include({kind: 'succeeded', message: 'a running'})
  })

  it('gives do() the knex instance it was given as ctx.db (not a query made from it)', async () => {
    const db: Knex = knex({client: 'sqlite3', connection: {filename: ':memory:'}, useNullAsDefault: true})
    try {
      let seen: unknown
      await tick([job('a', {runEveryMins: 1}, (ctx) => void (seen = ctx.db))], {db})
      expect(seen).to.equal(db)
    } finally {
      await db.destroy()
    }
  })

  it('exits 1 when a job failed, timed out or was interrupted, or a class cannot run; else 0', () => {
    const base = {code: 'x', className: 'X', runId: 1, message: 'm', startMs: 0, endMs: 0, slot: null}
    const cases: Array<[Outcome, number]> = [
      [{...base, kind: 'succeeded'}, 0],
      [{kind: 'not-due', code: 'x', className: 'X', reason: ''}, 0],
      [{kind: 'running-elsewhere', code: 'x', className: 'X', sinceMs: null, host: null, pid: null}, 0],
      [{...base, kind: 'failed', error: new Error('m')}, 1],
      [{...base, kind: 'timed_out', abandoned: false}, 1],
      [{...base, kind: 'interrupted', abandoned: true}, 1],
    ]
    for (const [outcome, code] of cases) expect(exitCodeOf([outcome], []), outcome.kind).to.equal(code)
    expect(exitCodeOf([], [{subject: 'Bad', message: 'm', level: 'error'}])).to.equal(1)
    expect(exitCodeOf([], [{subject: 'Odd', message: 'm', level: 'warning'}])).to.equal(0)
  })
})

describe('RunStop: how one run is asked to stop', () => {
  const scope = (timers: ManualTimers, signal?: AbortSignal, logs: string[] = []) => ({signal, timers, graceMs: 10_000, log: (_code: string, _level: string, message: string) => void logs.push(message)})

  it('its timeout fires ctx.signal and starts the grace period; past it, the run is abandoned as timed out', async () => {
    const timers = new ManualTimers()
    const logs: string[] = []
    const stop = new RunStop(scope(timers, undefined, logs), 'job', 2)
    expect(stop.signal.aborted).to.equal(false)
    timers.elapse(120_000)
    await Promise.resolve()
    expect(stop.signal.aborted).to.equal(true)
    expect(stop.requested).to.deep.equal({status: 'timed_out', why: 'timed out after 2 min'})
    expect(logs).to.deep.equal(['timed out after 2 min: asked the job to stop (ctx.signal); waiting up to 10 s'])
    timers.elapse(10_000)
    expect(await stop.abandoned).to.deep.equal({abandoned: {status: 'timed_out', why: 'timed out after 2 min'}})
  })

  it("the tick's signal, even one fired before the run, is an interruption; the first request wins", async () => {
    const timers = new ManualTimers()
    const tick = new AbortController()
    tick.abort('SIGTERM')
    const stop = new RunStop(scope(timers, tick.signal), 'job', 1)
    timers.elapse(60_000)
    await Promise.resolve()
    expect(stop.requested).to.deep.equal({status: 'interrupted', why: 'interrupted by SIGTERM'})
    await untilAborted(stop.signal).catch((error: Error) => expect(error.message).to.equal('stopped: interrupted by SIGTERM'))
  })

  it('dispose cancels its timers and stops listening to the tick', async () => {
    const timers = new ManualTimers()
    const tick = new AbortController()
    const stop = new RunStop(scope(timers, tick.signal), 'job', 1)
    stop.dispose()
    expect(timers.pending(60_000)).to.equal(0)
    tick.abort('SIGINT')
    expect(stop.signal.aborted).to.equal(false)
    expect(stop.requested).to.equal(null)
  })
})
