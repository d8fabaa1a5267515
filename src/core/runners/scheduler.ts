import type {LoadedJob} from '../jobs/load-jobs'
import type {Settings} from '../project/settings'
import type {TickPlan} from '../tick/plan'
import type {Admission, TickReport} from '../tick/run-crons'
import type {Clock} from '../time/clock'
import {periodEnd} from '../schedule/period'
import {Outage, type OutageEvent} from './backoff'
import type {WakeWatcher} from './health'
import {HEARTBEAT_EVERY_MS, heartbeatDue, MAX_SLEEP_MS, nextWake} from './next-wake'
import {PartialWakes, type WakeSelection} from './partial-wakes'
import {HeldBack} from './held-back'

/** How many due jobs a scheduler runs at once unless told otherwise (`--concurrency`). */
export const DEFAULT_CONCURRENCY = 4

/** What the scheduler hands each tick it runs: its hooks into the pipeline (run-crons.ts). */
export interface WakeHooks {
  /** Aborted when the scheduler stops: no more claims, and the running jobs are asked to stop (ctx.signal). */
  signal: AbortSignal
  /** Watch for missed runs and silent servers on this wake (at most every 30 s, as the heartbeat; only on a full wake). */
  watch: boolean
  /** Plan only these jobs (a partial wake: partial-wakes.ts), or undefined: every job. */
  partial?: {jobs: readonly LoadedJob[]; known: readonly LoadedJob[]}
  onPlan(plan: TickPlan): void
  admit(job: LoadedJob, periodMs: number | null): Promise<Admission | {refused: string}>
}

/** The one timer (tests pass fakes; the real one keeps the process alive, as a scheduler should). */
export interface SchedulerTimers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const realSchedulerTimers: SchedulerTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

export interface SchedulerOptions {
  /** One tick of the pipeline (plan, then running it: runCrons) with the scheduler's hooks (`partial` passed on as runCrons' own). */
  tick(hooks: WakeHooks): Promise<TickReport>
  /** Record this server's tick (cron_tick) at `atMs` (the plan's time, or a refresh's), through the plan's run log. */
  heartbeat(plan: TickPlan, atMs: number): Promise<void>
  /**
   * A refresh (partial-wakes.ts's WakeSelection): true when nothing the last full plan (`plan`) read
   * has changed since, so its instants stand and the wake plans nothing (`watch`: the watch is due
   * at this wake: run on that plan first); false: the full plan. Absent: always the full plan.
   */
  unchanged?(plan: TickPlan, watch: boolean): Promise<boolean>
  settings: Pick<Settings, 'timeZone' | 'clockSkewMs'>
  clock: Clock
  timers: SchedulerTimers
  /** How many due jobs run at once, across wakes (default DEFAULT_CONCURRENCY). */
  concurrency?: number
  /** What failed after the start (a heartbeat, the end of a tick; a wake, unless onOutage is given): told, and the scheduler goes on. */
  onError(error: unknown, doing: string): void
  /**
   * The database went away (a wake could not plan), is still away, or is back: told once each,
   * not at every retry (backoff.ts). Without it, going and staying away are told to onError.
   */
  onOutage?(event: OutageEvent): void
  /** The back-off's jitter: a number in [0, 1) (default Math.random; tests pass () => 0). */
  random?(): number
  /** The longest sleep (default MAX_SLEEP_MS). */
  capMs?: number
  /** Told of each wake and whether it reached the database (the health check). */
  health?: WakeWatcher
  /** Told the jobs running in this process (not isolated) whenever they change (the event-loop lag check). */
  onRunning?(codes: string[]): void
}

export interface SchedulerEnd {
  /** A run did not stop within the grace period: recorded and abandoned, as the tick abandons one. */
  abandoned: boolean
}

/**
 * The resident runner: the tick's pipeline, woken at the right instant instead of every minute.
 * Each wake runs one tick (the plan, then its due jobs, claimed as the crontab tick claims them),
 * then arms one timer to the next due instant of all the jobs, at most a minute after the last plan
 * of every job; in between, a wake plans only the jobs whose instant came (partial-wakes.ts), and
 * that minute's read plans nothing when the run log is unchanged (`unchanged`). The jobs a
 * tick starts run on in the background: the next wake never waits for them, and a job still
 * running is not due again (its claim and running row hold it). Due jobs share `concurrency`
 * slots; a run's end makes the scheduler plan again (its next instant depends on it). A wake that
 * cannot reach the database (after the first) never ends it: it backs off (backoff.ts) and resumes
 * at the first wake that does.
 */
