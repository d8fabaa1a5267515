import {shown} from '../base/text'
import type {CronJobBase} from '../contract/cron-job-base'
import {MINUTE_MS} from '../time/units'
import {CATCH_UP_POLICIES, MAX_LIMIT_NAME, OVERLAP_POLICIES, type CatchUp, type Overlap, type RunPolicy} from './run-policy'

/** The checks of the policies' options (catch-up, overlap, pause after failures, limit): apart from load-policy.ts, so that a job setting none loads none. */

/** Reports one problem (load-policy.ts's Report). */
type Report = (message: string) => void

type BasePolicy = Pick<RunPolicy, 'allowParallelRuns' | 'isolate' | 'timeoutMins' | 'removeSuccessfulCronLogs'>

/** The whole RunPolicy: the base options and the policies', each problem reported. */
export function withPolicies(base: BasePolicy, job: CronJobBase, error: Report): RunPolicy {
  const overlap = overlapOf(job.overlap, error)
  if (job.allowParallelRuns === true && overlap !== null && overlap !== 'allowAll') error(`allowParallelRuns = true and overlap = '${overlap}' disagree: allowParallelRuns is overlap = 'allowAll'; keep one`)
  const catchUp = catchUpOf(job.catchUp, error)
  const catchUpWindowMs = catchUpWindowOf(job.catchUpWindowMins, catchUp, error)
  const pauseAfterFailures = pauseAfterFailuresOf(job.pauseAfterFailures, error)
  const limit = limitOf(job.limit, error)
  return {...base, allowParallelRuns: base.allowParallelRuns || overlap === 'allowAll', catchUp, catchUpWindowMs, overlap, pauseAfterFailures, limit}
}

function pauseAfterFailuresOf(value: unknown, error: Report): number | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return value
  error(`pauseAfterFailures = ${shown(value)} is not a whole number of failures ≥ 1: use e.g. pauseAfterFailures = 3 (or leave it unset never to pause)`)
  return null
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

/** A group's name; whether the settings define it is checked where jobs and settings meet (project/limits.ts). */
function limitOf(value: unknown, error: Report): string | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'string' && value.trim() !== '' && value.length <= MAX_LIMIT_NAME) return value
  error(`limit = ${shown(value)} is not the name of a limit group (1–${MAX_LIMIT_NAME} characters): use e.g. limit = 'reports', with limits: {reports: 2} in the settings`)
  return null
}
