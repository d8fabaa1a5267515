import {isTransient} from '../db/database'
import type {Timers} from './timers'

export interface RetryPolicy {
  /** How long to keep trying, in all. */
  budgetMs: number
  timers: Timers
  /** Told of each failure that will be tried again. */
  onRetry?(error: unknown, waitMs: number): void
}

const FIRST_WAIT_MS = 100
const LONGEST_WAIT_MS = 5000

/**
 * `attempt`, tried again while it fails for a reason that may pass (a lost connection, a busy or
 * full sqlite file: see isTransient), waiting longer each time, for at most the policy's budget.
 * Any other failure, or the last one, is thrown.
 */
export async function retrying<T>(attempt: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  const started = Date.now()
  for (let wait = FIRST_WAIT_MS; ; wait = Math.min(wait * 2, LONGEST_WAIT_MS)) {
    try {
      return await attempt()
    } catch (error) {
      const left = policy.budgetMs - (Date.now() - started)
      if (!isTransient(error) || left <= 0) throw error
      const waitMs = Math.min(wait, left)
      policy.onRetry?.(error, waitMs)
      await policy.timers.sleep(waitMs).done
    }
  }
}
