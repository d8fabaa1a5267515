import {expect} from 'chai'
import type {HistoryOptions} from '../../src/core/contract/run-types'
import {loadJobs} from '../../src/core/jobs/load-jobs'
import {MAX_SLEEP_MS} from '../../src/core/runners/next-wake'
import {PartialWakes, REPLAN_EVERY_MS} from '../../src/core/runners/partial-wakes'
import {Scheduler} from '../../src/core/runners/scheduler'
import type {RunStore} from '../../src/core/run-log/run-store'
import {runCrons} from '../../src/core/tick/run-crons'
import {MemoryRunLog} from '../../src/testing/memory-run-log'
import {job, settingsWith} from '../fixtures/jobs'
import {FakeTimers} from '../helpers/fake-timers'
import {at} from '../helpers/schedule'

const settle = () => new Promise((resolve) => setImmediate(resolve))
const iso = (ms: number) => new Date(ms).toISOString().slice(11, 23)

/** Fire the timer at its instant (the clock moved there, by `setNow`) until the next one is past `endMs`. */
async function fireUntil(s: Scheduler, timers: FakeTimers, endMs: number, setNow: (ms: number) => void, now: () => number): Promise<void> {
  for (let guard = 0; s.nextWakeMs !== null && s.nextWakeMs <= endMs; guard++) {
    expect(guard).to.be.below(200)
    setNow(Math.max(now(), s.nextWakeMs))
    timers.fire()
    await settle()
    await settle()
  }
  setNow(endMs)
}

/**
 * Partial wakes: a wake for one job plans (loads, reads, decides) that job alone; every job is
 * planned again at least once a minute (and when the watch is due, every 30 s). The real pipeline
 * (runCrons) over the run log in memory, fake timers and a clock the test moves: no sleeps.
 */
