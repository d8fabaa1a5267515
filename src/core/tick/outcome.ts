import {isFailedStatus, type RunSummary} from '../contract/run-types'
import type {LoadedJob, Problem} from '../jobs/load-jobs'
import type {LockHolder} from '../run-log/job-lock'
import type {Decision} from '../schedule/is-due'
import type {Verdict} from '../schedule/verdict'

interface OutcomeBase {
  code: string
  className: string
  /** The period a run of a job that keeps a ledger served (its catch-up turns go on only while a later one has come). */
  periodMs?: number
  /** The database could not take the run's outcome: it waits in this spool file for the next tick (the tick fails). */
  spooled?: string
}

/** How a run that was asked to stop is recorded: stopped by SIGTERM/SIGINT, by its timeoutMins, or by a newer period (overlap = 'cancelOther'). */
export type StopStatus = 'interrupted' | 'timed_out' | 'cancelled'

/** What happened to one job in a tick. */
export type Outcome =
  | (OutcomeBase & {kind: 'succeeded'; runId: number; message: string | null; startMs: number; endMs: number; slot: string | null})
  | (OutcomeBase & {kind: 'failed'; runId: number; error: unknown; message: string; startMs: number; endMs: number; slot: string | null})
  /** Recorded so, claim released; `abandoned` when it ignored ctx.signal past the grace period. */
  | (OutcomeBase & {kind: StopStatus; runId: number; message: string; startMs: number; endMs: number; slot: string | null; abandoned: boolean})
  | (OutcomeBase & {kind: 'not-due'; reason: string})
  /** A catch-up job's periods recorded as skipped (cron_skip), with their reasons; nothing ran. */
  | (OutcomeBase & {kind: 'skipped'; reason: string; periods: number})
  | (OutcomeBase & {kind: 'paused'; reason: string})
  | (OutcomeBase & {kind: 'would-run'; reason: string; slot: string | null})
  | (OutcomeBase & {kind: 'running-elsewhere'; sinceMs: number | null; host: string | null; pid: number | null})
  /** Due, but every slot of its limit was taken (`running` runs of the group at once): not run, it stays due. */
  | (OutcomeBase & {kind: 'limited'; group: string; running: number; reason: string})
  /** A parallel job whose short decision claim another process held: that process decides this period. */
  | (OutcomeBase & {kind: 'claimed-elsewhere'; host: string | null; pid: number | null})

/** The outcome of a job that ran: recorded in the run log with its status and message. */
export type RunOutcome = Extract<Outcome, {runId: number}>

export interface TickReport {
  outcomes: Outcome[]
  problems: Problem[]
  /** 0 when nothing failed; 1 when a job failed, timed out or was interrupted, a class could not run, or a spooled outcome had to be set aside. */
  exitCode: number
  /** Set when options.signal stopped the tick: its reason (e.g. 'SIGTERM'). */
  stoppedBy: string | null
  /** True when a job was abandoned (it ignored its AbortSignal past the grace period) and may still be running in this process. */
  abandoned: boolean
}

/** The tick's exit status: 1 when a job failed, timed out or was interrupted, or a class could not run. */
export function exitCodeOf(outcomes: readonly Outcome[], problems: readonly Problem[]): number {
  return outcomes.some((outcome) => isFailedStatus(outcome.kind) || outcome.spooled !== undefined) || problems.some((problem) => problem.level === 'error') ? 1 : 0
}

/** A job not started on its verdict. Reasons are words for people, made only when read (-v 2, --dry-run). */
export function notStarted(job: LoadedJob, verdict: Exclude<Verdict, {kind: 'due'}>): Outcome {
  if (verdict.kind === 'running-elsewhere') return runningElsewhere(job, verdict.run, null)
  const {decision} = verdict
  return {
    // Periods to skip that were not recorded (a dry run): nothing more than not due.
    kind: verdict.kind === 'skip' ? 'not-due' : verdict.kind,
    code: job.code,
    className: job.className,
    get reason() {
      return decision.reason
    },
  }
}

/** --dry-run: what would run, and why. */
export function wouldRun(job: LoadedJob, decision: Decision): Outcome {
  return {
    kind: 'would-run',
    code: job.code,
    className: job.className,
    slot: decision.slot,
    get reason() {
      return decision.reason
    },
  }
}

/** A live run elsewhere, as the run log shows it, or else as its claim's holder does. */
export function runningElsewhere(job: LoadedJob, run: RunSummary | null, holder: LockHolder | null): Outcome {
  return {
    kind: 'running-elsewhere',
    code: job.code,
    className: job.className,
    sinceMs: run?.startMs ?? holder?.lockedMs ?? null,
    host: run?.host ?? holder?.host ?? null,
    pid: run?.pid ?? holder?.pid ?? null,
  }
}
