import {MINUTE_MS} from '../time/units'
import type {AuditOptions, AuditPeriod} from './audit-period'
import {periodsBetween} from './periods'
import type {Schedule} from '../jobs/schedule'
import type {RunSummary, SkippedPeriod} from '../contract/run-types'

/** The most periods one job's audit enumerates (a year of hourly periods). */
const MOST_PERIODS = 10_000

/**
 * A catch-up job's audit, read off its ledger: every period its schedule called for between
 * fromMs and toMs, each with its one record, a run (cron_job_log.period_at) or a skip (cron_skip).
 * A period with neither is missed (unaccounted; still pending within the grace time), and one with
 * two records ran twice. A cron or runAtTimes schedule's periods are its slots; an interval's
 * follow its records (each period one interval after the one before, as its decision counts them),
 * so the gaps between two records are what is missed. A run by hand (no period) is extra.
 */
export function auditLedger(schedule: Schedule, runs: readonly RunSummary[], skips: readonly SkippedPeriod[], fromMs: number, toMs: number, options: AuditOptions): AuditPeriod[] {
  const zone = schedule.timeZone ?? options.timeZone
  const graceMs = options.graceMs ?? 2 * MINUTE_MS
  const runsAt = new Map<number, RunSummary[]>()
  const periods: AuditPeriod[] = []
  for (const run of runs) {
    if (run.periodMs === null || run.periodMs === undefined || run.forced) {
      if (run.startMs >= fromMs && run.startMs <= toMs) periods.push({dueMs: run.startMs, status: 'extra', runs: [run], lateMs: null, slot: run.ranAtTime})
      continue
    }
    runsAt.set(run.periodMs, [...(runsAt.get(run.periodMs) ?? []), run])
  }
  const skipAt = new Map(skips.map((skip) => [skip.periodMs, skip]))
  const expected = new Map<number, string | null>()
  for (const at of [...runsAt.keys(), ...skipAt.keys()]) if (at >= fromMs && at <= toMs) expected.set(at, runsAt.get(at)?.[0].ranAtTime ?? null)
  const pure: Schedule = {...schedule, intervalMs: null}
  if (schedule.cron !== null || schedule.runAtTimes.length > 0) {
    for (const period of periodsBetween(pure, fromMs - 1, toMs, zone, MOST_PERIODS).periods) expected.set(period.ms, period.slot)
  }
  if (schedule.intervalMs !== null && schedule.intervalMs > 0) {
    const records = [...new Set([...runsAt.keys(), ...skipAt.keys()])].sort((a, b) => a - b)
    const intervalOnly: Schedule = {...schedule, cron: null, runAtTimes: []}
    records.forEach((record, i) => {
      const until = i + 1 < records.length ? records[i + 1] - 1 : toMs
      for (const period of periodsBetween(intervalOnly, record, until, zone, MOST_PERIODS).periods) if (period.ms >= fromMs) expected.set(period.ms, null)
    })
  }
  const paused = options.paused?.sinceMs ?? null
  for (const [dueMs, slot] of [...expected].sort((a, b) => a[0] - b[0])) {
    const served = runsAt.get(dueMs) ?? []
    const skip = skipAt.get(dueMs)
    const period: AuditPeriod = {dueMs, status: 'missed', runs: served, lateMs: null, slot}
    if (served.length + (skip ? 1 : 0) > 1) period.status = 'twice'
    else if (skip) Object.assign(period, {status: 'skipped', note: skip.reason})
    else if (served.length === 1) {
      const run = served[0]
      period.lateMs = run.startMs - dueMs
      period.status = run.status === 'succeeded' || run.status === 'running' ? (period.lateMs > graceMs ? 'late' : 'ran') : 'failed'
    } else if (paused !== null && dueMs >= paused) Object.assign(period, {status: 'skipped', note: 'paused'})
    else if (toMs - dueMs <= graceMs) period.status = 'pending'
    else period.note = 'no run and no skip recorded'
    periods.push(period)
  }
  return periods.sort((a, b) => a.dueMs - b.dueMs)
}
