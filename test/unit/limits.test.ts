import {expect} from 'chai'
import {checkSettings} from '../../src/core/project/settings'
import {loadJobs} from '../../src/core/jobs/load-jobs'
import {outcomeLines, summaryLine} from '../../src/cli/runcrons/lines'
import {painter} from '../../src/cli/output/render'
import type {Outcome} from '../../src/core/tick/outcome'
import {runCrons, type RunCronsOptions} from '../../src/core/tick/run-crons'
import {fixedClock} from '../../src/core/time/clock'
import {MemoryRunLog} from '../../src/testing/memory-run-log'
import {Scheduler} from '../../src/core/runners/scheduler'
import {job, settingsWith} from '../fixtures/jobs'
import {FakeTimers} from '../helpers/fake-timers'
import {at} from '../helpers/schedule'

const defaults = {cronsDir: '/nonexistent', spoolDir: '/nonexistent/spool'}
const problemsOf = (values: Record<string, unknown>): string[] => {
  try {
    checkSettings(values, '/app/settings.js', defaults)
    return []
  } catch (error) {
    return (error as Error).message.split('\n')
  }
}

describe('limits: the settings and the job option', () => {
  const table: Array<[unknown, string | null]> = [
    [{reports: 2}, null],
    [{reports: 1, exports: 10}, null],
    [{reports: 0}, 'settings /app/settings.js: limits.reports 0 is not a whole number ≥ 1 (how many of its runs at once): use e.g. limits: {reports: 2}'],
    [{reports: 1.5}, 'limits.reports 1.5 is not a whole number ≥ 1'],
    [{reports: '2'}, "limits.reports '2' is not a whole number ≥ 1"],
    [[2], 'limits [2] is not an object of group names and numbers: use e.g. limits: {reports: 2}'],
    [5, 'limits 5 is not an object of group names and numbers'],
  ]
  for (const [limits, problem] of table) {
    it(`limits: ${JSON.stringify(limits)} → ${problem ?? 'fine'}`, () => {
      const found = problemsOf({limits})
      if (problem === null) expect(found).to.deep.equal([])
      else expect(found).to.have.length(1).and.satisfy((lines: string[]) => lines[0].includes(problem))
    })
  }

  it('gives each group its slots, and none when unset', () => {
    expect([...checkSettings({limits: {reports: 2}}, '/app/settings.js', defaults).limits]).to.deep.equal([['reports', 2]])
    expect(checkSettings({}, '/app/settings.js', defaults).limits.size).to.equal(0)
  })

  it("a job's limit is a group's name, else one line naming the option, the value and the fix", () => {
    expect(loadJobs([job('a', {runEveryMins: 1, limit: 'reports'})]).jobs[0].policy.limit).to.equal('reports')
    expect(loadJobs([job('a', {runEveryMins: 1})]).jobs[0].policy.limit).to.equal(null)
    const {problems} = loadJobs([job('a', {runEveryMins: 1, limit: 3 as unknown as string})])
    expect(problems.map((problem) => problem.message)).to.deep.equal(["limit = 3 is not the name of a limit group (1–191 characters): use e.g. limit = 'reports', with limits: {reports: 2} in the settings"])
  })
})

