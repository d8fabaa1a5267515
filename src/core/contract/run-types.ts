import type {DateTime} from 'luxon'

/**
 * The run log's vocabulary as a job sees it (ctx.previousSuccess, ctx.logger, ctx.runLog), and as
 * every layer above speaks it: the statuses and which of them failed are said here and nowhere else.
 * Types and constants only, so any layer can import it.
 */

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted' | 'timed_out' | 'cancelled'

/** Every status a run-log row can have. */
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'succeeded', 'failed', 'interrupted', 'timed_out', 'cancelled']

/** The statuses a run can end with (every one but 'running'). */
export const ENDED_STATUSES: readonly Exclude<RunStatus, 'running'>[] = ['succeeded', 'failed', 'interrupted', 'timed_out', 'cancelled']

/**
 * The statuses of a run that ended badly: alerts count them, the exit status is 1, crons:clean
 * --keep-failed keeps them. Not 'cancelled': a run stopped by a newer one (overlap = 'cancelOther') did what its policy asks.
 */
export const FAILED_STATUSES: readonly Exclude<RunStatus, 'running' | 'succeeded'>[] = ['failed', 'interrupted', 'timed_out']

export function isRunStatus(value: string): value is RunStatus {
  return (RUN_STATUSES as readonly string[]).includes(value)
}

/** A run that failed, was interrupted or timed out (a word that is no status, e.g. 'not-due', is not). */
export function isFailedStatus(status: string): boolean {
  return (FAILED_STATUSES as readonly string[]).includes(status)
}

/** A finished run as the job sees it (its previous success, for example). */
export interface PastRun {
  id: number
  status: RunStatus
  startTime: DateTime
  endTime: DateTime | null
  ranAtTime: string | null
  message: string | null
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface CronLogger {
  debug(message: string): void
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

/** The part of a run-log row the decision looks at. */
export interface RunSummary {
  id: number
  code: string
  status: RunStatus
  startMs: number
  ranAtTime: string | null
  /** For 'running' rows: the lease the running process keeps renewing. */
  leaseExpiresMs: number | null
  host: string | null
  pid: number | null
  /** When it ended, where the row was read with it (a stuck run is judged by its last success's duration). */
  endMs?: number | null
  /** Started by hand (--force, run now), where the row was read with it: the audit counts it as extra. */
  forced?: boolean
  /** The period it served (cron_job_log.period_at), where the row was read with it: null for a run by hand. */
  periodMs?: number | null
}

/** A whole run-log row. */
export interface RunRow extends RunSummary {
  endMs: number | null
  message: string | null
  /** When its lease was last renewed (the heartbeat_at column). */
  leaseRenewedMs: number | null
  /** It finished after its lease had run out and another process had recorded it interrupted. */
  leaseOverrun: boolean
  /** The version of the code that ran it (MANAGE_VERSION, or package.json's version + the git commit), null when unknown. */
  version: string | null
  /** How long it waited for a free slot of a resident scheduler, or of its limit, after it fell due; null when it started on time. */
  startedLateMs: number | null
  /** What held it back, when it started late for a reason the run log knows ('limit: reports'); null otherwise. */
  lateReason: string | null
}

/** A period that ended without a run, as the period ledger (cron_skip) records it. */
export interface SkippedPeriod {
  id: number
  code: string
  /** The period's instant. */
  periodMs: number
  /** Why: 'catch-up: none', 'paused', 'outside the catch-up window'… */
  reason: string
  recordedMs: number
  host: string | null
  pid: number | null
}

/** What the decision needs of a job's past; rows dated after `now` (beyond the clock-skew allowance) are never in it. */
export interface JobHistory {
  /** The latest run by start time, whatever its status. */
  lastRun: RunSummary | null
  /** The latest successful run by start time. */
  lastSuccess: RunSummary | null
  /** Rows still marked 'running' (live or stale: see isLive). */
  running: RunSummary[]
  /** Successful runs that served a runAtTimes slot in the last two days (enough for "today" in any zone). */
  recentSlotRuns: RunSummary[]
  /**
   * A job with a catch-up policy: the latest period its ledger accounts for (its latest run's period,
   * its latest skip) or its resume, whichever is later; the periods after it are unaccounted.
   */
  heldToMs?: number | null
  /** A job with a catch-up policy: when it was last resumed (the periods before it, not yet accounted for, came while it was paused). */
  resumedMs?: number | null
}

/** A paused job: since when, and by whom (manage crons:pause). */
export interface PauseInfo {
  sinceMs: number | null
  by: string | null
  /** Why, as the pause that paused it said (crons:pause --note, the dashboard); absent when it gave none. */
  note?: string
}

export interface HistoryOptions {
  /** Only these jobs. */
  codes?: readonly string[]
  /** The lease clock's now (a real clock; default `nowMs`), to tell live leases. */
  leaseNowMs?: number
  /** Runs that start up to this long after `nowMs` still count (the clock-skew allowance). */
  skewMs?: number
}

/**
 * The run log as a job sees it (ctx.runLog): what it says, and trimming it. A housekeeping job
 * (a report, a clean-up) needs no more; the runner's own writes (claims, running rows, outcomes,
 * pauses) are not part of it.
 */
export interface RunLogView {
  /** Every job's history at `nowMs`, in one statement. */
  histories(nowMs: number, options?: HistoryOptions): Promise<Map<string, JobHistory>>
  getRun(id: number): Promise<RunRow | null>
  getRuns(ids: readonly number[]): Promise<RunRow[]>
  /** The log, newest first, optionally for one job and one status. */
  listRuns(query: {code?: string; status?: RunStatus; limit: number}): Promise<RunRow[]>
  /** The paused jobs, by code. */
  pausedJobs(): Promise<Map<string, PauseInfo>>
  /** Delete rows started before `cutoffMs`, never a 'running' one; with dryRun, only count them. */
  deleteRunsBefore(cutoffMs: number, options?: {keepFailed?: boolean; code?: string; dryRun?: boolean}): Promise<number>
}
