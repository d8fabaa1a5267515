import type {LoopLagSeen} from '../run-log/server-ticks'

/** A lag past this is worth a line: a job that computes this long holds back every other start. */
export const LAG_WARN_MS = 1000
/** How often the loop is looked at, only while a job runs in this process (idle, no timer at all). */
export const LAG_CHECK_EVERY_MS = 250
/** A job named in a lag warning is not named again for this long. */
export const LAG_QUIET_MS = 10 * 60_000

export interface LagTimers {
  setInterval(fn: () => void, ms: number): unknown
  clearInterval(handle: unknown): void
}

/** Unref'd: the check never keeps a process alive, nor counts as work the watchdog waits on. */
export const realLagTimers: LagTimers = {
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
}

export interface LoopLagOptions {
  /** A monotonic clock in ms (performance.now). */
  clock: () => number
  timers: LagTimers
  /** The loop was `lagMs` late while `codes` ran in this process (each named at most once per quietMs). */
  onLag(lagMs: number, codes: string[]): void
  thresholdMs?: number
  everyMs?: number
  quietMs?: number
}

/**
 * Event-loop lag, measured only while jobs run in this process: one interval that notes how late
 * it fires. A job that blocks the loop is running (or has just ended) when the late check comes,
 * so the jobs named are those that ran since the last check.
 */
export class LoopLag {
  private handle: unknown = null
  private lastMs = 0
  private current: string[] = []
  private seen = new Set<string>()
  private readonly warnedMs = new Map<string, number>()
  private worst: LoopLagSeen | null = null
  private readonly thresholdMs: number
  private readonly everyMs: number
  private readonly quietMs: number

  constructor(private readonly options: LoopLagOptions) {
    this.thresholdMs = options.thresholdMs ?? LAG_WARN_MS
    this.everyMs = options.everyMs ?? LAG_CHECK_EVERY_MS
    this.quietMs = options.quietMs ?? LAG_QUIET_MS
  }

  /** The jobs running in this process now (isolated ones cannot block it). */
  running(codes: readonly string[]): void {
    this.current = [...codes]
    for (const code of codes) this.seen.add(code)
    if (codes.length > 0 && this.handle === null) {
      this.lastMs = this.options.clock()
      this.handle = this.options.timers.setInterval(() => this.check(), this.everyMs)
    }
  }

  /** The worst lag since the last call, with the jobs that ran here then; null when none was measured (no job ran in this process): the heartbeat's. */
  takeWorst(): LoopLagSeen | null {
    const worst = this.worst
    this.worst = null
    return worst
  }

  stop(): void {
    if (this.handle !== null) this.options.timers.clearInterval(this.handle)
    this.handle = null
  }

  private check(): void {
    const nowMs = this.options.clock()
    const lagMs = nowMs - this.lastMs - this.everyMs
    this.lastMs = nowMs
    if (this.worst === null || lagMs > this.worst.lagMs) this.worst = {lagMs: Math.max(0, lagMs), codes: [...this.seen]}
    if (lagMs >= this.thresholdMs) {
      const fresh = [...this.seen].filter((code) => nowMs - (this.warnedMs.get(code) ?? Number.NEGATIVE_INFINITY) >= this.quietMs)
      for (const code of fresh) this.warnedMs.set(code, nowMs)
      if (fresh.length > 0) this.options.onLag(lagMs, fresh)
    }
    this.seen = new Set(this.current)
    // One more look after the last job ended (a job that blocked then ended is named by it), then no timer.
    if (this.current.length === 0) this.stop()
  }
}
