import type {LoadedJob} from '../jobs/load-jobs'
import {isLive, type JobHistory, type RunSummary} from './history'
import {isDue, type Decision, type DecisionOptions} from './is-due'

/**
 * What one job's history says at `nowMs`, before anything is claimed: a live run of it holds the
 * period (unless it allows parallel runs), else the decision. The tick asks it of its snapshot and
 * again on fresh history once the claim is held; the fast path asks it to see that nothing is due.
 */
export type Verdict =
  | {kind: 'running-elsewhere'; run: RunSummary}
  | {kind: 'due'; decision: Decision}
  | {kind: 'not-due' | 'paused'; decision: Decision}

export function verdictOf(job: LoadedJob, history: JobHistory, nowMs: number, options: DecisionOptions): Verdict {
  if (!job.schedule.allowParallelRuns) {
    const run = history.running.find((running) => isLive(running, nowMs))
    if (run) return {kind: 'running-elsewhere', run}
  }
  const decision = isDue(job.schedule, history, nowMs, options)
  if (decision.due) return {kind: 'due', decision}
  return {kind: decision.rule === 'paused' ? 'paused' : 'not-due', decision}
}
