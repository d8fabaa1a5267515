import {lazily} from '../base/lazily'
import {usesLedger} from '../jobs/run-policy'
import type {Schedule} from '../jobs/schedule'
import {isLive} from './history'
import {isDue, type DecisionOptions} from './is-due'
import {plainVerdict, type Verdict, type VerdictPolicy} from './verdict-types'
import type {JobHistory} from '../contract/run-types'

export type {Verdict, VerdictPolicy} from './verdict-types'

/** A job's verdict on its history at `nowMs` (see Verdict); a job that keeps a ledger gets its ledger's (ledger-verdict.ts). */
export function verdictOf(schedule: Schedule, policy: VerdictPolicy, history: JobHistory, nowMs: number, options: DecisionOptions): Verdict {
  if (!policy.allowParallelRuns) {
    const run = history.running.find((running) => isLive(running, nowMs))
    if (run) return policy.overlap === 'cancelOther' ? ledgerDecisions().cancelling(schedule, run, history, nowMs, options) : {kind: 'running-elsewhere', run}
  }
  const decision = isDue(schedule, history, nowMs, options)
  // A retry wait holds a catch-up job back as any other; --force runs it whatever its periods say.
  if (usesLedger(policy) && !options.force && !(decision.rule === 'retry' && !decision.due)) return ledgerDecisions().ledgerVerdict(schedule, policy, history, nowMs, options, decision)
  return plainVerdict(decision)
}

/** The ledger's decisions, loaded by the first job that keeps a ledger. */
const ledgerDecisions = lazily(() => require('./ledger-verdict') as typeof import('./ledger-verdict'))
