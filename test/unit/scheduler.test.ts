import {expect} from 'chai'
import type {RunSummary} from '../../src/core/contract/run-types'
import {loadJobs} from '../../src/core/jobs/load-jobs'
import {heartbeatDue, MAX_SLEEP_MS, nextWake} from '../../src/core/runners/next-wake'
import {Scheduler, type WakeHooks} from '../../src/core/runners/scheduler'
import {historyFromRuns} from '../../src/core/schedule/history'
import {periodEnd} from '../../src/core/schedule/period'
import type {Schedule} from '../../src/core/jobs/schedule'
import {verdictOf} from '../../src/core/schedule/verdict'
import {EMPTY_TICK_STATE} from '../../src/core/run-log/server-ticks'
import type {TickPlan} from '../../src/core/tick/plan'
import {recordSchedulerTick} from '../../src/core/tick/plan'
import {runCrons} from '../../src/core/tick/run-crons'
import {MemoryRunLog} from '../../src/testing/memory-run-log'
import {job, settingsWith, untilAborted} from '../fixtures/jobs'
import {FakeTimers} from '../helpers/fake-timers'
import {at, run, schedule} from '../helpers/schedule'

/** A plan as the tick makes it at `nowMs`, from these classes and runs (each run's code names its job). */
function planOf(classes: unknown[], runs: RunSummary[], nowMs: number, paused: string[] = []): Pick<TickPlan, 'jobs' | 'snapshot' | 'verdicts'> {
  const {jobs} = loadJobs(classes)
  const histories = new Map(jobs.map((j) => [j.code, historyFromRuns(runs.filter((r) => r.code === j.code), nowMs)]))
  const pauses = new Map(paused.map((code) => [code, {sinceMs: nowMs - 1000, by: 'ops'}]))
  const verdicts = new Map(jobs.map((j) => [j.code, verdictOf(j.schedule, j.policy, histories.get(j.code)!, nowMs, {timeZone: 'UTC', paused: pauses.get(j.code) ?? null})]))
  return {jobs, snapshot: {nowMs, histories, paused: pauses, state: EMPTY_TICK_STATE}, verdicts}
}

