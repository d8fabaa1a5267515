import type {DecisionOptions} from './is-due'
import type {PauseInfo, RunSummary} from '../contract/run-types'

/** What became of one period the schedule called for. */
export type PeriodStatus = 'ran' | 'late' | 'missed' | 'twice' | 'extra' | 'failed' | 'pending' | 'skipped'

export interface AuditPeriod {
  /** The tick at which the schedule first called for this run (a minute boundary). */
  dueMs: number
  status: PeriodStatus
  /** The runs that served it: one, or more when it ran twice (or was forced again). */
  runs: RunSummary[]
  /** How long after dueMs the first run started. */
  lateMs: number | null
  /** The runAtTimes slot, if the period is one. */
  slot: string | null
  /** For a missed period: why it stopped being due (the next day's slots, a new interval…); for a skipped one, the ledger's reason. */
  note?: string
  /** An interval job served this late: how many whole periods passed with no run before it. */
  missedBefore?: number
}

/** The decision's options from the settings (its zone, the clock-skew allowance: decisionOptions), with the audit's own. */
export interface AuditOptions extends Pick<DecisionOptions, 'timeZone' | 'clockSkewMs'> {
  /** A run starting later than this after its tick is late (default 2 minutes: the crontab's tick and the tick's own time). */
  graceMs?: number
  /** The job's current pause: from then on nothing is called for. */
  paused?: PauseInfo | null
}
