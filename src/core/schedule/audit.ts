import {MINUTE_MS} from '../time/units'
import {SLOT_WINDOW_MS} from './history'
import {isDue, type DecisionOptions} from './is-due'
import type {Schedule} from '../jobs/schedule'
import type {JobHistory, PauseInfo, RunSummary, SkippedPeriod} from '../contract/run-types'
import {auditLedger} from './ledger-audit'
import type {AuditOptions, AuditPeriod} from './audit-period'

export type {AuditOptions, AuditPeriod, PeriodStatus} from './audit-period'

/**
 * Every period the schedule called for between fromMs and toMs, against the runs recorded: the
 * decision runcrons uses (isDue itself) asked at every crontab tick, on the history as it stood
 * then. A call is served by the first run that starts after it (late when past the grace time); a
 * call that stops being due without a run is missed (a slot whose day ended, say), and an interval
 * job's call served a whole interval late missed the periods in between; a second run for one
 * call ran twice, and a run that nothing called for is extra (a clock jump). A run started by hand
 * (forced) serves the open call, if any, else is extra: never a period run twice. DST days need nothing special:
 * the ticks are real minutes and the decision reads the wall clock in the job's zone.
 */
export function auditJob(schedule: Schedule, runs: readonly RunSummary[], fromMs: number, toMs: number, options: AuditOptions): AuditPeriod[] {
  const graceMs = options.graceMs ?? 2 * MINUTE_MS
  const sorted = [...runs].sort((a, b) => a.startMs - b.startMs || a.id - b.id)
  const history = new GrowingHistory()
  const periods: AuditPeriod[] = []
  let open: AuditPeriod | null = null
  let next = 0
  // The last period a run served, until the next one opens: another run for it ran twice.
  let served: AuditPeriod | null = null
  // The runs that started before `untilMs` serve the open call, or ran when nothing was called for.
  const take = (untilMs: number) => {
    for (; next < sorted.length && sorted[next].startMs < untilMs; next++) {
      const run = sorted[next]
      history.add(run)
      if (run.startMs < fromMs) continue
      if (open !== null) {
        serve(open, run)
        served = open
        open = null
      } else if (served !== null && !run.forced) {
        served.runs.push(run)
        served.status = 'twice'
      } else periods.push({dueMs: run.startMs, status: 'extra', runs: [run], lateMs: null, slot: run.ranAtTime})
    }
  }
  const serve = (period: AuditPeriod, run: RunSummary) => {
    period.runs.push(run)
    period.lateMs = run.startMs - period.dueMs
    period.status = run.status === 'succeeded' || run.status === 'running' ? (period.lateMs > graceMs ? 'late' : 'ran') : 'failed'
    const every = schedule.intervalMs ?? 0
    if (every > 0 && period.lateMs >= every) period.missedBefore = Math.floor(period.lateMs / every)
  }
  for (let tick = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS; tick <= toMs; tick += MINUTE_MS) {
    take(tick)
    const paused = options.paused && options.paused.sinceMs !== null && tick >= options.paused.sinceMs ? options.paused : null
    const decision = isDue(schedule, history.at(tick), tick, {timeZone: options.timeZone, clockSkewMs: options.clockSkewMs, paused})
    if (decision.due && open === null) {
      open = {dueMs: tick, status: 'pending', runs: [], lateMs: null, slot: decision.slot}
      periods.push(open)
      served = null
    } else if (!decision.due && open !== null) {
      open.status = 'missed'
      open.note = decision.reason
      open = null
    }
    // Not due before a known time (an interval, a retry wait): the ticks until then cannot call for a run.
    if (!decision.due && decision.notBeforeMs !== undefined && decision.notBeforeMs > tick) tick = Math.floor(decision.notBeforeMs / MINUTE_MS) * MINUTE_MS
  }
  take(toMs + 1)
  // A call still open at the end: missed once its grace time has passed, else still pending.
  if (open !== null && toMs - open.dueMs > graceMs) open.status = 'missed'
  return periods.filter((period) => period.dueMs >= fromMs || period.runs.length > 0)
}