describe('Scheduler: partial wakes plan only the jobs whose instant came', () => {
  const ALL = ['five', 'slow', 'q1', 'q2', 'q3']
  let log: MemoryRunLog
  let now: number
  let timers: FakeTimers
  /** Each plan made: its time and its jobs' codes; and the codes each history read asked for (all: none named). */
  let plans: Array<{at: string; codes: string[]}>
  let reads: Array<string[] | 'all'>
  let errors: string[]
  beforeEach(async () => {
    log = new MemoryRunLog()
    now = at('2026-01-05T10:00:20')
    timers = new FakeTimers()
    plans = []
    reads = []
    errors = []
    // five: every 5 s, ran at 10:00:18 (next 10:00:23.001); slow: every 55 s, ran at 09:59:35 (next 10:00:30.001); q1–q3: hourly, quiet.
    await log.store.insertRun({code: 'five', status: 'succeeded', startMs: at('2026-01-05T10:00:18'), endMs: at('2026-01-05T10:00:18')})
    await log.store.insertRun({code: 'slow', status: 'succeeded', startMs: at('2026-01-05T09:59:35'), endMs: at('2026-01-05T09:59:35')})
    for (const code of ['q1', 'q2', 'q3']) await log.store.insertRun({code, status: 'succeeded', startMs: at('2026-01-05T10:00:00'), endMs: at('2026-01-05T10:00:00')})
  })
  const clock = () => now
  const crons = [job('five', {runEverySeconds: 5}), job('slow', {runEverySeconds: 55}), job('q1', {cron: '0 * * * *'}), job('q2', {cron: '0 * * * *'}), job('q3', {cron: '0 * * * *'})]

  function scheduler(classes = crons): Scheduler {
    const settings = settingsWith(classes, {clockSkewMs: 0})
    const store: RunStore = {
      ...log.store,
      histories: (nowMs: number, options?: HistoryOptions) => {
        reads.push(options?.codes ? [...options.codes] : 'all')
        return log.store.histories(nowMs, options)
      },
    }
    return new Scheduler({
      tick: (hooks) =>
        runCrons({db: () => { throw new Error('no database') }, dialect: 'sqlite', settings, clock, leaseClock: clock, store, lock: log.lock, recorder: log.recorder, host: 'h', pid: 7, concurrency: Infinity, signal: hooks.signal, watch: hooks.watch, partial: hooks.partial, admit: hooks.admit,
          onPlan: (plan) => {
            plans.push({at: iso(plan.snapshot.nowMs), codes: plan.jobs.map((j) => j.code)})
            hooks.onPlan(plan)
          },
        }),
      heartbeat: async () => {},
      settings,
      clock,
      timers,
      onError: (error, doing) => errors.push(`${doing}: ${String(error)}`),
    })
  }

  const until = (s: Scheduler, endMs: number) => fireUntil(s, timers, endMs, (ms) => (now = ms), () => now)
  const starts = (code: string) => log.runs.filter((r) => r.code === code && r.startMs >= at('2026-01-05T10:00:20')).map((r) => iso(r.startMs))

  it("a timer wake for one job plans and reads that job alone; its run's end plans it alone again", async () => {
    const s = scheduler()
    await s.start()
    expect(plans).to.deep.equal([{at: '10:00:20.000', codes: ALL}])
    expect(reads).to.deep.equal(['all'])
    expect(iso(s.nextWakeMs!)).to.equal('10:00:23.001')
    await until(s, at('2026-01-05T10:00:24'))
    expect(starts('five')).to.deep.equal(['10:00:23.001'])
    // The timer's wake, then the one its run's end asked for: five alone, its history alone.
    expect(plans.slice(1)).to.deep.equal([{at: '10:00:23.001', codes: ['five']}, {at: '10:00:23.001', codes: ['five']}])
    expect(reads.slice(1)).to.deep.equal([['five'], ['five']])
    expect(iso(s.nextWakeMs!)).to.equal('10:00:28.002')
    expect(errors).to.deep.equal([])
    await s.stop()
  })

  it('an instant kept from the full plan is honoured, though partial wakes came between', async () => {
    const s = scheduler()
    await s.start()
    await until(s, at('2026-01-05T10:00:31'))
    // slow's 10:00:30.001 was found by the first plan only: five's wakes never planned slow.
    expect(starts('slow')).to.deep.equal(['10:00:30.001'])
    expect(starts('five')).to.deep.equal(['10:00:23.001', '10:00:28.002'])
    expect(plans.filter((p) => p.codes.includes('slow')).map((p) => p.at)).to.deep.equal(['10:00:20.000', '10:00:30.001', '10:00:30.001'])
    expect(plans.slice(1).every((p) => p.codes.length === 1)).to.equal(true)
    await s.stop()
  })

  it('every job is planned again a minute after the last full plan, whatever the partial wakes (the timer is capped at it)', async () => {
    // No five: after slow's run at 10:00:30 its next instant (10:01:25.002) is past the cap, so the timer is armed to the minute's read.
    const s = scheduler(crons.slice(1))
    await s.start()
    await until(s, at('2026-01-05T10:00:31'))
    expect(plans.map((p) => p.codes.length)).to.deep.equal([4, 1, 1])
    expect(iso(s.nextWakeMs!)).to.equal('10:01:20.000')
    await until(s, at('2026-01-05T10:01:21'))
    expect(plans.at(-1)).to.deep.equal({at: '10:01:20.000', codes: ['slow', 'q1', 'q2', 'q3']})
    expect(reads.at(-1)).to.equal('all')
    await s.stop()
  })

  it('while a job wakes it every few seconds, every job is planned again every 30 s (the watch looks at every job)', async () => {
    const s = scheduler()
    await s.start()
    await until(s, at('2026-01-05T10:01:25'))
    expect(plans.filter((p) => p.codes.length === ALL.length).map((p) => p.at)).to.deep.equal(['10:00:20.000', '10:00:53.007', '10:01:23.013'])
    await s.stop()
  })

  it('a paused job is left alone by the partial wakes; resumed, it is seen by the next full plan', async () => {
    await log.store.setPaused('slow', {sinceMs: at('2026-01-05T10:00:00'), by: 'ops'})
    const s = scheduler()
    await s.start()
    await until(s, at('2026-01-05T10:00:35'))
    expect(starts('slow')).to.deep.equal([])
    await log.store.setPaused('slow', null, now)
    await until(s, at('2026-01-05T10:01:31'))
    // Not planned by five's wakes after the resume (10:00:38, :43, :48); the first full plan (10:00:53, the watch's) finds it due and runs it.
    expect(plans.filter((p) => p.codes.includes('slow')).map((p) => p.at)).to.deep.equal(['10:00:20.000', '10:00:53.007', '10:00:53.007', '10:01:23.013'])
    expect(plans.filter((p) => p.at > '10:00:35' && p.at < '10:00:53').map((p) => p.codes)).to.deep.equal([['five'], ['five'], ['five'], ['five'], ['five'], ['five']])
    expect(starts('slow')).to.deep.equal(['10:00:53.007'])
    await s.stop()
  })
})

