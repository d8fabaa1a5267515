/** How long past its armed instant a wake may come (or a wake's plan take) before the loop counts as stuck. */
export const HEALTH_MARGIN_MS = 30_000

/** What `GET /healthz` answers: ok, or unhealthy with the reason in one line. */
export type HealthAnswer = {healthy: true; lastWakeMs: number; nextWakeMs: number | null} | {healthy: false; reason: string}

/** What the scheduler tells its health about each wake (SchedulerOptions.health). */
export interface WakeWatcher {
  /** A wake began planning. */
  began(nowMs: number): void
  /** It reached the database: the plan is made. */
  reached(nowMs: number): void
  /** It could not (planning failed, or recording the server's tick did). */
  failed(nowMs: number, error: unknown): void
}

/**
 * The scheduler's health, as pure state: the last wake, whether it reached the database, and
 * (asked at answer time) the instant the loop's timer is armed to. Healthy while the loop woke
 * within its window (the armed instant, or the start of a plan in progress, plus the margin) and
 * its last wake reached the database.
 */
export class SchedulerHealth implements WakeWatcher {
  private planningSinceMs: number | null
  private lastOkMs: number | null = null
  private lastError: {atMs: number; message: string} | null = null

  /** `describe` makes the error one line without a secret (the CLI's scrubbed first line). */
  constructor(
    startedMs: number,
    private readonly describe: (error: unknown) => string = String,
    private readonly marginMs = HEALTH_MARGIN_MS,
  ) {
    this.planningSinceMs = startedMs
  }

  began(nowMs: number): void {
    this.planningSinceMs = nowMs
  }

  reached(nowMs: number): void {
    this.planningSinceMs = null
    this.lastOkMs = nowMs
    this.lastError = null
  }

  failed(nowMs: number, error: unknown): void {
    this.planningSinceMs = null
    this.lastError = {atMs: nowMs, message: this.describe(error)}
  }

  /** The answer at `nowMs`, the loop's timer armed to `armedMs` (null while a wake plans, or when none is armed). */
  answer(nowMs: number, armedMs: number | null): HealthAnswer {
    const seconds = (ms: number) => `${Math.round(ms / 1000)} s`
    if (this.lastError !== null) return {healthy: false, reason: `the database was unreachable at the last wake, ${seconds(nowMs - this.lastError.atMs)} ago: ${this.lastError.message}`}
    if (this.planningSinceMs !== null) {
      if (nowMs - this.planningSinceMs <= this.marginMs) return this.lastOkMs === null ? {healthy: false, reason: 'starting: the first wake has not reached the database yet'} : {healthy: true, lastWakeMs: this.lastOkMs, nextWakeMs: null}
      return {healthy: false, reason: `a wake has been planning for ${seconds(nowMs - this.planningSinceMs)} (the database does not answer?)`}
    }
    if (armedMs === null) return {healthy: false, reason: 'the loop has no wake armed (stopping?)'}
    if (nowMs - armedMs > this.marginMs) return {healthy: false, reason: `the loop did not wake: due ${seconds(nowMs - armedMs)} ago (the event loop blocked?)`}
    return {healthy: true, lastWakeMs: this.lastOkMs ?? nowMs, nextWakeMs: armedMs}
  }
}
