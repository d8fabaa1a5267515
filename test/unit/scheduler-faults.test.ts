import {expect} from 'chai'
import {loadJobs} from '../../src/core/jobs/load-jobs'
import type {OutageEvent} from '../../src/core/runners/backoff'
import {SchedulerHealth} from '../../src/core/runners/health'
import {MAX_SLEEP_MS} from '../../src/core/runners/next-wake'
import {Scheduler, type WakeHooks} from '../../src/core/runners/scheduler'
import {EMPTY_TICK_STATE} from '../../src/core/run-log/server-ticks'
import type {TickPlan} from '../../src/core/tick/plan'
import type {Admission, TickReport} from '../../src/core/tick/run-crons'
import {job} from '../fixtures/jobs'
import {FakeTimers} from '../helpers/fake-timers'
import {at} from '../helpers/schedule'

/**
 * The database going away under a resident scheduler: its wakes fail, it backs off (1 s, 2 s, 4 s …
 * to 30 s), says so once, is unhealthy, and resumes at the first wake that reaches the database.
 * A fake tick that fails while `down`, fake timers and a clock the test moves: no sleeps.
 */
describe('Scheduler: the database goes away and comes back', () => {
  const REFUSED = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {code: 'ECONNREFUSED'})
  const REPORT: TickReport = {outcomes: [], problems: [], exitCode: 0, stoppedBy: null, abandoned: false}
  let now: number
  let timers: FakeTimers
  let down: boolean
  let wakes: number
  let events: string[]
  let errors: string[]
  let health: SchedulerHealth
  /** What a successful tick does besides planning (e.g. take a slot through hooks.admit). */
  let onTick: (hooks: WakeHooks) => void
  beforeEach(() => {
    now = at('2026-01-05T10:00:00')
    timers = new FakeTimers()
    down = false
    wakes = 0
    events = []
    errors = []
    health = new SchedulerHealth(now, (error) => (error as Error).message)
    onTick = () => {}
  })
  const clock = () => now
  /** A plan with no job: the scheduler sleeps to its cap (a minute) after it. */
  const plan = (): TickPlan => ({jobs: [], problems: [], snapshot: {nowMs: now, histories: new Map(), paused: new Map(), state: EMPTY_TICK_STATE}, verdicts: new Map()}) as unknown as TickPlan
  const said = (event: OutageEvent) => events.push(event.kind === 'back' ? `back after ${event.downMs} ms` : `${event.kind}: ${(event.error as Error).message}, again in ${event.retryInMs} ms`)

  function scheduler(options: {onOutage?: boolean; random?: () => number; heartbeat?: () => Promise<void>} = {}): Scheduler {
    return new Scheduler({
      tick: async (hooks) => {
        wakes++
        if (down) throw REFUSED
        hooks.onPlan(plan())
        onTick(hooks)
        return REPORT
      },
      heartbeat: options.heartbeat ?? (async () => {}),
      settings: {timeZone: 'UTC', clockSkewMs: 0},
      clock,
      timers,
      onError: (error, doing) => errors.push(`${doing}: ${(error as Error).message}`),
      ...(options.onOutage === false ? {} : {onOutage: said}),
      random: options.random ?? (() => 0),
      health,
    })
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve))
  /** Let the armed timer's delay pass, fire it, and let the wake run. */
  async function next(): Promise<number> {
    const delay = timers.delay
    now += delay
    timers.fire()
    await settle()
    return delay
  }
  const status = () => health.answer(now, timers.armed.size === 1 ? now + timers.delay : null)

  it('fails 5 times then reaches it: retries after 1, 2, 4, 8, 16 s, said once down and once back; 503 while down, 200 after', async () => {
    const s = scheduler()
    await s.start()
    expect(timers.delay).to.equal(MAX_SLEEP_MS)
    down = true
    const delays: number[] = [await next()]
    for (let i = 0; i < 4; i++) {
      delays.push(await next())
      expect(status().healthy, 'unhealthy while down').to.equal(false)
    }
    expect(status()).to.deep.include({healthy: false})
    expect((status() as {reason: string}).reason).to.match(/^the database was unreachable at the last wake, 0 s ago: connect ECONNREFUSED/)
    expect(timers.delay, 'the next try').to.equal(16_000)
    down = false
    delays.push(await next())
    expect(delays).to.deep.equal([MAX_SLEEP_MS, 1000, 2000, 4000, 8000, 16_000])
    expect(wakes).to.equal(7)
    expect(events).to.deep.equal(['down: connect ECONNREFUSED 127.0.0.1:5432, again in 1000 ms', 'back after 31000 ms'])
    expect(errors, 'onError is not told each retry').to.deep.equal([])
    expect(status().healthy, 'healthy again').to.equal(true)
    expect(timers.delay, 'its usual sleep again').to.equal(MAX_SLEEP_MS)
    // The back-off started over: the next outage retries after 1 s again.
    down = true
    await next()
    expect(timers.delay).to.equal(1000)
    await s.stop()
  })

  it('a long outage: the waits stop growing at 30 s, with jitter; the process never gives up', async () => {
    const s = scheduler({random: () => 0.5})
    await s.start()
    down = true
    await next()
    const delays: number[] = []
    for (let i = 0; i < 8; i++) delays.push(await next())
    expect(delays).to.deep.equal([900, 1800, 3600, 7200, 14_400, 27_000, 27_000, 27_000])
    expect(events).to.have.length(1)
    expect(timers.armed.size, 'a retry armed').to.equal(1)
    await s.stop()
  })

  it('without onOutage: going away is told to onError once, not at every retry', async () => {
    const s = scheduler({onOutage: false})
    await s.start()
    down = true
    for (let i = 0; i < 6; i++) await next()
    expect(errors).to.deep.equal(['planning a tick: connect ECONNREFUSED 127.0.0.1:5432'])
    await s.stop()
  })

  it("a run that ends while the database is away does not cut the back-off short (its outcome is the spool's)", async () => {
    const [running] = loadJobs([job('long', {runEveryMins: 1})]).jobs
    let slot: Admission | undefined
    onTick = (hooks) => void hooks.admit(running!, null).then((admitted) => (slot = 'refused' in admitted ? undefined : admitted))
    const s = scheduler()
    await s.start()
    await settle()
    expect(slot, 'the run took a slot').to.not.equal(undefined)
    onTick = () => {}
    down = true
    await next()
    await next()
    expect(timers.delay).to.equal(2000)
    const before = wakes
    slot!.release() // its end would plan again at once, were the database there
    await settle()
    expect(timers.delay, 'still the back-off').to.equal(2000)
    expect(wakes).to.equal(before)
    down = false
    await next()
    expect(events).to.deep.equal(['down: connect ECONNREFUSED 127.0.0.1:5432, again in 1000 ms', 'back after 3000 ms'])
    await s.stop()
  })

  it("the heartbeat's write fails: one line, unhealthy until a wake reaches the database, the loop goes on", async () => {
    let beats = 0
    const s = scheduler({heartbeat: () => (++beats === 1 ? Promise.reject(REFUSED) : Promise.resolve())})
    await s.start()
    await settle()
    expect(errors).to.deep.equal(["recording this server's tick (cron_tick): connect ECONNREFUSED 127.0.0.1:5432"])
    expect(status().healthy).to.equal(false)
    expect(timers.delay, 'its usual sleep').to.equal(MAX_SLEEP_MS)
    await next()
    expect(beats, 'written again at the next wake (30 s passed)').to.equal(2)
    expect(status().healthy).to.equal(true)
    expect(events, 'the wakes reached it: no outage').to.deep.equal([])
    expect(errors).to.have.length(1)
    await s.stop()
  })

  it('stop() while the database is away: the retry is cleared, nothing left armed', async () => {
    const s = scheduler()
    await s.start()
    down = true
    await next()
    expect(timers.armed.size).to.equal(1)
    expect(await s.stop('SIGTERM')).to.deep.equal({abandoned: false})
    expect(timers.armed.size).to.equal(0)
  })
})
