import {instantOfNaive, naiveMs, nextSlot} from '../time/cron-expression'
import {luxon} from '../time/luxon'
import {DAY_MS, MINUTE_MS, nextMinute} from '../time/units'
import {isLive} from './history'
import {isDue, type DecisionOptions} from './is-due'
import type {Schedule} from '../jobs/schedule'
import type {JobHistory, RunSummary} from '../contract/run-types'

const HORIZON_MS = 400 * DAY_MS

export interface NextDue {
  /** The crontab tick (a minute boundary) at which the job is next due. */
  atMs: number
  slot: string | null
  reason: string
}

/**
 * When is the job next due, for a crontab that ticks at every minute boundary? Answered by
 * asking isDue itself (the decision runcrons uses, not a copy) at candidate ticks: it jumps over
 * stretches in which the answer cannot change (a day the day filters exclude, a retry wait, the
 * rest of an interval, the minutes before the next slot) and checks every candidate. null when
 * paused, unscheduled, or not due within 400 days.
 */
export function nextDue(schedule: Schedule, history: JobHistory, fromMs: number, options: DecisionOptions & {inclusive?: boolean}): NextDue | null {
  const zone = schedule.timeZone ?? options.timeZone
  let t = options.inclusive === false ? nextMinute(fromMs) : fromMs
  while (t < fromMs + HORIZON_MS) {
    const decision = isDue(schedule, history, t, options)
    if (decision.due) return {atMs: t, slot: decision.slot, reason: decision.reason}
    if (decision.rule === 'paused' || decision.rule === 'no-schedule') return null

    const local = luxon().DateTime.fromMillis(t, {zone})
    const midnight = local.startOf('day').plus({days: 1}).toMillis()
    let jump: number
    if (decision.rule === 'month-day' || decision.rule === 'weekday') {
      jump = midnight
    } else if (decision.rule === 'retry') {
      jump = nextMinute(decision.notBeforeMs!)
    } else {
      // The answer can next change at: the next runAtTimes slot (or midnight, when the day's
      // slots reset), the next cron slot, the end of the interval, or a live run's lease ending.
      const candidates = [midnight]
      const minuteOfDay = local.hour * 60 + local.minute
      const slot = schedule.runAtTimes.find((s) => s.minuteOfDay > minuteOfDay)
      if (slot) candidates.push(instantOfNaive(naiveMs(local.startOf('day').toMillis(), zone) + slot.minuteOfDay * MINUTE_MS, zone))
      if (schedule.cron !== null) {
        const naive = nextSlot(schedule.cron, naiveMs(t, zone))
        if (naive !== null) candidates.push(instantOfNaive(naive, zone))
      }
      if (decision.notBeforeMs !== undefined) candidates.push(nextMinute(decision.notBeforeMs))
      for (const run of history.running) if (isLive(run, t) && run.leaseExpiresMs !== null) candidates.push(run.leaseExpiresMs)
      jump = Math.min(...candidates)
    }
    // Ticks fall on minute boundaries; never stand still.
    t = Math.max(nextMinute(t), Math.ceil(jump / MINUTE_MS) * MINUTE_MS)
  }
  return null
}

/** The history as it would be after a successful run at `atMs` (for listing the next N due times). */
export function afterSuccess(history: JobHistory, code: string, atMs: number, slot: string | null): JobHistory {
  const run: RunSummary = {id: Number.MAX_SAFE_INTEGER - atMs, code, status: 'succeeded', startMs: atMs, ranAtTime: slot, leaseExpiresMs: null, host: null, pid: null}
  return {
    lastRun: run,
    lastSuccess: run,
    running: history.running,
    recentSlotRuns: slot ? [...history.recentSlotRuns, run] : history.recentSlotRuns,
  }
}

/** The next `count` due times, each as if the previous one had run and succeeded. */
export function nextDueTimes(schedule: Schedule, history: JobHistory, code: string, fromMs: number, count: number, options: DecisionOptions): NextDue[] {
  const times: NextDue[] = []
  let current = history
  let from = fromMs
  let inclusive = true
  while (times.length < count) {
    const next = nextDue(schedule, current, from, {...options, inclusive})
    if (!next) break
    times.push(next)
    current = afterSuccess(current, code, next.atMs, next.slot)
    from = next.atMs
    inclusive = false
  }
  return times
}