describe('nextWake: the earliest next due instant of all the jobs, at most a minute away', () => {
  const now = at('2026-01-05T10:00:20')
  const settings = {timeZone: 'UTC', clockSkewMs: 0}
  const iso = (ms: number) => new Date(ms).toISOString().slice(11, 19)
  const cases: Array<{name: string; classes: unknown[]; runs: RunSummary[]; paused?: string[]; inHand?: string[]; wake: string; code: string | null}> = [
    {name: 'nothing to wait for: the minute cap', classes: [], runs: [], wake: '10:01:20', code: null},
    {name: 'an interval job every 5 minutes that ran at 09:58: 10:03 is beyond the cap', classes: [job('five', {runEveryMins: 5})], runs: [run('succeeded', '2026-01-05T09:58:00', {code: 'five'})], wake: '10:01:20', code: null},
    {name: 'an interval job that ran at 09:59:10, every 2 minutes: 10:02 is beyond the cap', classes: [job('two', {runEveryMins: 2})], runs: [run('succeeded', '2026-01-05T09:59:10', {code: 'two'})], wake: '10:01:20', code: null},
    {name: 'an interval job every minute that ran at 10:00: 10:01', classes: [job('one', {runEveryMins: 1, runToleranceSeconds: 5})], runs: [run('succeeded', '2026-01-05T10:00:00', {code: 'one'})], wake: '10:01:00', code: 'one'},
    {name: 'a runAtTimes slot at 10:01', classes: [job('slot', {runAtTimes: ['10:01']})], runs: [run('succeeded', '2026-01-05T09:00:00', {code: 'slot'})], wake: '10:01:00', code: 'slot'},
    {name: 'a cron every minute', classes: [job('cron', {cron: '* * * * *'})], runs: [run('succeeded', '2026-01-05T10:00:00', {code: 'cron'})], wake: '10:01:00', code: 'cron'},
    {name: 'the earliest of several', classes: [job('cron', {cron: '* * * * *'}), job('slot', {runAtTimes: ['10:01']})], runs: [run('succeeded', '2026-01-05T10:00:00', {code: 'cron'}), run('succeeded', '2026-01-05T09:00:00', {code: 'slot'})], wake: '10:01:00', code: 'cron'},
    {name: 'a paused job has no next instant', classes: [job('cron', {cron: '* * * * *'})], runs: [run('succeeded', '2026-01-05T10:00:00', {code: 'cron'})], paused: ['cron'], wake: '10:01:20', code: null},
    {name: 'running elsewhere: its lease end, when sooner', classes: [job('long', {cron: '* * * * *'})], runs: [run('running', '2026-01-05T10:00:00', {code: 'long', leaseUntil: '2026-01-05T10:00:50'})], wake: '10:00:50', code: 'long'},
    {name: 'running elsewhere with a far lease: the cap', classes: [job('long', {cron: '* * * * *'})], runs: [run('running', '2026-01-05T10:00:00', {code: 'long', leaseUntil: '2026-01-05T10:05:00'})], wake: '10:01:20', code: null},
    {name: 'due now (this tick starts it): left out', classes: [job('new', {runEveryMins: 1})], runs: [], wake: '10:01:20', code: null},
    {name: 'in hand here (waiting or running): left out', classes: [job('cron', {cron: '* * * * *'})], runs: [run('succeeded', '2026-01-05T10:00:00', {code: 'cron'})], inHand: ['cron'], wake: '10:01:20', code: null},
  ]
  for (const c of cases) {
    it(c.name, () => {
      const wake = nextWake(planOf(c.classes, c.runs, now, c.paused), settings, now, new Set(c.inHand ?? []))
      expect({wake: iso(wake.atMs), code: wake.code}).to.deep.equal({wake: c.wake, code: c.code})
    })
  }

  it('due again but started here this minute (held): the next minute boundary', () => {
    const plan = planOf([job('failing', {runEveryMins: 5})], [run('failed', '2026-01-05T10:00:10', {code: 'failing'})], now)
    const wake = nextWake(plan, settings, now, new Set(), MAX_SLEEP_MS, new Map([['failing', at('2026-01-05T10:01:00')]]))
    expect({wake: iso(wake.atMs), code: wake.code}).to.deep.equal({wake: '10:01:00', code: 'failing'})
  })
})

describe('nextWake for sub-minute jobs: the exact instant, not the next minute', () => {
  const now = at('2026-01-05T10:00:20.500')
  const settings = {timeZone: 'UTC', clockSkewMs: 0}
  const iso = (ms: number) => new Date(ms).toISOString().slice(11, 23)
  const cases: Array<{name: string; classes: unknown[]; runs: RunSummary[]; held?: Record<string, string>; wake: string; code: string | null}> = [
    {name: 'every 1 s: 1 ms after the interval (the rule is strict), not the next second', classes: [job('one', {runEverySeconds: 1})], runs: [run('succeeded', '2026-01-05T10:00:20.013', {code: 'one'})], wake: '10:00:21.014', code: 'one'},
    {name: 'every 5 s: 5 s after the start, not 6', classes: [job('five', {runEverySeconds: 5})], runs: [run('succeeded', '2026-01-05T10:00:18.250', {code: 'five'})], wake: '10:00:23.251', code: 'five'},
    {name: "cron '*/2 * * * * *': the next even second", classes: [job('even', {cron: '*/2 * * * * *'})], runs: [run('succeeded', '2026-01-05T10:00:20.030', {code: 'even'})], wake: '10:00:22.000', code: 'even'},
    {name: 'every 1 s after a failure with retryAfterFailureMins: the retry rule', classes: [job('retry', {runEverySeconds: 1, retryAfterFailureMins: 1})], runs: [run('failed', '2026-01-05T10:00:20.100', {code: 'retry'})], wake: '10:01:20.101', code: 'retry'},
    {name: 'the earliest of a sub-minute and a minute job', classes: [job('cron', {cron: '* * * * *'}), job('five', {runEverySeconds: 5})], runs: [run('succeeded', '2026-01-05T10:00:00', {code: 'cron'}), run('succeeded', '2026-01-05T10:00:18.250', {code: 'five'})], wake: '10:00:23.251', code: 'five'},
    {name: 'every 1 s, running elsewhere since 10:00:20.200: the end of the period that run took', classes: [job('one', {runEverySeconds: 1})], runs: [run('running', '2026-01-05T10:00:20.200', {code: 'one', leaseUntil: '2026-01-05T10:05:00'})], wake: '10:00:21.200', code: 'one'},
    {name: 'every 1 s, running elsewhere past its period: one more period from now, not a loop', classes: [job('one', {runEverySeconds: 1})], runs: [run('running', '2026-01-05T10:00:15', {code: 'one', leaseUntil: '2026-01-05T10:05:00'})], wake: '10:00:21.500', code: 'one'},
    {name: 'every 1 s, due again after a failure but held: the end of its period here', classes: [job('one', {runEverySeconds: 1})], runs: [run('failed', '2026-01-05T10:00:20.100', {code: 'one'})], held: {one: '2026-01-05T10:00:21.100'}, wake: '10:00:21.100', code: 'one'},
  ]
  for (const c of cases) {
    it(c.name, () => {
      const held = new Map(Object.entries(c.held ?? {}).map(([code, until]) => [code, at(until)]))
      const wake = nextWake(planOf(c.classes, c.runs, now), settings, now, new Set(), MAX_SLEEP_MS, held)
      expect({wake: iso(wake.atMs), code: wake.code}).to.deep.equal({wake: c.wake, code: c.code})
    })
  }
})

