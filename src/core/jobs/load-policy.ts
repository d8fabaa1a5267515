import {lazily} from '../base/lazily'
import {shown} from '../base/text'
import type {CronJobBase} from '../contract/cron-job-base'
import {MAX_TIMER_MS, MINUTE_MS} from '../time/units'
import type {RunPolicy} from './run-policy'

/** Reports one problem of the class being loaded, as one line that names the option, the value and the fix. */
export type Report = (message: string) => void

/** The policies' checks, loaded by the first job that sets one. */
const policyOptions = lazily(() => require('./policy-options') as typeof import('./policy-options'))

/** The class's RunPolicy from its options of the same names, each problem reported (see loadJob). */
export function policyOf(job: CronJobBase, error: Report): RunPolicy {
  const {timeoutMins: timeout, allowParallelRuns: parallel, removeSuccessfulCronLogs: removeSuccesses, isolate: isolated} = job
  const timeoutMins = timeoutOf(timeout, error)
  const allowParallelRuns = flag('allowParallelRuns', parallel, error)
  const removeSuccessfulCronLogs = flag('removeSuccessfulCronLogs', removeSuccesses, error)
  const isolate = flag('isolate', isolated, error)
  // The policies' options: read only for a job that sets one (most set none, and the tick loads none of their checks).
  const set = job.catchUp != null || job.catchUpWindowMins != null || job.overlap != null || job.pauseAfterFailures != null || job.limit != null
  if (set) return policyOptions().withPolicies({allowParallelRuns, isolate, timeoutMins, removeSuccessfulCronLogs}, job, error)
  // A literal, not a spread: V8 copies a spread with more keys after it slowly, and a tick makes one per job.
  return {allowParallelRuns, isolate, timeoutMins, removeSuccessfulCronLogs, catchUp: null, catchUpWindowMs: null, overlap: null, pauseAfterFailures: null, limit: null}
}

function flag(name: 'allowParallelRuns' | 'removeSuccessfulCronLogs' | 'isolate', value: unknown, error: Report): boolean {
  if (value === undefined || value === null) return false
  if (typeof value !== 'boolean') {
    error(`${name} = ${shown(value)} is not true or false`)
    return false
  }
  return value
}

function timeoutOf(timeout: unknown, error: Report): number | null {
  let timeoutMins: number | null = null
  if (timeout !== undefined && timeout !== null) {
    const value = timeout as unknown
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      error(`timeoutMins = ${shown(value)} is not a number of minutes > 0: use e.g. timeoutMins = 30`)
    } else if (value * MINUTE_MS > MAX_TIMER_MS) {
      error(`timeoutMins = ${value} is more than ${Math.floor(MAX_TIMER_MS / MINUTE_MS)} minutes, longer than Node's timers can wait (2^31 − 1 ms): use e.g. timeoutMins = 30`)
    } else timeoutMins = value
  }
  return timeoutMins
}
