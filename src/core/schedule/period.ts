import {instantOfNaive, naiveMs, nextSlot, slotsPerMinute} from '../time/cron-expression'
import {MINUTE_MS, nextMinute} from '../time/units'
import type {Schedule} from '../jobs/schedule'

/** Each six-field expression's answer, parsed once: a scheduler asks at every wake. */
const subMinuteCrons = new Map<string, boolean>()

/**
 * Whether the schedule asks for more than one run a minute (runEverySeconds below 60, a six-field
 * cron firing more than once a minute): more than the crontab tick can give.
 */
export function isSubMinute(schedule: Schedule): boolean {
  if (subMinuteInterval(schedule) !== null) return true
  const cron = schedule.cron
  if (cron === null) return false
  let answer = subMinuteCrons.get(cron)
  if (answer === undefined) subMinuteCrons.set(cron, (answer = slotsPerMinute(cron) > 1))
  return answer
}

/** The schedule's interval when it is below a minute (runEverySeconds < 60), else null. */
export function subMinuteInterval(schedule: Schedule): number | null {
  const interval = schedule.intervalMs
  return interval !== null && interval > 0 && interval < MINUTE_MS ? interval : null
}

/**
 * The end of the period a start at `startMs` takes, for a runner that must not start the job again
 * before it (a job that fails at once would otherwise run again at once): the next minute boundary
 * for a job of the crontab's pace, as the crontab starts a job at most once a minute; for a
 * sub-minute job its own period, its interval after the start or its cron's next slot, whichever
 * comes first, and at most a minute.
 */
export function periodEnd(schedule: Schedule, startMs: number, zone: string): number {
  if (!isSubMinute(schedule)) return nextMinute(startMs)
  let endMs = startMs + MINUTE_MS
  const interval = subMinuteInterval(schedule)
  if (interval !== null) endMs = Math.min(endMs, startMs + interval)
  if (schedule.cron !== null) {
    const ownZone = schedule.timeZone ?? zone
    const slot = nextSlot(schedule.cron, naiveMs(startMs, ownZone))
    if (slot !== null) endMs = Math.min(endMs, instantOfNaive(slot, ownZone))
  }
  return endMs
}
