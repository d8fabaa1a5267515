import type {Clock} from './clock'
import {MINUTE_MS} from './units'

/**
 * Another machine's clock (the database server's) followed here by an offset from the local clock,
 * measured on first use and again once it is older than `maxAgeMs` (a minute): a process that lives
 * longer than one tick (a resident scheduler, the dashboard) follows the server's clock as it drifts
 * instead of keeping its first measure for life. `now` always reads the latest offset, so a clock
 * handed out before a measure follows it too.
 */
export class MeasuredClock {
  readonly now: Clock = () => this.local() + this.offsetMs
  private offsetMs = 0
  private measuredAtMs: number | null = null
  private measuring: Promise<void> | undefined

  /** `measure`: the other clock's time now (one round trip). */
  constructor(
    private readonly measure: () => Promise<number>,
    private readonly local: Clock = Date.now,
    private readonly maxAgeMs = MINUTE_MS,
  ) {}

  /** The clock, measured first when it never was or its offset is older than `maxAgeMs` (callers at once share one measure). */
  async fresh(): Promise<Clock> {
    if (this.measuredAtMs === null || this.local() - this.measuredAtMs >= this.maxAgeMs) {
      this.measuring ??= this.remeasure().finally(() => (this.measuring = undefined))
      await this.measuring
    }
    return this.now
  }

  /** The round trip's middle is taken as the moment the other clock was read. */
  private async remeasure(): Promise<void> {
    const before = this.local()
    const otherNow = await this.measure()
    const after = this.local()
    this.offsetMs = otherNow - Math.round((before + after) / 2)
    this.measuredAtMs = after
  }
}
