import {endedBadly} from './history'
import {missedAfterMs, periodsBetween, type Period, type PeriodsFound} from './periods'
import {DAY_MS} from '../time/units'
import type {CatchUp} from '../jobs/run-policy'
import type {Schedule} from '../jobs/schedule'
import type {JobHistory} from '../contract/run-types'

/** A period closed without a run, and why, as the ledger (cron_skip) records it. */
export interface Skip {
  ms: number
  slot: string | null
  reason: string
}

/** What the catch-up policy does now: record these periods as skipped (oldest first), then run `run`, if any. */
export interface CatchUpAnswer {
  run: Period | null
  skips: Skip[]
}

/** 'all' runs at most this many missed periods of one gap (the latest ones), as Kubernetes gives up past 100 missed. */
export const CATCH_UP_MOST = 100
/** The most periods one decision accounts for: a longer gap is recorded over the next decisions, oldest first. */
export const PERIODS_PER_DECISION = 500

export const OUTSIDE_WINDOW = 'outside the catch-up window'

/**
 * The periods a catch-up job has not accounted for at `nowMs`: those its schedule called for since
 * the latest period accounted (`history.heldToMs`: its latest run's period, its latest skip, or its
 * resume), and before them the period of a failed run that retryAfterFailureMins retries. null when
 * nothing anchors it yet (a first run, which isDue decides).
 */
export function unaccountedPeriods(schedule: Schedule, history: JobHistory, nowMs: number, zone: string): PeriodsFound | null {
  const held = history.heldToMs ?? null
  if (held === null) return null
  const found = periodsBetween(schedule, held, nowMs, zone, PERIODS_PER_DECISION)
  const last = history.lastRun
  if (schedule.retryAfterFailureMins && last !== null && last.periodMs === held && endedBadly(last, nowMs)) {
    return {periods: [{ms: held, slot: last.ranAtTime}, ...found.periods], more: found.more}
  }
  return found
}

/**
 * The policy's answer on the unaccounted periods (oldest first), or null when there are none. A
 * period is missed once it waited longer than a tick (missedAfterMs); the window (catchUpWindowMins)
 * bounds how old a period 'latest' and 'all' still run.
 * - none: every missed period is skipped; the latest runs only when it is not missed yet.
 * - latest: the latest period runs (late or not), the ones before it are skipped.
 * - all: each runs, oldest first, one per decision; past the latest CATCH_UP_MOST they are skipped.
 */
export function catchUpAnswer(schedule: Schedule, catchUp: CatchUp, windowMs: number | null, found: PeriodsFound, nowMs: number): CatchUpAnswer | null {
  const {periods, more} = found
  if (periods.length === 0) return null
  const skips: Skip[] = []
  const skip = (period: Period, reason: string) => skips.push({ms: period.ms, slot: period.slot, reason})
  const outside = (period: Period) => catchUp !== 'none' && windowMs !== null && nowMs - period.ms > windowMs
  const policyReason = catchUp === 'all' ? `catch-up: more than ${CATCH_UP_MOST} missed` : `catch-up: ${catchUp}`
  // More periods than one decision records: the latest is later still, so these are skipped whatever the policy.
  if (more) {
    for (const period of periods) skip(period, outside(period) ? OUTSIDE_WINDOW : policyReason)
    return {run: null, skips}
  }
  const inside = periods.filter((period) => !outside(period))
  for (const period of periods) if (outside(period)) skip(period, OUTSIDE_WINDOW)
  if (inside.length === 0) return {run: null, skips}
  const latest = inside[inside.length - 1]
  switch (catchUp) {
    case 'none': {
      const missed = nowMs - latest.ms > missedAfterMs(schedule)
      for (const period of missed ? inside : inside.slice(0, -1)) skip(period, 'catch-up: none')
      return {run: missed ? null : latest, skips}
    }
    case 'latest':
      for (const period of inside.slice(0, -1)) skip(period, 'catch-up: latest')
      return {run: latest, skips}
    default: {
      const beyond = Math.max(0, inside.length - CATCH_UP_MOST)
      for (const period of inside.slice(0, beyond)) skip(period, policyReason)
      return {run: inside[beyond], skips}
    }
  }
}

/**
 * When a catch-up job that is not due at `nowMs` next has a period: the first one after its hold
 * (null: none within 400 days). A resident scheduler wakes for it; isDue's next-due search would
 * read the job's runs, not its ledger.
 */
export function nextPeriodMs(schedule: Schedule, heldToMs: number, nowMs: number, zone: string): number | null {
  // Not due: no period came between the hold and now, so the first after the hold is the next.
  const [next] = periodsBetween(schedule, heldToMs, nowMs + 400 * DAY_MS, zone, 1).periods
  return next === undefined ? null : Math.max(next.ms, nowMs + 1)
}
