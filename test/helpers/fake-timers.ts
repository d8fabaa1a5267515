import {expect} from 'chai'
import type {SchedulerTimers} from '../../src/core/runners/scheduler'

/** Timers a test fires by hand: at most one armed at a time is what the scheduler promises. */
export class FakeTimers implements SchedulerTimers {
  armed = new Map<number, {fn: () => void; ms: number}>()
  private next = 1
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++
    this.armed.set(id, {fn, ms})
    return id
  }
  clearTimeout(handle: unknown): void {
    this.armed.delete(handle as number)
  }
  /** The one armed timer's delay. */
  get delay(): number {
    expect(this.armed.size).to.equal(1)
    return [...this.armed.values()][0]!.ms
  }
  fire(): void {
    expect(this.armed.size).to.equal(1)
    const [[id, timer]] = [...this.armed]
    this.armed.delete(id)
    timer.fn()
  }
}