/** The history the decision needs, grown one run at a time in start order (historyFromRuns' rules, incrementally). */
class GrowingHistory {
  private lastRun: RunSummary | null = null
  private lastSuccess: RunSummary | null = null
  private slotRuns: RunSummary[] = []

  add(run: RunSummary): void {
    this.lastRun = run
    if (run.status === 'succeeded') {
      this.lastSuccess = run
      if (run.ranAtTime !== null) this.slotRuns.push(run)
    }
  }

  at(nowMs: number): JobHistory {
    this.slotRuns = this.slotRuns.filter((run) => run.startMs >= nowMs - SLOT_WINDOW_MS)
    // Finished runs only: the audit looks back, when every run has its final status.
    return {lastRun: this.lastRun, lastSuccess: this.lastSuccess, running: [], recentSlotRuns: this.slotRuns}
  }
}

/** A job's numbers: the text and the JSON of `manage audit` both show these, and only these. */
export interface AuditCounts {
  /** Every period the schedule called for: ran + late + missed + twice + failed + pending + skipped (extra runs are no period). */
  periods: number
  ran: number
  late: number
  /** Missed periods, those before a late interval run included. */
  missed: number
  twice: number
  failed: number
  pending: number
  /** Periods the ledger records as skipped, with a reason (a catch-up job's): accounted for, not missed. */
  skipped: number
  extra: number
  /** The worst lateness among the runs that served their period. */
  maxLateMs: number
}

export function countPeriods(periods: readonly AuditPeriod[]): AuditCounts {
  const counts = {ran: 0, late: 0, missed: 0, twice: 0, failed: 0, pending: 0, skipped: 0, extra: 0}
  let maxLateMs = 0
  for (const period of periods) {
    counts[period.status]++
    counts.missed += period.missedBefore ?? 0
    if (period.lateMs !== null && period.status !== 'extra') maxLateMs = Math.max(maxLateMs, period.lateMs)
  }
  const {ran, late, missed, twice, failed, pending, skipped} = counts
  return {periods: ran + late + missed + twice + failed + pending + skipped, ...counts, maxLateMs}
}

/** One job's audit, as the command shows it. */
export interface JobAudit {
  /** Where it starts: the window's start, or the minute of the job's first run when that came later. */
  fromMs: number
  /** No run recorded by the window's end: a job not deployed yet, or never run; nothing is counted. */
  neverRan: boolean
  periods: AuditPeriod[]
  counts: AuditCounts
  /** A period was missed or ran twice: the audit exits 1. */
  bad: boolean
}

/**
 * auditJob (or, for a catch-up job, given its skips as `ledger`, auditLedger) over the part of the window the job existed in: from its first run (the start of its
 * first row in the log, `firstRunMs`; default the earliest of `runs`), so a job deployed an hour
 * ago is not reported missing for the day before. A job with no run at all is said once.
 */
export function auditJobSince(schedule: Schedule, runs: readonly RunSummary[], fromMs: number, toMs: number, options: AuditOptions & {firstRunMs?: number | null; ledger?: readonly SkippedPeriod[]}): JobAudit {
  const firstRunMs = options.firstRunMs !== undefined ? options.firstRunMs : runs.reduce<number | null>((first, run) => (first === null || run.startMs < first ? run.startMs : first), null)
  if (firstRunMs === null || firstRunMs > toMs) return {fromMs, neverRan: true, periods: [], counts: countPeriods([]), bad: false}
  const startMs = Math.max(fromMs, Math.floor(firstRunMs / MINUTE_MS) * MINUTE_MS)
  // A catch-up job's periods are read off its ledger; any other job's decisions are replayed.
  const periods = options.ledger ? auditLedger(schedule, runs, options.ledger, startMs, toMs, options) : auditJob(schedule, runs, startMs, toMs, options)
  const counts = countPeriods(periods)
  return {fromMs: startMs, neverRan: false, periods, counts, bad: counts.missed > 0 || counts.twice > 0}
}