describe('Scheduler: a refresh that finds the run log unchanged plans nothing', () => {
  let log: MemoryRunLog
  let now: number
  let timers: FakeTimers
  let plans: string[]
  let beats: string[]
  beforeEach(async () => {
    log = new MemoryRunLog()
    now = at('2026-01-05T10:00:20')
    timers = new FakeTimers()
    plans = []
    beats = []
    for (const code of ['q1', 'q2', 'q3']) await log.store.insertRun({code, status: 'succeeded', startMs: at('2026-01-05T10:00:00'), endMs: at('2026-01-05T10:00:00')})
  })
  const clock = () => now
  // Hourly jobs, none due before 11:00.
  const crons = [job('q1', {cron: '0 * * * *'}), job('q2', {cron: '0 * * * *'}), job('q3', {cron: '0 * * * *'})]
  /** The memory log's mark: what the SQL one tells (ids, statuses, pauses). */
  const markOf = () => JSON.stringify([log.runs.map((r) => `${r.id} ${r.status}`), [...log.jobs].map(([code, j]) => `${code} ${j.pause ? 'paused' : ''}`)])

  function scheduler(): Scheduler {
    const settings = settingsWith(crons, {clockSkewMs: 0})
    let mark: string | null = null
    return new Scheduler({
      tick: (hooks) => {
        if (!hooks.partial) mark = markOf()
        return runCrons({db: () => { throw new Error('no database') }, dialect: 'sqlite', settings, clock, leaseClock: clock, store: log.store, lock: log.lock, recorder: log.recorder, host: 'h', pid: 7, concurrency: Infinity, signal: hooks.signal, watch: hooks.watch, partial: hooks.partial, admit: hooks.admit,
          onPlan: (plan) => {
            plans.push(iso(plan.snapshot.nowMs))
            hooks.onPlan(plan)
          },
        })
      },
      heartbeat: async (_plan, atMs) => void beats.push(iso(atMs)),
      unchanged: async () => mark === markOf(),
      settings,
      clock,
      timers,
      onError: (error) => {
        throw error
      },
    })
  }

  const until = (s: Scheduler, endMs: number) => fireUntil(s, timers, endMs, (ms) => (now = ms), () => now)

  it("an idle scheduler's minute reads plan nothing while the log is unchanged; the heartbeat is still written; every 10 min a full plan", async () => {
    const s = scheduler()
    await s.start()
    await until(s, at('2026-01-05T10:05:21'))
    expect(plans).to.deep.equal(['10:00:20.000'])
    expect(beats).to.deep.equal(['10:00:20.000', '10:01:20.000', '10:02:20.000', '10:03:20.000', '10:04:20.000', '10:05:20.000'])
    expect(iso(s.nextWakeMs!)).to.equal('10:06:20.000')
    await until(s, at('2026-01-05T10:10:21'))
    expect(plans).to.deep.equal(['10:00:20.000', '10:10:20.000'])
    await s.stop()
  })

  it('a run by another server, a run ending, a pause or a resume makes the next minute read plan every job', async () => {
    const s = scheduler()
    await s.start()
    await until(s, at('2026-01-05T10:01:21'))
    expect(plans).to.deep.equal(['10:00:20.000'])
    const id = await log.store.insertRun({code: 'q1', status: 'running', startMs: at('2026-01-05T10:01:30'), endMs: null, host: 'other'})
    await until(s, at('2026-01-05T10:02:21'))
    expect(plans).to.deep.equal(['10:00:20.000', '10:02:20.000'])
    log.runs.find((r) => r.id === id)!.status = 'failed'
    await until(s, at('2026-01-05T10:04:21'))
    expect(plans).to.deep.equal(['10:00:20.000', '10:02:20.000', '10:03:20.000'])
    await log.store.setPaused('q2', {sinceMs: now, by: 'ops'})
    await until(s, at('2026-01-05T10:06:21'))
    await log.store.setPaused('q2', null, now)
    await until(s, at('2026-01-05T10:07:21'))
    expect(plans.slice(3)).to.deep.equal(['10:05:20.000', '10:07:20.000'])
    await s.stop()
  })
})

