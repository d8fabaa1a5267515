import type {RunPolicy} from '../jobs/run-policy'
import type {Schedule} from '../jobs/schedule'
import {isLive} from './history'
import {isDue, type Decision, type DecisionOptions} from './is-due'
import type {JobHistory, RunSummary} from '../contract/run-types'

/**
 * What one job's history says at `nowMs`, before anything is claimed: a live run of it holds the
 * period (unless its policy allows parallel runs), else its schedule's decision. The tick asks it of its snapshot and
 * again on fresh history once the claim is held; the fast path asks it to see that nothing is due.
 */
export type Verdict =
  | {kind: 'running-elsewhere'; run: RunSummary}
  | {kind: 'due'; decision: Decision}
  | {kind: 'not-due' | 'paused'; decision: Decision}

export function verdictOf(schedule: Schedule, policy: Pick<RunPolicy, 'allowParallelRuns'>, history: JobHistory, nowMs: number, options: DecisionOptions): Verdict {
  if (!policy.allowParallelRuns) {
    const run = history.running.find((running) => isLive(running, nowMs))
    if (run) return {kind: 'running-elsewhere', run}
  }
  const decision = isDue(schedule, history, nowMs, options)
  if (decision.due) return {kind: 'due', decision}
  return {kind: decision.rule === 'paused' ? 'paused' : 'not-due', decision}
}
