import type {RunPolicy} from '../jobs/run-policy'
import type {Skip} from './catch-up'
import type {Decision} from './is-due'
import type {Period} from './periods'
import type {RunSummary} from '../contract/run-types'

/**
 * What one job's history says at `nowMs`, before anything is claimed: a live run of it holds the
 * period (unless its policy allows parallel runs), else its schedule's decision, and for a job with
 * a catch-up policy what that policy does with the periods not accounted for: run one (`period`,
 * after recording `skips`), or only record skips. The tick asks it of its snapshot and again on
 * fresh history once the claim is held; the fast path asks it to see that nothing is due.
 */
export type Verdict =
  /** `cancelFor`: overlap = 'cancelOther', and a newer period (this instant) has come: the live run is to be asked to stop. */
  | {kind: 'running-elsewhere'; run: RunSummary; cancelFor?: number}
  | {kind: 'due'; decision: Decision; period?: Period; skips?: Skip[]}
  | {kind: 'not-due' | 'paused'; decision: Decision}
  | {kind: 'skip'; decision: Decision; skips: Skip[]}

export type VerdictPolicy = Pick<RunPolicy, 'allowParallelRuns' | 'catchUp' | 'catchUpWindowMs' | 'overlap'>

/** A decision as a verdict, for the period it serves when it has one. */
export function plainVerdict(decision: Decision, period?: Period): Verdict {
  if (decision.due) return period ? {kind: 'due', decision, period} : {kind: 'due', decision}
  return {kind: decision.rule === 'paused' ? 'paused' : 'not-due', decision}
}
