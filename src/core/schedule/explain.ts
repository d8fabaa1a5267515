import type {Schedule} from '../jobs/schedule'
import type {DecisionOptions, RuleStep} from './is-due'
import {nextPeriodMs} from './catch-up'
import {nextDue} from './next-due'
import {verdictOf, type VerdictPolicy, type Verdict} from './verdict'
import type {JobHistory, PauseInfo, RunSummary} from '../contract/run-types'

/** Why a job is, or is not, due at one time: `manage why`. */
export interface Explanation {
  code: string
  atMs: number
  /** The answer, as a tick would give it. */
  verdict: Verdict['kind']
  /** The answer in words (the deciding rule's reason, or who is running it). */
  reason: string
  /** Each rule in the order the decision checks them, up to the one that answered. */
  steps: RuleStep[]
  /** The run-log rows the decision looked at (newest first). */
  rows: RunSummary[]
  /** A live run of it elsewhere, when that is the answer. */
  running: RunSummary | null
  paused: PauseInfo | null
  /** When a tick would next run it, if it is not due now (null: paused, unscheduled, or beyond 400 days). */
  nextDueMs: number | null
}

/** The job asked about: its code, when it is due, and the policy the decision reads (overlap). */
export interface ExplainedJob {
  code: string
  schedule: Schedule
  policy: VerdictPolicy
}

/**
 * The decision runcrons would make for `job` at `atMs` on this history (verdictOf and isDue
 * themselves, traced), with the rows it used and, when the answer is "not yet", when it would be due.
 */
export function explainJob(job: ExplainedJob, history: JobHistory, paused: PauseInfo | null, atMs: number, options: Omit<DecisionOptions, 'paused' | 'trace'>): Explanation {
  const steps: RuleStep[] = []
  const verdict = verdictOf(job.schedule, job.policy, history, atMs, {...options, paused, trace: (step) => steps.push(step)})
  const reason =
    verdict.kind === 'running-elsewhere'
      ? `running elsewhere: run ${verdict.run.id} on ${verdict.run.host ?? 'an unknown host'}, pid ${verdict.run.pid ?? '?'}, lease until ${new Date(verdict.run.leaseExpiresMs ?? 0).toISOString()}`
      : verdict.decision.reason
  // A policy job's next period comes after its ledger's hold, not after its runs.
  const held = history.heldToMs ?? null
  const next = verdict.kind !== 'not-due' ? null : held !== null ? nextPeriodMs(job.schedule, held, atMs, job.schedule.timeZone ?? options.timeZone) : (nextDue(job.schedule, history, atMs, {...options, paused})?.atMs ?? null)
  return {
    code: job.code,
    atMs,
    verdict: verdict.kind,
    reason,
    steps,
    rows: rowsOf(history),
    running: verdict.kind === 'running-elsewhere' ? verdict.run : null,
    paused,
    nextDueMs: next,
  }
}

function rowsOf(history: JobHistory): RunSummary[] {
  const byId = new Map<number, RunSummary>()
  for (const run of [history.lastRun, history.lastSuccess, ...history.running, ...history.recentSlotRuns]) if (run) byId.set(run.id, run)
  return [...byId.values()].sort((a, b) => b.startMs - a.startMs || b.id - a.id)
}