describe('periodEnd: how long a start holds a job in one runner', () => {
  const cases: Array<[string, Schedule, string, string]> = [
    ['a minute job: the next minute boundary (as the crontab)', schedule({runEveryMins: 5}), '10:00:20.300', '10:01:00.000'],
    ['every 1 s: 1 s', schedule({runEverySeconds: 1}), '10:00:20.300', '10:00:21.300'],
    ['every 45 s: 45 s', schedule({runEverySeconds: 45}), '10:00:20.300', '10:01:05.300'],
    ["cron '*/2 * * * * *': the next slot", schedule({cron: '*/2 * * * * *'}), '10:00:20.300', '10:00:22.000'],
    ["every 30 s and cron '* * * * *': the sooner", schedule({runEverySeconds: 30, cron: '* * * * *'}), '10:00:50.000', '10:01:00.000'],
    ["cron '* 0 * * * *' (every second of minute 0): at most a minute", schedule({cron: '* 0 * * * *'}), '10:00:59.500', '10:01:59.500'],
  ]
  for (const [what, s, start, end] of cases) it(what, () => expect(new Date(periodEnd(s, at(`2026-01-05T${start}`), 'UTC')).toISOString().slice(11, 23)).to.equal(end))
})

describe('heartbeatDue: the server tick at most every 30 s', () => {
  it('the first wake, then once 30 s have passed; a clock set back writes again', () => {
    expect(heartbeatDue(null, 1000)).to.equal(true)
    expect(heartbeatDue(1000, 1000)).to.equal(false)
    expect(heartbeatDue(1000, 30_999)).to.equal(false)
    expect(heartbeatDue(1000, 31_000)).to.equal(true)
    expect(heartbeatDue(1000, 500)).to.equal(true)
  })
})