describe('PartialWakes: which jobs a wake plans', () => {
  const {jobs} = loadJobs(['a', 'b', 'c', 'd'].map((code) => job(code, {cron: '* * * * *'})))
  const t0 = at('2026-01-05T10:00:00')
  const kept = () => {
    const wakes = new PartialWakes()
    wakes.planned({jobs}, wakes.choose(t0, false), t0, new Map([['a', t0 + 1000], ['b', t0 + 2000], ['c', t0 + 5000]]))
    return wakes
  }
  const codes = (selection: ReturnType<PartialWakes['choose']>) => (selection.full ? 'all' : selection.jobs.map((j) => j.code))

  it('the first wake plans all; then the jobs whose instant came and those whose run ended here', () => {
    expect(codes(new PartialWakes().choose(t0, false))).to.equal('all')
    const wakes = kept()
    wakes.runEnded('d')
    expect(codes(wakes.choose(t0 + 1000, false))).to.deep.equal(['d', 'a'])
  })

  it('plans all when the last full plan is a minute old, the clock went back, the watch is due, a wake failed, or most jobs are due', () => {
    expect(codes(kept().choose(t0 + MAX_SLEEP_MS, false))).to.equal('all')
    expect(codes(kept().choose(t0 - 1, false))).to.equal('all')
    expect(codes(kept().choose(t0 + 1000, true))).to.equal('all')
    const failed = kept()
    failed.fullNext()
    expect(codes(failed.choose(t0 + 1000, false))).to.equal('all')
    expect(codes(kept().choose(t0 + 2000, false))).to.deep.equal(['a', 'b'])
    expect(codes(kept().choose(t0 + 5000, false))).to.equal('all')
  })

  it('a full wake is a refresh when only time asked for it: not the first, after a failure, with an instant come or a run ended, nor 10 min after the last full plan', () => {
    const refresh = (selection: ReturnType<PartialWakes['choose']>) => selection.full && selection.refresh
    const quiet = () => {
      const wakes = new PartialWakes()
      wakes.planned({jobs}, wakes.choose(t0, false), t0, new Map([['a', t0 + 90_000]]))
      return wakes
    }
    expect(refresh(new PartialWakes().choose(t0, false))).to.equal(false)
    expect(refresh(quiet().choose(t0 + MAX_SLEEP_MS, false))).to.equal(true)
    expect(refresh(quiet().choose(t0 + 30_000, true))).to.equal(true)
    expect(refresh(quiet().choose(t0 + 90_000, false))).to.equal(false)
    const ended = quiet()
    ended.runEnded('b')
    expect(refresh(ended.choose(t0 + MAX_SLEEP_MS, false))).to.equal(false)
    const failed = quiet()
    failed.fullNext()
    expect(refresh(failed.choose(t0 + MAX_SLEEP_MS, false))).to.equal(false)
    // Refreshed: the next minute's read comes a minute after it; the instants are kept.
    const refreshed = quiet()
    expect(refreshed.refreshed(t0 + MAX_SLEEP_MS)).to.equal(t0 + 90_000)
    expect(refresh(refreshed.choose(t0 + REPLAN_EVERY_MS - 1, true))).to.equal(false) // a's instant came
    const idle = new PartialWakes()
    idle.planned({jobs}, idle.choose(t0, false), t0, new Map())
    for (let m = 1; m < 10; m++) expect(idle.refreshed(t0 + m * MAX_SLEEP_MS)).to.equal(t0 + (m + 1) * MAX_SLEEP_MS)
    expect(refresh(idle.choose(t0 + REPLAN_EVERY_MS - 1, true))).to.equal(true)
    expect(refresh(idle.choose(t0 + REPLAN_EVERY_MS, false))).to.equal(false)
  })

  it("after a partial plan only the planned jobs' instants change; the timer goes to the earliest, capped a minute after the full plan", () => {
    const wakes = kept()
    const selection = wakes.choose(t0 + 1000, false)
    expect(wakes.planned({jobs: jobs.slice(0, 1)}, selection, t0 + 1000, new Map([['a', t0 + 90_000]]))).to.equal(t0 + 2000)
    const next = wakes.choose(t0 + 2000, false)
    expect(codes(next)).to.deep.equal(['b'])
    expect(wakes.planned({jobs: jobs.slice(1, 2)}, next, t0 + 2000, new Map())).to.equal(t0 + 5000)
    const last = wakes.choose(t0 + 5000, false)
    expect(wakes.planned({jobs: jobs.slice(2, 3)}, last, t0 + 5000, new Map())).to.equal(t0 + MAX_SLEEP_MS)
  })
})