export class Scheduler {
  private handle: unknown = null
  private targetMs: number | null = null
  private planning = false
  private again = false
  private stopped = false
  private abandoned = false
  private readonly controller = new AbortController()
  /** The jobs this scheduler has in hand: waiting for a slot or running. */
  private readonly inHand = new Set<string>()
  /**
   * The end of the period each job's last start here took (periodEnd: the next minute boundary, as
   * the crontab starts a job at most once a minute; a sub-minute job's own period): not started
   * here again before it (a job that fails at once would otherwise run again at once, its run's end
   * making it due again).
   */
  private readonly held = new Map<string, number>()
  private readonly heldBack = new HeldBack()
  private readonly waiting: Array<(go: boolean) => void> = []
  private busy = 0
  /** The jobs holding a slot, and whether each runs in its own process. */
  private readonly running = new Map<string, boolean>()
  private readonly ticks = new Set<Promise<void>>()
  private lastBeatMs: number | null = null
  private lastWatchMs: number | null = null
  /** The last full plan (every job's verdict and history), for a refresh that finds the run log unchanged. */
  private lastFull: TickPlan | null = null
  private readonly wakes: PartialWakes
  private readonly capMs: number
  private readonly concurrency: number
  private readonly outage: Outage

  constructor(private readonly options: SchedulerOptions) {
    this.capMs = options.capMs ?? MAX_SLEEP_MS
    this.wakes = new PartialWakes(this.capMs)
    this.outage = new Outage(() => (options.random ?? Math.random)())
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY)
  }

  /** The first wake: resolves once its plan is made (its jobs run on); rejects with what kept it from planning (a start error). */
  start(): Promise<void> {
    return this.wake(true)
  }

  /** The instant the timer is armed to, or null when none is armed. */
  get nextWakeMs(): number | null {
    return this.handle === null ? null : this.targetMs
  }

  /**
   * No more wakes or claims; the running jobs are asked to stop (ctx.signal, `reason`) and given
   * the grace period, as the tick gives them. Resolves when every tick has ended.
   */
  async stop(reason = 'stopped'): Promise<SchedulerEnd> {
    if (!this.stopped) {
      this.stopped = true
      this.disarm()
      this.controller.abort(reason)
      for (const go of this.waiting.splice(0)) go(false)
    }
    while (this.ticks.size > 0) await Promise.allSettled([...this.ticks])
    return {abandoned: this.abandoned}
  }

  private async wake(first = false): Promise<void> {
    this.handle = null
    if (this.stopped) return
    const nowMs = this.options.clock()
    // Woken before the instant (a timer a little early, the clock set back): sleep again, run nothing,
    // and never longer than the cap (the clock set back an hour must not silence the scheduler for one).
    if (!first && this.targetMs !== null && nowMs < this.targetMs) return this.arm(Math.min(this.targetMs, nowMs + this.capMs))
    if (this.planning) {
      this.again = true
      return
    }
    this.planning = true
    this.again = false
    this.options.health?.began(nowMs)
    const watchDue = heartbeatDue(this.lastWatchMs, nowMs)
    const selection = this.wakes.choose(nowMs, watchDue)
    try {
      if (selection.full && selection.refresh && (await this.stands(nowMs, watchDue))) return
      const plan = await this.tick(nowMs, selection)
      this.options.health?.reached(nowMs)
      this.tell(this.outage.reached(this.options.clock()))
      if (plan !== null && !this.stopped) this.planned(plan, selection, nowMs)
    } catch (error) {
      this.wakes.fullNext()
      if (first) throw error
      // The database away (refused, timed out): try again soon, then less and less often (backoff.ts),
      // said once, not at every try. The runs under way keep their outcomes in the spool meanwhile,
      // and the first wake that reaches it records them before it decides (planTick).
      const failedMs = this.options.clock()
      this.options.health?.failed(failedMs, error)
      const {retryInMs, event} = this.outage.failed(failedMs, error)
      this.tell(event)
      if (!this.stopped) this.arm(failedMs + retryInMs)
    } finally {
      this.planning = false
    }
  }

  /**
   * A refresh: when the run log is unchanged since the last full plan, that plan stands (its
   * instants kept, the watch as good as run) and the wake ends here, after the heartbeat (the
   * minute's read of an idle scheduler is one cheap statement, not a plan of every job).
   */
  private async stands(nowMs: number, watchDue: boolean): Promise<boolean> {
    const plan = this.lastFull
    if (plan === null || !this.options.unchanged || !(await this.options.unchanged(plan, watchDue))) return false
    this.options.health?.reached(nowMs)
    this.tell(this.outage.reached(this.options.clock()))
    if (this.stopped) return true
    if (watchDue) this.lastWatchMs = nowMs
    this.beat(plan, nowMs)
    const atMs = this.wakes.refreshed(nowMs)
    this.arm(this.again ? nowMs : atMs)
    return true
  }

  private tell(event: OutageEvent | null): void {
    if (event === null) return
    if (this.options.onOutage) this.options.onOutage(event)
    else if (event.kind !== 'back') this.options.onError(event.error, 'planning a tick')
  }

  /** Start one tick; resolves with its plan as soon as it is made (or rejects with what kept it from planning), while its jobs run on. */
  private tick(nowMs: number, selection: WakeSelection): Promise<TickPlan | null> {
    // The watch looks at every job: a full wake's.
    const watch = selection.full && heartbeatDue(this.lastWatchMs, nowMs)
    if (watch) this.lastWatchMs = nowMs
    return new Promise((resolve, reject) => {
      let planned = false
      const hooks: WakeHooks = {
        signal: this.controller.signal,
        watch,
        partial: selection.full ? undefined : {jobs: selection.jobs, known: selection.known},
        onPlan: (plan) => {
          planned = true
          resolve(plan)
        },
        admit: (job, periodMs) => this.admit(job, periodMs),
      }
      const running: Promise<void> = this.options
        .tick(hooks)
        .then(
          (report) => {
            if (report.abandoned) this.abandoned = true
          },
          (error: unknown) => {
            if (!planned) return reject(error)
            // Due jobs it did not start have no instant kept: the next wake plans every job.
            this.wakes.fullNext()
            this.options.onError(error, 'running the due jobs')
          },
        )
        .finally(() => {
          this.ticks.delete(running)
          resolve(null)
        })
      this.ticks.add(running)
    })
  }

  /** The plan is made: the heartbeat (throttled), then the timer to the next instant. */
  private planned(plan: TickPlan, selection: WakeSelection, wokeMs: number): void {
    const nowMs = plan.snapshot.nowMs
    if (selection.full) this.lastFull = plan
    this.beat(plan, nowMs)
    // A run ended while planning: plan again at once, its next instant depends on it.
    for (const [code, untilMs] of this.held) if (untilMs <= nowMs) this.held.delete(code)
    const {instants} = nextWake(plan, this.options.settings, nowMs, this.inHand, this.capMs, this.held)
    const atMs = this.wakes.planned(plan, selection, wokeMs, instants)
    this.arm(this.again ? nowMs : atMs)
  }

  /** This server's tick (cron_tick), at most every HEARTBEAT_EVERY_MS, without waiting for it. */
  private beat(plan: TickPlan, nowMs: number): void {
    if (!heartbeatDue(this.lastBeatMs, nowMs, HEARTBEAT_EVERY_MS)) return
    this.lastBeatMs = nowMs
    this.options.heartbeat(plan, nowMs).catch((error: unknown) => {
      this.options.health?.failed(this.options.clock(), error)
      this.options.onError(error, "recording this server's tick (cron_tick)")
    })
  }

  /**
   * A slot for a due job, once one is free; refused when this scheduler has the job in hand already, or is stopping.
   * Once started, the job is held here to the end of its period: the one it serves (`periodMs`, a spread job's), else the one its start falls in.
   */
  private async admit(job: LoadedJob, periodMs: number | null): Promise<Admission | {refused: string}> {
    if (this.stopped) return {refused: 'not started: the scheduler is stopping'}
    if (this.inHand.has(job.code)) return {refused: 'not started: this scheduler is running it (or about to)'}
    const askedMs = this.options.clock()
    if ((this.held.get(job.code) ?? 0) > askedMs) return {refused: 'not started: it started here less than a period ago (at most once a minute, as the crontab; a sub-minute job once its period)'}
    this.inHand.add(job.code)
    const full = this.busy >= this.concurrency
    if (!full) this.busy++
    // A slot freed is handed to the first waiter (counted still), so no later job takes it first.
    else if (!(await new Promise<boolean>((go) => this.waiting.push(go)))) {
      this.inHand.delete(job.code)
      return {refused: 'not started: the scheduler is stopping'}
    }
    this.held.set(job.code, periodEnd(job.schedule, periodMs ?? this.options.clock(), this.options.settings.timeZone))
    this.running.set(job.code, job.policy.isolate)
    this.toldRunning()
    let released = false
    return {
      waitedMs: full ? Math.max(0, this.options.clock() - askedMs) : 0,
      release: (outcome) => {
        if (released) return
        released = true
        this.inHand.delete(job.code)
        this.running.delete(job.code)
        this.toldRunning()
        const next = this.waiting.shift()
        if (next) next(true)
        else this.busy--
        this.wakes.runEnded(job.code)
        // A run of a limit group ended here: the group's jobs it held back here try again now.
        for (const code of this.heldBack.ended(job, outcome)) {
          this.held.delete(code)
          this.wakes.runEnded(code)
        }
        this.soon()
      },
    }
  }

  private toldRunning(): void {
    if (!this.options.onRunning) return
    // At each slot taken and freed: without the copies and entry pairs of [...map].filter().map().
    const codes: string[] = []
    this.running.forEach((isolated, code) => isolated || codes.push(code))
    this.options.onRunning(codes)
  }

  /** Plan again now (a run ended), unless stopping; while a plan is being made, right after it; while the database is away, at the back-off's next try. */
  private soon(): void {
    if (this.stopped || (this.outage.down && this.handle !== null)) return
    if (this.planning) {
      this.again = true
      return
    }
    this.arm(this.options.clock())
  }

  private arm(atMs: number): void {
    this.disarm()
    if (this.stopped) return
    this.targetMs = atMs
    this.handle = this.options.timers.setTimeout(() => void this.wake(), Math.max(0, atMs - this.options.clock()))
  }

  private disarm(): void {
    if (this.handle !== null) this.options.timers.clearTimeout(this.handle)
    this.handle = null
  }
}
