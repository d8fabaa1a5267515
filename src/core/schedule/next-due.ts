import {instantOfNaive, naiveMs, nextSlot} from '../time/cron-expression'
import {luxon} from '../time/luxon'
import {DAY_MS, MINUTE_MS, nextTick} from '../time/units'
import {isLive} from './history'
import {isDue, type DecisionOptions} from './is-due'
import type {Schedule} from '../jobs/schedule'
import type {JobHistory, RunSummary} from '../contract/run-types'

const HORIZON_MS = 400 * DAY_MS

export interface NextDue {
  /** The tick (a minute boundary for the crontab) at which the job is next due. */
  atMs: number
  slot: string | null
  reason: string
}

/** nextDue's options: the decision's, whether `fromMs` itself counts, and how often the runner ticks. */
export interface NextDueOptions extends DecisionOptions {
  inclusive?: boolean
  /** The runner's ticks fall on multiples of this (default a minute: the crontab; a second serves sub-minute schedules). */
  tickMs?: number
}

/**
 * When is the job next due, for a runner that ticks at every boundary of `tickMs` (the crontab: every minute)? Answered by
 * asking isDue itself (the decision runcrons uses, not a copy) at candidate ticks: it jumps over
 * stretches in which the answer cannot change (a day the day filters exclude, a retry wait, the
 * rest of an interval, the minutes before the next slot) and checks every candidate. null when
 * paused, unscheduled, or not due within 400 days.
 */
export function nextDue(schedule: Schedule, history: JobHistory, fromMs: number, options: NextDueOptions): NextDue | null {
  const zone = schedule.timeZone ?? options.timeZone
  const tickMs = options.tickMs ?? MINUTE_MS
  let t = options.inclusive === false ? nextTick(fromMs, tickMs) : fromMs
  while (t < fromMs + HORIZON_MS) {
    const decision = isDue(schedule, history, t, options)
    // The reason is words for lists and --dry-run: made when read (a scheduler's wake asks only when).
    if (decision.due) return {atMs: t, slot: decision.slot, get reason() {return decision.reason}}
    if (decision.rule === 'paused' || decision.rule === 'no-schedule') return null

    const midnight = nextMidnight(t, zone)
    let jump: number
    if (decision.rule === 'month-day' || decision.rule === 'weekday') {
      jump = midnight
    } else if (decision.rule === 'retry') {
      jump = nextTick(decision.notBeforeMs!, tickMs)
    } else {
      // The answer can next change at: the next runAtTimes slot (or midnight, when the day's
      // slots reset), the next cron slot, the end of the interval, or a live run's lease ending.
      const candidates = [midnight]
      if (schedule.runAtTimes.length > 0) {
        const local = luxon().DateTime.fromMillis(t, {zone})
        const minuteOfDay = local.hour * 60 + local.minute
        const slot = schedule.runAtTimes.find((s) => s.minuteOfDay > minuteOfDay)
        if (slot) candidates.push(instantOfNaive(naiveMs(local.startOf('day').toMillis(), zone) + slot.minuteOfDay * MINUTE_MS, zone))
      }
      if (schedule.cron !== null) {
        const naive = nextSlot(schedule.cron, naiveMs(t, zone))
        if (naive !== null) candidates.push(instantOfNaive(naive, zone))
      }
      if (decision.notBeforeMs !== undefined) candidates.push(nextTick(decision.notBeforeMs, tickMs))
      for (const run of history.running) if (isLive(run, t) && run.leaseExpiresMs !== null) candidates.push(run.leaseExpiresMs)
      jump = Math.min(...candidates)
    }
    // Ticks fall on tick boundaries; never stand still.
    t = Math.max(nextTick(t, tickMs), Math.ceil(jump / tickMs) * tickMs)
  }
  return null
}

/** The day around the last instant asked, per zone: a scheduler asks the next midnight for every job at every wake. */
const days = new Map<string, {startMs: number; endMs: number}>()

/** The first midnight after `ms` on the zone's wall clock (the next day's start, a DST day's length included). */
function nextMidnight(ms: number, zone: string): number {
  const kept = days.get(zone)
  if (kept && kept.startMs <= ms && ms < kept.endMs) return kept.endMs
  const start = luxon().DateTime.fromMillis(ms, {zone}).startOf('day')
  const day = {startMs: start.toMillis(), endMs: start.plus({days: 1}).toMillis()}
  if (days.size >= 100) days.clear() // zones come from the settings: a few
  days.set(zone, day)
  return day.endMs
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
export function nextDueTimes(schedule: Schedule, history: JobHistory, code: string, fromMs: number, count: number, options: Omit<NextDueOptions, 'inclusive'>): NextDue[] {
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
