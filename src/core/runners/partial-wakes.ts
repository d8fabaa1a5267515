import type {LoadedJob} from '../jobs/load-jobs'
import type {TickPlan} from '../tick/plan'
import {MAX_SLEEP_MS} from './next-wake'

/**
 * A partial wake plans at most this many jobs, and at most half of them: past that a full plan
 * costs little more, and each code is bound four times in the history statement.
 */
export const PARTIAL_MOST = 1000

/**
 * However often refreshes find the run log unchanged, every job is planned at least this often: a
 * change the log's mark cannot tell (two that cancel out within one refresh) is seen within it.
 */
export const REPLAN_EVERY_MS = 10 * 60_000

/**
 * What one wake plans: every job (full), or these jobs of the last full plan (`known`). A full
 * wake is a `refresh` when only time asked for it (the minute's read, the watch) and no job's
 * instant came nor run ended here: if the run log is unchanged since the last full plan, its
 * instants stand and nothing needs planning (the scheduler's `unchanged`).
 */
export type WakeSelection = {full: true; refresh: boolean} | {full: false; jobs: readonly LoadedJob[]; known: readonly LoadedJob[]}

/**
 * Which jobs a scheduler's wake plans, from each job's next instant kept between wakes. A wake is
 * full (every job loaded, read and decided, as the crontab tick does) when it is the first, when
 * the last full plan is `capMs` old (so pauses, resumes, runs by hand and other servers' runs are
 * seen within it: the cap on the timer is this plan's), after a wake or a tick that failed, and
 * when the watch is due (it looks at every job). Any other wake is partial: only the jobs whose
 * kept instant has come, and those whose run here ended since the last plan (their next instant
 * depends on it), are planned, and only their instants change. A job without an instant (due,
 * running here, paused, running elsewhere with no lease) is seen again by the next full plan, or
 * at its run's end here, or when a change to the run log (that run's end, a resume) makes a
 * refresh plan every job.
 */
export class PartialWakes {
  /** Every job of the last full plan, by code, and as one list (the same list at every wake until the next full plan). */
  private known = new Map<string, LoadedJob>()
  private knownList: readonly LoadedJob[] = []
  private readonly instants = new Map<string, number>()
  private readonly ended = new Set<string>()
  private lastFullMs: number | null = null
  /** The last full plan's time (lastFullMs is a refresh's, when later). */
  private lastPlannedMs = 0
  private needFull = true

  constructor(private readonly capMs = MAX_SLEEP_MS) {}

  /** A run here ended: its job is planned at the next wake. */
  runEnded(code: string): void {
    this.ended.add(code)
  }

  /** The next wake plans every job (a wake could not plan; a tick failed after its plan, leaving due jobs unstarted). */
  fullNext(): void {
    this.needFull = true
  }

  /** What the wake at `nowMs` plans; `watchDue`: the watch would run now. Takes the runs ended so far. */
  choose(nowMs: number, watchDue: boolean): WakeSelection {
    const ended = [...this.ended]
    this.ended.clear()
    const {lastFullMs} = this
    if (this.needFull || lastFullMs === null || nowMs < lastFullMs) return {full: true, refresh: false}
    const codes = new Set(ended)
    for (const [code, atMs] of this.instants) if (atMs <= nowMs) codes.add(code)
    if (watchDue || nowMs >= lastFullMs + this.capMs) return {full: true, refresh: codes.size === 0 && nowMs < this.lastPlannedMs + REPLAN_EVERY_MS}
    const jobs: LoadedJob[] = []
    for (const code of codes) {
      const job = this.known.get(code)
      if (job) jobs.push(job)
    }
    if (jobs.length === 0 || jobs.length > PARTIAL_MOST || jobs.length * 2 > this.known.size) return {full: true, refresh: false}
    return {full: false, jobs, known: this.knownList}
  }

  /**
   * A wake's plan made at `nowMs`, with each planned job's next instant (nextWake's `instants`):
   * kept in place of the planned jobs' old ones (all of them after a full plan). Returns when to
   * wake next: the earliest instant kept, at most `capMs` after the last full plan.
   */
  planned(plan: Pick<TickPlan, 'jobs'>, selection: WakeSelection, nowMs: number, instants: ReadonlyMap<string, number>): number {
    if (selection.full) {
      this.known = new Map(plan.jobs.map((job) => [job.code, job]))
      this.knownList = plan.jobs
      this.instants.clear()
      this.lastFullMs = nowMs
      this.lastPlannedMs = nowMs
      this.needFull = false
    } else {
      for (const job of selection.jobs) this.instants.delete(job.code)
      for (const job of plan.jobs) this.instants.delete(job.code)
    }
    for (const [code, atMs] of instants) this.instants.set(code, atMs)
    return this.nextMs(nowMs)
  }

  /** A refresh found the run log unchanged at `nowMs`: as good as a full plan, every instant kept. Returns when to wake next. */
  refreshed(nowMs: number): number {
    this.lastFullMs = nowMs
    return this.nextMs(nowMs)
  }

  /** The earliest instant kept, at most `capMs` after the last full plan. */
  private nextMs(nowMs: number): number {
    let atMs = (this.lastFullMs ?? nowMs) + this.capMs
    for (const instant of this.instants.values()) if (instant < atMs) atMs = instant
    return atMs
  }
}
