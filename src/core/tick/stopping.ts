import {MINUTE_MS} from '../time/units'
import type {StopStatus} from './outcome'
import type {TickScope} from './tick-scope'
import type {Wait} from './timers'

/** Why a run was asked to stop, and how it is recorded if it does not finish. */
export interface StopRequest {
  status: StopStatus
  why: string
}

/**
 * How one run is asked to stop: by the tick's signal (SIGTERM/SIGINT: interrupted), by its own
 * timeoutMins (timed_out), or by a newer period of its job (cancelled). The first request fires ctx.signal and starts the grace period; when
 * that runs out, `abandoned` resolves and the run is recorded without waiting for do() any longer.
 */
export class RunStop {
  /** ctx.signal. */
  readonly signal: AbortSignal
  /** Resolves when the grace period after a request has run out. */
  readonly abandoned: Promise<{abandoned: StopRequest}>
  private readonly controller = new AbortController()
  private readonly timeout: Wait | null
  private grace: Wait | null = null
  private request: StopRequest | null = null
  private abandon: (request: StopRequest) => void = () => {}

  constructor(
    private readonly scope: Pick<TickScope, 'signal' | 'timers' | 'graceMs' | 'log'>,
    private readonly code: string,
    timeoutMins: number | null,
  ) {
    this.signal = this.controller.signal
    this.abandoned = new Promise((resolve) => (this.abandon = (request) => resolve({abandoned: request})))
    if (scope.signal?.aborted) this.onTickStop()
    scope.signal?.addEventListener('abort', this.onTickStop, {once: true})
    this.timeout = timeoutMins === null ? null : scope.timers.sleep(timeoutMins * MINUTE_MS)
    void this.timeout?.done.then(() => this.stop('timed_out', `timed out after ${timeoutMins} min`))
  }

  /** The request the run was stopped by, or null. */
  get requested(): StopRequest | null {
    return this.request
  }

  /** The run is over: cancel the timers, stop listening to the tick. */
  dispose(): void {
    this.timeout?.cancel()
    this.grace?.cancel()
    this.scope.signal?.removeEventListener('abort', this.onTickStop)
  }

  /** overlap = 'cancelOther': a newer period asks the run to stop (recorded cancelled, however do() ends). */
  cancel(why: string): void {
    this.stop('cancelled', why)
  }

  private readonly onTickStop = () => this.stop('interrupted', `interrupted by ${String(this.scope.signal?.reason ?? 'a signal')}`)

  private stop(status: StopStatus, why: string): void {
    if (this.request) return
    const request = (this.request = {status, why})
    this.controller.abort(new Error(why))
    this.scope.log(this.code, 'warn', `${why}: asked the job to stop (ctx.signal); waiting up to ${this.scope.graceMs / 1000} s`)
    this.grace = this.scope.timers.sleep(this.scope.graceMs)
    void this.grace.done.then(() => this.abandon(request))
  }
}
