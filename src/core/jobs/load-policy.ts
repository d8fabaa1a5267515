import {shown} from '../base/text'
import {MAX_TIMER_MS, MINUTE_MS} from '../time/units'
import type {CronJobBase} from '../contract/cron-job-base'
import {CATCH_UP_POLICIES, OVERLAP_POLICIES, type CatchUp, type Overlap, type RunPolicy} from './run-policy'

/** Reports one problem of the class being loaded, as one line that names the option, the value and the fix. */
export type Report = (message: string) => void

/** The class's RunPolicy from its options of the same names, each problem reported (see loadJob). */
export function policyOf(job: CronJobBase, error: Report): RunPolicy {
  const {timeoutMins: timeout, allowParallelRuns: parallel, removeSuccessfulCronLogs: removeSuccesses, isolate: isolated} = job
  const timeoutMins = timeoutOf(timeout, error)
  const overlap = overlapOf(job.overlap, error)
  const allowParallelRuns = flag('allowParallelRuns', parallel, error) || overlap === 'allowAll'
  if (parallel === true && overlap !== null && overlap !== 'allowAll') error(`allowParallelRuns = true and overlap = '${overlap}' disagree: allowParallelRuns is overlap = 'allowAll'; keep one`)
  const removeSuccessfulCronLogs = flag('removeSuccessfulCronLogs', removeSuccesses, error)
  const isolate = flag('isolate', isolated, error)
  const catchUp = catchUpOf(job.catchUp, error)
  const catchUpWindowMs = catchUpWindowOf(job.catchUpWindowMins, catchUp, error)
  const pauseAfterFailures = pauseAfterFailuresOf(job.pauseAfterFailures, error)
  const limit = limitOf(job.limit, error)
  return {allowParallelRuns, isolate, timeoutMins, removeSuccessfulCronLogs, catchUp, catchUpWindowMs, overlap, pauseAfterFailures, limit}
}

function pauseAfterFailuresOf(value: unknown, error: Report): number | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return value
  error(`pauseAfterFailures = ${shown(value)} is not a whole number of failures ≥ 1: use e.g. pauseAfterFailures = 3 (or leave it unset never to pause)`)
  return null
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

function catchUpOf(value: unknown, error: Report): CatchUp | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'string' && (CATCH_UP_POLICIES as readonly string[]).includes(value)) return value as CatchUp
  error(`catchUp = ${shown(value)} is not a catch-up policy: use 'none' (skip missed periods), 'latest' (run the latest once) or 'all' (run each, oldest first)`)
  return null
}

function catchUpWindowOf(value: unknown, catchUp: CatchUp | null, error: Report): number | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    error(`catchUpWindowMins = ${shown(value)} is not a number of minutes > 0: use e.g. catchUpWindowMins = 180`)
    return null
  }
  if (catchUp !== 'latest' && catchUp !== 'all') {
    error(`catchUpWindowMins = ${value} needs catchUp = 'latest' or 'all' (the periods it may still run): set one, or drop catchUpWindowMins`)
    return null
  }
  return value * MINUTE_MS
}

function overlapOf(value: unknown, error: Report): Overlap | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'string' && (OVERLAP_POLICIES as readonly string[]).includes(value)) return value as Overlap
  error(`overlap = ${shown(value)} is not an overlap policy: use 'skip', 'bufferOne', 'bufferAll', 'cancelOther' or 'allowAll'`)
  return null
}

/** The longest group name (cron_limit_slot.name). */
export const MAX_LIMIT_NAME = 191

/** A group's name; whether the settings define it is checked where jobs and settings meet (project/limits.ts). */
function limitOf(value: unknown, error: Report): string | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'string' && value.trim() !== '' && value.length <= MAX_LIMIT_NAME) return value
  error(`limit = ${shown(value)} is not the name of a limit group (1–${MAX_LIMIT_NAME} characters): use e.g. limit = 'reports', with limits: {reports: 2} in the settings`)
  return null
}
