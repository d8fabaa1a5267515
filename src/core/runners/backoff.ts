/** The first retry after a wake that could not reach the database. */
export const BACKOFF_FIRST_MS = 1000
/**
 * The longest wait between two tries while the database is away: the scheduler resumes at most
 * this long after it returns. Half the longest sleep (MAX_SLEEP_MS), and within the health check's
 * margin, so a probe sees the loop trying.
 */
export const BACKOFF_CAP_MS = 30_000
/** Each wait is up to this fraction shorter, at random: schedulers that lost the database together do not all come back at the same instant. */
export const BACKOFF_JITTER = 0.2
/** While the database stays away, it is said again at most this often (with the last error). */
export const OUTAGE_REMINDER_MS = 10 * 60_000

/**
 * How long to wait after the `failures`-th wake in a row that could not reach the database: 1 s,
 * 2 s, 4 s … doubling up to the cap, each made up to BACKOFF_JITTER shorter by `random` (in [0, 1):
 * 0 is no jitter). Pure: the caller draws the random number.
 */
export function backoffMs(failures: number, random = 0, firstMs = BACKOFF_FIRST_MS, capMs = BACKOFF_CAP_MS): number {
  const doubled = firstMs * 2 ** Math.min(Math.max(0, failures - 1), 30)
  const wait = Math.min(capMs, doubled)
  return Math.round(wait * (1 - BACKOFF_JITTER * Math.min(Math.max(random, 0), 1)))
}

/** What the scheduler says about the database going away and coming back (SchedulerOptions.onOutage). */
export type OutageEvent =
  /** The first wake that could not reach it: the scheduler goes on, trying again in `retryInMs`. */
  | {kind: 'down'; error: unknown; retryInMs: number}
  /** Still away `downMs` after it went (said at most every OUTAGE_REMINDER_MS). */
  | {kind: 'still'; error: unknown; downMs: number; retryInMs: number}
  /** A wake reached it again, `downMs` after it went. */
  | {kind: 'back'; downMs: number}

/**
 * The database's outages as the scheduler's wakes see them, as pure state (time passed in): how
 * many wakes failed in a row (the back-off), since when, and what is worth a line: one when it goes,
 * a reminder at most every OUTAGE_REMINDER_MS, one when it is back; never one per retry.
 */
export class Outage {
  private failures = 0
  private sinceMs = 0
  private saidMs = 0

  constructor(
    private readonly random: () => number = Math.random,
    private readonly reminderMs = OUTAGE_REMINDER_MS,
  ) {}

  /** Whether the last wake failed (the wakes back off). */
  get down(): boolean {
    return this.failures > 0
  }

  /** A wake failed at `nowMs`: how long to wait before the next, and the event to tell, if any. */
  failed(nowMs: number, error: unknown): {retryInMs: number; event: OutageEvent | null} {
    this.failures++
    const retryInMs = backoffMs(this.failures, this.random())
    if (this.failures === 1) {
      this.sinceMs = this.saidMs = nowMs
      return {retryInMs, event: {kind: 'down', error, retryInMs}}
    }
    if (nowMs - this.saidMs < this.reminderMs) return {retryInMs, event: null}
    this.saidMs = nowMs
    return {retryInMs, event: {kind: 'still', error, downMs: nowMs - this.sinceMs, retryInMs}}
  }

  /** A wake reached the database at `nowMs`: the back-off starts over; 'back' when it had been away. */
  reached(nowMs: number): OutageEvent | null {
    if (this.failures === 0) return null
    this.failures = 0
    return {kind: 'back', downMs: Math.max(0, nowMs - this.sinceMs)}
  }
}
