import {instantOfNaive, naiveMs, nextSlot} from '../time/cron-expression'
import {luxon} from '../time/luxon'
import {MINUTE_MS} from '../time/units'
import type {Schedule} from '../jobs/schedule'

/** One period a schedule calls for: its instant (the cron or runAtTimes slot, the interval's end) and, for a runAtTimes slot, its name. */
export interface Period {
  ms: number
  slot: string | null
}

/** The periods found, oldest first, and whether more came after the last one (the search stopped at `limit`). */
export interface PeriodsFound {
  periods: Period[]
  more: boolean
}

/**
 * Every period the schedule calls for after `afterMs`, up to `nowMs`, oldest first, at most `limit`
 * of them: what a catch-up policy accounts for and the audit expects, one record each. The rules
 * are the decision's (isDue), each period on its own:
 * - an interval's periods are `afterMs` plus whole intervals, each called for once `now` plus
 *   runToleranceSeconds has passed it (as isDue's interval rule);
 * - a cron expression's slots and the runAtTimes of every day, read on the zone's wall clock (a
 *   slot in a spring-forward gap comes at the jump, a slot in a repeated hour once);
 * - none on a day the day filters exclude.
 * Several rules together call for the union of their periods (one period per instant).
 */
export function periodsBetween(schedule: Schedule, afterMs: number, nowMs: number, zone: string, limit: number): PeriodsFound {
  const ownZone = schedule.timeZone ?? zone
  const found = new Map<number, Period>()
  // Each rule stops at limit + 1 periods: the union's first `limit` are then the union's oldest.
  const enough = limit + 1
  if (schedule.intervalMs !== null && schedule.intervalMs > 0) {
    const horizon = nowMs + schedule.runToleranceSeconds * 1000
    for (let at = afterMs + schedule.intervalMs, n = 0; at < horizon && n < enough; at += schedule.intervalMs) {
      if (onAllowedDay(schedule, at, ownZone)) {
        found.set(at, found.get(at) ?? {ms: at, slot: null})
        n++
      }
    }
  }
  if (schedule.cron !== null) {
    const until = naiveMs(nowMs, ownZone)
    for (let naive = nextSlot(schedule.cron, naiveMs(afterMs, ownZone)), n = 0; naive !== null && naive <= until && n < enough; naive = nextSlot(schedule.cron, naive)) {
      const at = instantOfNaive(naive, ownZone)
      if (at > afterMs && at <= nowMs && onAllowedDay(schedule, at, ownZone)) {
        if (!found.has(at)) found.set(at, {ms: at, slot: null})
        n++
      }
    }
  }
  if (schedule.runAtTimes.length > 0) slotPeriods(schedule, afterMs, nowMs, ownZone, enough, found)
  const periods = [...found.values()].sort((a, b) => a.ms - b.ms)
  return {periods: periods.slice(0, limit), more: periods.length > limit}
}

/** runAtTimes: each day's slots from the day of `afterMs` to today's, in the zone. */
function slotPeriods(schedule: Schedule, afterMs: number, nowMs: number, zone: string, enough: number, found: Map<number, Period>): void {
  const {DateTime} = luxon()
  let n = 0
  for (let day = DateTime.fromMillis(afterMs, {zone}).startOf('day'); day.toMillis() <= nowMs && n < enough; day = day.plus({days: 1})) {
    const dayNaive = naiveMs(day.toMillis(), zone)
    for (const {slot, minuteOfDay} of schedule.runAtTimes) {
      const at = instantOfNaive(dayNaive + minuteOfDay * MINUTE_MS, zone)
      if (at <= afterMs || at > nowMs || !onAllowedDay(schedule, at, zone)) continue
      // A slot is its own period even when a cron slot shares its instant: it is named.
      found.set(at, {ms: at, slot})
      n++
    }
  }
}

/** Whether the day filters (runMonthlyOnDays, runWeeklyOnDays) let the job run on the day of `ms`, in the zone. */
function onAllowedDay(schedule: Schedule, ms: number, zone: string): boolean {
  if (schedule.runMonthlyOnDays === null && schedule.runWeeklyOnDays === null) return true
  const local = luxon().DateTime.fromMillis(ms, {zone})
  if (schedule.runMonthlyOnDays !== null && !schedule.runMonthlyOnDays.includes(local.day)) return false
  return schedule.runWeeklyOnDays === null || schedule.runWeeklyOnDays.includes(local.weekday - 1)
}

/** How long a period may wait before it is missed: longer than the gap to the next tick (see README, "Policies"). */
export function missedAfterMs(schedule: Schedule): number {
  return MINUTE_MS + schedule.runToleranceSeconds * 1000
}

/** The minute boundary at or before `ms`: a first run's period, which no earlier run anchors. */
export function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS
}