const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('Scheduler: one timer to the next instant, the tick pipeline at each wake', () => {
  let log: MemoryRunLog
  let now: number
  let timers: FakeTimers
  let ticks: number
  let beats: number
  let errors: string[]
  beforeEach(() => {
    log = new MemoryRunLog()
    now = at('2026-01-05T10:00:20')
    timers = new FakeTimers()
    ticks = 0
    beats = 0
    errors = []
  })
  const clock = () => now

  let logs: string[] = []
  let outcomes: string[] = []
  function scheduler(crons: unknown[], concurrency = 4) {
    logs = []
    outcomes = []
    const settings = settingsWith(crons, {clockSkewMs: 0})
    return new Scheduler({
      tick: (hooks: WakeHooks) => {
        ticks++
        return runCrons({db: () => { throw new Error('no database') }, dialect: 'sqlite', settings, clock, leaseClock: clock, store: log.store, lock: log.lock, recorder: log.recorder, host: 'h', pid: 7, concurrency: Infinity, signal: hooks.signal, watch: hooks.watch, partial: hooks.partial, onPlan: hooks.onPlan, admit: hooks.admit, onLog: (code, _level, message) => logs.push(`${code}: ${message}`), onOutcome: (outcome) => outcomes.push(`${outcome.code} ${outcome.kind}${'reason' in outcome ? `: ${outcome.reason}` : ''}`)})
      },
      heartbeat: async (plan) => {
        beats++
        await recordSchedulerTick(plan, {host: 'h', pid: 7, version: 't'}, plan.snapshot.nowMs, 0)
      },
      settings,
      clock,
      timers,
      concurrency,
      onError: (error, doing) => errors.push(`${doing}: ${String(error)}`),
    })
  }
  const statuses = () => log.runs.map((r) => `${r.code}:${r.status}`)

  it('runs a job that never ran at once, then sleeps to its next instant (not polling)', async () => {
    const s = scheduler([job('cron', {cron: '* * * * *'})])
    await s.start()
    await settle()
    expect(statuses()).to.deep.equal(['cron:succeeded'])
    // The run's end planned again: the next instant is 10:01:00, 40 s away.
    timers.fire()
    await settle()
    expect(timers.delay).to.equal(40_000)
    expect(s.nextWakeMs).to.equal(at('2026-01-05T10:01:00'))
    expect(errors).to.deep.equal([])
    await s.stop()
  })

  it('caps the sleep at a minute when nothing falls due sooner', async () => {
    const s = scheduler([job('hourly', {cron: '0 * * * *'})])
    await log.store.ensureJobs(['hourly'])
    await s.start()
    await settle()
    // It never ran: due now, run; then its next instant (11:00) is beyond the cap.
    timers.fire()
    await settle()
    expect(timers.delay).to.equal(MAX_SLEEP_MS)
    await s.stop()
  })

  it('woken early re-arms to the same instant and runs nothing', async () => {
    const s = scheduler([job('cron', {cron: '* * * * *'})])
    await s.start()
    await settle()
    timers.fire()
    await settle()
    const before = ticks
    now += 10_000 // the timer fires 30 s early
    timers.fire()
    await settle()
    expect(ticks).to.equal(before)
    expect(timers.delay).to.equal(30_000)
    now = at('2026-01-05T10:01:00')
    timers.fire()
    await settle()
    expect(ticks).to.equal(before + 1)
    expect(statuses()).to.deep.equal(['cron:succeeded', 'cron:succeeded'])
    await s.stop()
  })

  it('the clock set back: it sleeps again, never longer than the cap, then plans', async () => {
    const s = scheduler([job('cron', {cron: '* * * * *'})])
    await s.start()
    await settle()
    timers.fire()
    await settle()
    const before = ticks
    now = at('2026-01-05T09:00:00') // an hour back, before the 10:01:00 instant
    timers.fire()
    await settle()
    expect(ticks).to.equal(before)
    expect(timers.delay).to.equal(MAX_SLEEP_MS)
    now += MAX_SLEEP_MS
    timers.fire()
    await settle()
    expect(ticks).to.equal(before + 1)
    await s.stop()
  })

  it('a long run does not hold back another job: the wake goes on while it runs, and it is not started twice', async () => {
    let release!: () => void
    const long = job('long', {cron: '* * * * *'}, () => new Promise<string>((resolve) => (release = () => resolve('done'))))
    const s = scheduler([long, job('other', {cron: '* * * * *'})])
    await s.start()
    await settle()
    expect(statuses()).to.have.members(['long:running', 'other:succeeded'])
    // other's end plans again: long is in hand, other is next due at 10:01.
    timers.fire()
    await settle()
    now = at('2026-01-05T10:01:00')
    timers.fire()
    await settle()
    expect(statuses().filter((s) => s === 'other:succeeded')).to.have.length(2)
    expect(statuses().filter((s) => s.startsWith('long:'))).to.deep.equal(['long:running'])
    release()
    await settle()
    await settle()
    expect(statuses().filter((s) => s.startsWith('long:'))).to.deep.equal(['long:succeeded'])
    await s.stop()
  })

  it('runs at most `concurrency` jobs at once; the one that waited says how long', async () => {
    const releases: Array<() => void> = []
    const body = () => new Promise<string>((resolve) => releases.push(() => resolve('ok')))
    const s = scheduler([job('a', {cron: '* * * * *'}, body), job('b', {cron: '* * * * *'}, body)], 1)
    await s.start()
    await settle()
    expect(statuses()).to.deep.equal(['a:running'])
    now += 1500
    releases.shift()!()
    await settle()
    await settle()
    expect(statuses()).to.deep.equal(['a:succeeded', 'b:running'])
    releases.shift()!()
    await settle()
    expect(logs.filter((line) => line.includes('late'))).to.deep.equal(['b: run 2 started 1500 ms late: it waited for a free slot (every slot of --concurrency was taken)'])
    // Its row records it (cron_job_log.started_late_ms); the one that started on time, none.
    expect(log.runs.map((r) => [r.code, r.startedLateMs])).to.deep.equal([['a', null], ['b', 1500]])
    await s.stop()
  })

  it('a job waiting for a slot is not queued again by the next wake', async () => {
    const releases: Array<() => void> = []
    const body = () => new Promise<string>((resolve) => releases.push(() => resolve('ok')))
    const s = scheduler([job('a', {cron: '* * * * *'}, body), job('b', {cron: '* * * * *'}, body)], 1)
    await s.start()
    await settle()
    now = at('2026-01-05T10:01:20') // the minute's read, while a runs and b waits
    timers.fire()
    await settle()
    expect(outcomes).to.include('b not-due: not started: this scheduler is running it (or about to)')
    releases.shift()!()
    await settle()
    await settle()
    releases.shift()!()
    await settle()
    await settle()
    expect(statuses()).to.deep.equal(['a:succeeded', 'b:succeeded'])
    expect(outcomes.filter((line) => line.startsWith('b '))).to.deep.equal(['b not-due: not started: this scheduler is running it (or about to)', 'b succeeded'])
    await s.stop()
  })

  it('a job that fails at once is not run again at once: at most once a minute, as the crontab', async () => {
    const s = scheduler([job('failing', {runEveryMins: 5}, () => {
      throw new Error('boom')
    })])
    await s.start()
    await settle()
    timers.fire() // its end plans again: due (no success yet) but held to the next minute
    await settle()
    expect(statuses()).to.deep.equal(['failing:failed'])
    expect(timers.delay).to.equal(40_000)
    now = at('2026-01-05T10:01:00')
    timers.fire()
    await settle()
    expect(statuses()).to.deep.equal(['failing:failed', 'failing:failed'])
    await s.stop()
  })

  it('an every-second job runs every second: its timer is armed to 1 ms after the interval, not to the next minute', async () => {
    const s = scheduler([job('one', {runEverySeconds: 1})])
    await s.start()
    await settle()
    timers.fire() // its end plans again
    await settle()
    expect(timers.delay).to.equal(1001)
    for (let second = 1; second <= 3; second++) {
      now += timers.delay
      timers.fire()
      await settle()
      timers.fire()
      await settle()
    }
    expect(statuses()).to.deep.equal(['one:succeeded', 'one:succeeded', 'one:succeeded', 'one:succeeded'])
    expect(log.runs.map((r) => r.startMs - at('2026-01-05T10:00:20'))).to.deep.equal([0, 1001, 2002, 3003])
    await s.stop()
  })

  it('a spreadSeconds job started late is held to the end of the period it served, so the lateness never adds up from one period to the next', async () => {
    // spread.b's offset in 4 s is 2 s (its code's hash).
    const s = scheduler([job('spread.b', {runEverySeconds: 4, spreadSeconds: 4})])
    await s.start()
    await settle()
    for (let i = 0; i < 12; i++) {
      // Each timed wake comes 300 ms after its instant (a loaded machine); a run's end plans again at once.
      const delay = timers.delay
      if (delay > 0) now += delay + 300
      timers.fire()
      await settle()
    }
    const [first, ...later] = log.runs
    const lateness = later.filter((r) => r.status === 'succeeded').map((r) => r.startMs - r.periodMs! - 2000)
    expect(lateness.length, JSON.stringify(log.runs.map((r) => [r.startMs - first.startMs, r.periodMs! - first.startMs]))).to.be.at.least(3)
    expect(new Set(lateness), 'each start 300 ms after its offset').to.deep.equal(new Set([300]))
    await s.stop()
  })

  it("a cron '*/2 * * * * *' job runs at each even second", async () => {
    const s = scheduler([job('even', {cron: '*/2 * * * * *'})])
    await s.start()
    await settle()
    timers.fire()
    await settle()
    expect(timers.delay).to.equal(2000)
    now += 2000
    timers.fire()
    await settle()
    expect(statuses()).to.deep.equal(['even:succeeded', 'even:succeeded'])
    await s.stop()
  })

  it('a sub-minute job that fails at once is tried again after its period, not at once nor a minute later', async () => {
    const failing = job('failing', {runEverySeconds: 5}, () => {
      throw new Error('boom')
    })
    const s = scheduler([failing, job('other', {runEverySeconds: 2})])
    await s.start()
    await settle()
    timers.fire() // their ends plan again: failing is due (no success yet) but held for its period; other is due in 2 s
    await settle()
    expect(timers.delay).to.equal(2001)
    now += 2001 // other's wake, within failing's period: failing is not started
    timers.fire()
    await settle()
    expect(statuses()).to.deep.equal(['failing:failed', 'other:succeeded', 'other:succeeded'])
    expect(outcomes).to.include('failing not-due: not started: it started here less than a period ago (at most once a minute, as the crontab; a sub-minute job once its period)')
    timers.fire() // other's end plans again: its next instant (4.002 s) comes before failing's (5 s)
    await settle()
    now += timers.delay
    timers.fire()
    await settle()
    timers.fire()
    await settle()
    expect(now).to.equal(at('2026-01-05T10:00:24.002'))
    expect(timers.delay).to.equal(998) // failing's period ends at 10:00:25
    now += timers.delay
    timers.fire()
    await settle()
    expect(statuses().filter((status) => status.startsWith('failing'))).to.deep.equal(['failing:failed', 'failing:failed'])
    expect(log.runs.filter((r) => r.code === 'failing').map((r) => r.startMs - at('2026-01-05T10:00:20'))).to.deep.equal([0, 5000])
    await s.stop()
  })

  it('writes the heartbeat at most every 30 s, however often it wakes', async () => {
    const s = scheduler([job('cron', {cron: '* * * * *'})])
    await s.start()
    await settle()
    expect(beats).to.equal(1)
    timers.fire() // the run's end: plans again at once
    await settle()
    expect(beats).to.equal(1)
    now = at('2026-01-05T10:01:00')
    timers.fire()
    await settle()
    expect(beats).to.equal(2)
    await s.stop()
  })

  it('stop() clears the timer and waits for the running jobs, which are asked to stop', async () => {
    const s = scheduler([job('slow', {cron: '* * * * *'}, (ctx) => untilAborted(ctx.signal))])
    await s.start()
    await settle()
    expect(timers.armed.size).to.equal(1)
    const end = await s.stop('SIGTERM')
    expect(timers.armed.size).to.equal(0)
    expect(s.nextWakeMs).to.equal(null)
    expect(end).to.deep.equal({abandoned: false})
    expect(statuses()).to.deep.equal(['slow:interrupted'])
  })

  it('a start that cannot plan rejects (the command says so and exits)', async () => {
    const s = new Scheduler({tick: () => Promise.reject(new Error('no such table: cron_job_log')), heartbeat: async () => {}, settings: {timeZone: 'UTC', clockSkewMs: 0}, clock, timers, onError: () => {}})
    const failed = await s.start().then(() => null, (error: Error) => error.message)
    expect(failed).to.equal('no such table: cron_job_log')
    expect(timers.armed.size).to.equal(0)
  })
})
