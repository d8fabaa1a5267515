/**
 * What happens around a run, apart from when it is due (the Schedule): whether runs may overlap,
 * where do() runs, how long it may take, what the log keeps, and when failures pause the job. Validated from the class's options
 * of the same names (see CronJobBase) and passed as one, beside the job's schedule.
 */
export interface RunPolicy {
  /** Overlap: a run may start while another run of the job is live (the claim then guards only the decision). */
  allowParallelRuns: boolean
  /** Isolation: do() runs in a process of its own (CronJobBase.isolate). */
  isolate: boolean
  /** Timeout: minutes before the run's AbortSignal fires (null: no limit). */
  timeoutMins: number | null
  /** Log pruning: after a success, the job's other successful rows are deleted. */
  removeSuccessfulCronLogs: boolean
  /** Catch-up: what becomes of the periods it missed (null: django-cron's rules, no ledger records; see README, "Policies"). */
  catchUp: CatchUp | null
  /** The catch-up window: 'latest' and 'all' run no period older than this (null: no window). */
  catchUpWindowMs: number | null
  /** Limit: the group of the settings' `limits` whose slots its runs share across every server (null: none). */
  limit: string | null
  /** Pause after failures: this many failed runs in a row pause the job until it is resumed by hand (null: never). */
  pauseAfterFailures: number | null
  /** Overlap: what becomes of the periods that fall due while a run is live (null: django-cron's rules; 'allowAll' is allowParallelRuns). */
  overlap: Overlap | null
}

/** What a job does with a period that falls due while it runs (CronJobBase.overlap). */
export type Overlap = 'skip' | 'bufferOne' | 'bufferAll' | 'cancelOther' | 'allowAll'

export const OVERLAP_POLICIES: readonly Overlap[] = ['skip', 'bufferOne', 'bufferAll', 'cancelOther', 'allowAll']

/** Whether the job keeps a period ledger (a catch-up or overlap policy that records skips): its decisions read its hold. */
export function usesLedger(policy: Pick<RunPolicy, 'catchUp' | 'overlap'>): boolean {
  return policy.catchUp !== null || (policy.overlap !== null && policy.overlap !== 'allowAll')
}

/** What a job does with the periods it missed (CronJobBase.catchUp): skip them, run the latest, or run each. */
export type CatchUp = 'none' | 'latest' | 'all'

export const CATCH_UP_POLICIES: readonly CatchUp[] = ['none', 'latest', 'all']

/** The longest limit group's name (cron_limit_slot.name). */
export const MAX_LIMIT_NAME = 191

/** Why a job's run was held back or started late by its limit, as runs and lines say it: 'limit: reports', 'limit: reports (2 running)'. */
export function limitReason(group: string, running?: number): string {
  return `limit: ${group}${running === undefined ? '' : ` (${running} running)`}`
}