describe('limits in the tick (over the in-memory run log)', () => {
  let log: MemoryRunLog
  beforeEach(() => (log = new MemoryRunLog()))
  const noDb = () => {
    throw new Error('this test has no database')
  }
  const clock = fixedClock(at('2026-01-05T00:00:00Z'))
  const tick = (crons: unknown[], limits: Record<string, number>, options: Partial<RunCronsOptions> = {}) =>
    runCrons({db: noDb, dialect: 'sqlite', settings: settingsWith(crons, {limits: new Map(Object.entries(limits))}), clock, leaseClock: clock, store: log.store, lock: log.lock, recorder: log.recorder, host: 'h', pid: 7, ...options})
  const kinds = (outcomes: Outcome[]) => outcomes.map((outcome) => `${outcome.kind}:${outcome.code}`).sort()

  it('runs at most the limit of a group at once; the others are held back (exit 0), and a job of no group is not', async () => {
    let running = 0
    let most = 0
    const release: Array<() => void> = []
    let open = false
    const body = async () => {
      most = Math.max(most, ++running)
      if (!open) await new Promise<void>((resolve) => release.push(resolve))
      running--
    }
    const crons = [...['a', 'b', 'c'].map((code) => job(code, {runEveryMins: 1, limit: 'reports'}, body)), job('free', {runEveryMins: 1})]
    const ticking = tick(crons, {reports: 2}, {concurrency: 4})
    while (release.length < 2) await new Promise((resolve) => setImmediate(resolve))
    open = true
    for (const go of release.splice(0)) go()
    const report = await ticking
    expect(most).to.equal(2)
    expect(kinds(report.outcomes)).to.deep.equal(['limited:c', 'succeeded:a', 'succeeded:b', 'succeeded:free'])
    expect(report.exitCode).to.equal(0)
    const held = report.outcomes.find((outcome) => outcome.kind === 'limited')!
    expect(outcomeLines(held, {verbosity: 1, traceback: false, paint: painter(false), zone: 'UTC'})).to.deep.equal(['[~] c  held back: limit: reports (2 running)'])
    expect(summaryLine(report.outcomes, {dryRun: false, elapsedMs: 5, nowMs: at('2026-01-05T00:00:00Z')}, {verbosity: 2, traceback: false, paint: painter(false), zone: 'UTC'})).to.match(/^4 job\(s\): 3 ran, 0 failed, 0 not due, 0 running elsewhere, 1 held back \(/)
    // Its slots are free again: the next tick runs c, recorded late for its limit.
    const next = await tick(crons, {reports: 2}, {clock: fixedClock(at('2026-01-05T00:00:30Z'))})
    expect(kinds(next.outcomes).filter((kind) => kind.startsWith('succeeded'))).to.deep.equal(['succeeded:c'])
    expect(log.runs.find((run) => run.code === 'c')).to.deep.include({lateReason: 'limit: reports', startedLateMs: 30_000})
  })

  it('a job naming a group the settings do not define does not run: one error line, exit 1', async () => {
    const report = await tick([job('a', {runEveryMins: 1, limit: 'reprots'}), job('b', {runEveryMins: 1})], {reports: 2})
    expect(kinds(report.outcomes)).to.deep.equal(['succeeded:b'])
    expect(report.problems.map((problem) => `${problem.subject}: ${problem.message}`)).to.deep.equal([
      "aJob: limit = 'reprots' names no group of the settings' limits (the settings' limits are reports): add limits: {reprots: 2} to the settings, or fix the name; the job does not run meanwhile",
    ])
    expect(report.exitCode).to.equal(1)
  })

  it("a catch-up job held back past its period: the period is recorded skipped for the limit, with the group's count", async () => {
    const crons = [job('hourly', {cron: '0 * * * *', catchUp: 'none', limit: 'reports'})]
    await log.store.insertRun({code: 'hourly', status: 'succeeded', startMs: at('2026-01-05T09:00:00Z'), periodMs: at('2026-01-05T09:00:00Z')})
    log.jobs.get('hourly')!.heldToMs = at('2026-01-05T09:00:00Z')
    // Another server holds the group's one slot.
    log.slots.set('reports', [{code: 'other', token: 'elsewhere', leaseExpiresMs: at('2026-01-05T12:00:00Z')}])
    const first = await tick(crons, {reports: 1}, {clock: fixedClock(at('2026-01-05T10:00:00Z')), leaseClock: fixedClock(at('2026-01-05T10:00:00Z'))})
    expect(kinds(first.outcomes)).to.deep.equal(['limited:hourly'])
    const later = fixedClock(at('2026-01-05T10:02:00Z'))
    const second = await tick(crons, {reports: 1}, {clock: later, leaseClock: later})
    expect(kinds(second.outcomes)).to.deep.equal(['skipped:hourly'])
    expect(log.ledger.skips).to.deep.equal([{code: 'hourly', periodMs: at('2026-01-05T10:00:00Z'), reason: 'limit: reports (1 running)'}])
  })

  it('a job without a limit never touches the slots', async () => {
    await tick([job('a', {runEveryMins: 1})], {reports: 2})
    expect(log.slots.size).to.equal(0)
    expect(log.calls.filter((call) => /Slot/.test(call))).to.deep.equal([])
  })
})

describe('limits under the scheduler', () => {
  const settle = () => new Promise((resolve) => setImmediate(resolve))

  it('a job held back tries again as soon as a run of its group ends in this process, not at its next minute', async () => {
    const log = new MemoryRunLog()
    const now = at('2026-01-05T10:00:20')
    const timers = new FakeTimers()
    let open = () => {}
    const gate = new Promise<void>((resolve) => (open = resolve))
    const crons = [job('a', {runEveryMins: 5, limit: 'reports'}, () => gate), job('b', {runEveryMins: 5, limit: 'reports'}), job('c', {runEveryMins: 5})]
    const settings = settingsWith(crons, {clockSkewMs: 0, limits: new Map([['reports', 1]])})
    const outcomes: string[] = []
    const errors: string[] = []
    const noDb = () => {
      throw new Error('no database')
    }
    const s = new Scheduler({
      tick: (hooks) =>
        runCrons({db: noDb, dialect: 'sqlite', settings, clock: () => now, leaseClock: () => now, store: log.store, lock: log.lock, recorder: log.recorder, host: 'h', pid: 7, concurrency: Infinity, signal: hooks.signal, watch: hooks.watch, partial: hooks.partial, onPlan: hooks.onPlan, admit: hooks.admit, onOutcome: (outcome) => outcomes.push(`${outcome.code} ${outcome.kind}`)}),
      heartbeat: async () => {},
      settings,
      clock: () => now,
      timers,
      concurrency: 4,
      onError: (error, doing) => errors.push(`${doing}: ${String(error)}`),
    })
    await s.start()
    await settle()
    expect(outcomes).to.deep.equal(['b limited', 'c succeeded'])
    // c's end planned again: b is not tried again before its next minute (a still holds the only slot).
    timers.fire()
    await settle()
    expect(outcomes.slice(2)).to.deep.equal(['a running-elsewhere', 'c not-due', 'b not-due'])
    outcomes.length = 0
    open()
    await settle()
    // a's end freed the slot: the wake armed for now plans b, which runs.
    expect(timers.delay).to.equal(0)
    timers.fire()
    await settle()
    expect(outcomes.filter((outcome) => !outcome.endsWith('not-due'))).to.deep.equal(['a succeeded', 'b succeeded'])
    expect(log.runs.find((run) => run.code === 'b')).to.deep.include({lateReason: 'limit: reports'})
    expect(errors).to.deep.equal([])
    await s.stop()
  })
})
