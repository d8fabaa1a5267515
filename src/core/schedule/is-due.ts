import type {DateTime} from 'luxon'
import {hasSeconds, instantOfNaive, naiveMs, previousSlot} from '../time/cron-expression'
import {luxon} from '../time/luxon'
import {MINUTE_MS, nextMinute, SECOND_MS, WEEKDAYS} from '../time/units'
import {endedBadly, isLive} from './history'
import {shown} from '../base/text'
import {cronQuoted, type Schedule} from '../jobs/schedule'
import type {JobHistory, PauseInfo, RunSummary} from '../contract/run-types'

/** Which rule answered: lets callers (the next-due search, lists) act on the reason without parsing it. */
export type DecisionRule = 'forced' | 'paused' | 'month-day' | 'weekday' | 'retry' | 'interval' | 'cron' | 'slot' | 'no-schedule' | 'catch-up'

export interface Decision {
  due: boolean
  /** Why, in words, for --verbosity 2 and --dry-run. */
  reason: string
  /** The runAtTimes slot the run serves ('HH:MM'), or null. */
  slot: string | null
  rule: DecisionRule
  /** When the rule that said "not yet" lets go, where that is known (retry and interval rules). */
  notBeforeMs?: number
  /** A due job: since when the rule has called for this run (the interval's end, the slot's time), where there is one (not for a first run or --force). */
  dueSinceMs?: number
}

export interface DecisionOptions {
  /** The settings' zone; a schedule's own timeZone wins. */
  timeZone: string
  force?: boolean
  /** Set when the job is paused (manage crons:pause). */
  paused?: PauseInfo | null
  /** A paused job runs only when forced by name (runcrons NAME --force). */
  forcePaused?: boolean
  /**
   * How far after `now` a run may start and still count (default 0): the clocks of two deciders
   * differ a little, and a run another process has just made must not be run again. Rows beyond
   * it are leftovers of a clock jump and are ignored, as django-cron ignores every row after now.
   */
  clockSkewMs?: number
  /** Told each rule as it is checked, in order, until one answers (manage why); a tick sets none. */
  trace?: (step: RuleStep) => void
}

/** One rule as the decision checked it: not set for this job, let it through, held it back, or made it due. */
export interface RuleStep {
  rule: DecisionRule
  outcome: 'not-set' | 'passes' | 'blocks' | 'due'
  text: string
}


/**
 * Is the job due at `nowMs`? django-cron's should_run_now, order kept, first answer wins:
 * force → month days → weekdays → retry-after-failure (only blocks) → runEveryMins → runAtTimes → not due.
 * runEverySeconds is runEveryMins in seconds: both are the interval rule, on milliseconds.
 * Added: a paused job is not due (unless forced by name), and a cron expression is checked
 * between runEveryMins and runAtTimes.
 *
 * Two fixes over django-cron, both so that one due period gets one run: a run still in progress
 * (live lease) holds its period as a success would, and rows dated after `now` are ignored.
 */
export function isDue(schedule: Schedule, history: JobHistory, nowMs: number, options: DecisionOptions): Decision {
  const zone = schedule.timeZone ?? options.timeZone
  const answer = answers(options.trace)
  const {not, yes, passes, notSet} = answer

  const paused = options.paused
  if (paused && !(options.force && options.forcePaused)) {
    const since = () => (paused.sinceMs === null ? '' : ` since ${luxon().DateTime.fromMillis(paused.sinceMs, {zone}).toFormat('yyyy-MM-dd HH:mm')}`)
    return not('paused', () => `paused${since()}${paused.by ? ` by ${paused.by}` : ''}${paused.note ? `: ${shown(paused.note)}` : ''} (manage crons:resume to resume)`)
  }
  passes('paused', () => (paused ? 'paused, but run by name with --force' : 'not paused'))
  if (options.force) return yes('forced', () => 'forced (--force)')

  // The wall clock is needed only by the day filters, cron and runAtTimes (not by intervals).
  const local = () => localTime(nowMs, zone)
  const at = (ms: number) => luxon().DateTime.fromMillis(ms, {zone}).toFormat('yyyy-MM-dd HH:mm:ss')

  const filtered = dayFilters(schedule, local, answer)
  if (filtered !== null) return filtered

  const toleranceMs = schedule.runToleranceSeconds * 1000
  const horizonMs = nowMs + (options.clockSkewMs ?? 0)
  const last = visible(history.lastRun, horizonMs)
  if (schedule.retryAfterFailureMins && last && endedBadly(last, nowMs)) {
    const retryAt = last.startMs + schedule.retryAfterFailureMins * MINUTE_MS
    if (nowMs + toleranceMs <= retryAt) {
      return not('retry', () => `the run of ${at(last.startMs)} failed; retrying after ${at(retryAt)}`, retryAt - toleranceMs)
    }
    passes('retry', () => `the run of ${at(last.startMs)} ended ${last.status}; its retry wait ended at ${at(retryAt)}`)
  } else if (!schedule.retryAfterFailureMins) notSet('retry', 'no retry after a failure (retryAfterFailureMins)')
  else passes('retry', () => (last ? `the last run (${at(last.startMs)}) did not fail` : 'no run yet'))

  const live = history.running.length === 0 ? history.running : history.running.filter((run) => run.startMs <= horizonMs && isLive(run, nowMs))
  const periodStart = latestStart(visible(history.lastSuccess, horizonMs), live)

  const interval = schedule.intervalMs
  if (interval !== null) {
    const every = intervalText(interval)
    if (periodStart === null) return yes('interval', () => `${every}; no successful run yet`)
    const dueAfter = periodStart + interval
    if (nowMs + toleranceMs > dueAfter) return yes('interval', () => `${every}; last successful start ${at(periodStart)}`, null, nextMinute(dueAfter - toleranceMs))
    if (schedule.runAtTimes.length === 0 && schedule.cron === null) {
      return not('interval', () => `${every}; last successful start ${at(periodStart)}, due after ${at(dueAfter)}`, dueAfter - toleranceMs)
    }
    passes('interval', () => `${every}: not yet (due after ${at(dueAfter)}); the rules below may still make it due`)
  } else notSet('interval', 'no interval (runEveryMins, runEverySeconds)')

  if (schedule.cron !== null) {
    // A slot that passed since the last successful run is due, once (missed slots do not pile
    // up). With no run yet, only a slot of the last minute (the crontab's period) counts, so a new
    // job does not fire at deploy time for a slot long gone. Compared on the wall clock (see cron-expression).
    const nowNaive = naiveMs(nowMs, zone)
    const slot = previousSlot(schedule.cron, nowNaive)
    if (slot !== null) {
      const sinceLast = periodStart === null ? slot > nowNaive - MINUTE_MS : slot > naiveMs(periodStart, zone)
      if (sinceLast) return yes('cron', () => `cron ${cronQuoted(schedule)}: slot ${naiveText(slot, schedule.cron!)} has not run`, null, instantOfNaive(slot, zone))
    }
    if (schedule.runAtTimes.length === 0) return not('cron', () => `cron ${cronQuoted(schedule)}: no slot since the last run`)
    passes('cron', () => `cron ${cronQuoted(schedule)}: no slot since the last run; the times below may still make it due`)
  } else notSet('cron', 'no cron expression')

  if (schedule.runAtTimes.length > 0) return slotRule(schedule, history, local(), {zone, horizonMs, live}, answer)

  notSet('slot', 'no times of day (runAtTimes)')
  if (schedule.intervalMs === null) return not('no-schedule', () => 'no schedule (runs only with --force)')
  return not('interval', () => 'not due')
}

export type Answers = ReturnType<typeof answersTold>

/** runMonthlyOnDays, then runWeeklyOnDays: the job's answer when a filter keeps it from today, else null. */
function dayFilters(schedule: Schedule, local: () => DateTime, {not, passes, notSet}: Answers): Decision | null {
  const monthDays = schedule.runMonthlyOnDays
  if (monthDays !== null && !monthDays.includes(local().day)) {
    return not('month-day', () => `runs only on days ${monthDays.join(', ')} of the month; today is the ${local().day}`)
  }
  if (monthDays === null) notSet('month-day', 'no days of the month (runMonthlyOnDays)')
  else passes('month-day', () => `today, the ${local().day}, is one of the days ${monthDays.join(', ')}`)

  const weekDays = schedule.runWeeklyOnDays
  if (weekDays !== null) {
    const weekday = local().weekday - 1 // luxon: Monday = 1; django-cron: Monday = 0
    if (!weekDays.includes(weekday)) return not('weekday', () => `runs only on ${weekDays.map((day) => WEEKDAYS[day]).join(', ')}; today is ${WEEKDAYS[weekday]}`)
    passes('weekday', () => `today, ${WEEKDAYS[weekday]}, is one of ${weekDays.map((day) => WEEKDAYS[day]).join(', ')}`)
  } else notSet('weekday', 'no weekdays (runWeeklyOnDays)')
  return null
}

/** runAtTimes: the first of today's slots that has come and has not run (a success or a live run holds it). */
function slotRule(schedule: Schedule, history: JobHistory, local: DateTime, at: {zone: string; horizonMs: number; live: readonly RunSummary[]}, {not, yes}: Answers): Decision {
  const {zone, horizonMs, live} = at
  const {hour, minute} = local
  const minuteOfDay = hour * 60 + minute
  const dayStart = local.startOf('day').toMillis()
  const taken = new Set(
    [...history.recentSlotRuns.filter((run) => run.status === 'succeeded'), ...live]
      .filter((run) => run.ranAtTime !== null && run.startMs >= dayStart && run.startMs <= horizonMs)
      .map((run) => run.ranAtTime),
  )
  for (const {slot, minuteOfDay: slotMinute} of schedule.runAtTimes) {
    if (minuteOfDay >= slotMinute && !taken.has(slot)) return yes('slot', () => `slot ${slot} has not run today`, slot, instantOfNaive(naiveMs(dayStart, zone) + slotMinute * MINUTE_MS, zone))
  }
  const next = schedule.runAtTimes.find(({minuteOfDay: slotMinute}) => slotMinute > minuteOfDay)
  return not('slot', () => next ? `next slot today is ${next.slot}` : `today's slots (${schedule.runAtTimes.map((s) => s.slot).join(', ')}) have run`)
}

/**
 * How isDue answers. Reasons are words for people (-v 2, --dry-run, lists, why); most ticks never
 * show them, so they are made only when read: a tick of 1,000 jobs then formats no dates at all.
 * Each answer, and each rule that lets the job through, is told to the trace (manage why); a tick
 * passes none, and then the trace's arguments are not even evaluated.
 */
export function answers(trace: DecisionOptions['trace']): Answers {
  return trace ? answersTold(trace) : UNTRACED
}

function answersTold(trace: DecisionOptions['trace']) {
  const decision = (due: boolean, rule: DecisionRule, why: () => string, slot: string | null, notBeforeMs?: number, dueSinceMs?: number): Decision => {
    const made = {due, slot, rule} as Decision & {[WHY]: (() => string) | string}
    Object.defineProperty(made, WHY, {value: why, writable: true})
    Object.defineProperty(made, 'reason', REASON)
    if (notBeforeMs !== undefined) made.notBeforeMs = notBeforeMs
    if (dueSinceMs !== undefined) made.dueSinceMs = dueSinceMs
    return made
  }
  return {
    not: (rule: DecisionRule, why: () => string, notBeforeMs?: number) => {
      trace?.({rule, outcome: 'blocks', text: why()})
      return decision(false, rule, why, null, notBeforeMs)
    },
    yes: (rule: DecisionRule, why: () => string, slot: string | null = null, dueSinceMs?: number) => {
      trace?.({rule, outcome: 'due', text: why()})
      return decision(true, rule, why, slot, undefined, dueSinceMs)
    },
    passes: (rule: DecisionRule, text: () => string) => trace?.({rule, outcome: 'passes', text: text()}),
    notSet: (rule: DecisionRule, text: string) => trace?.({rule, outcome: 'not-set', text}),
  }
}

/**
 * A decision's reason, an own enumerable getter as an object literal's would be, but one getter for
 * all: a getter made per decision puts each one in V8's slow dictionary mode, and a scheduler makes
 * several decisions per run. The words, or what makes them, are kept under WHY (not enumerable).
 */
const WHY = Symbol('why')
const REASON: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: {[WHY]: (() => string) | string}) {
    const why = this[WHY]
    return typeof why === 'string' ? why : (this[WHY] = why())
  },
}

/** A tick's answers (no trace): the same for every decision, made once rather than at each of the many a second. */
const UNTRACED = answersTold(undefined)

/** The tick's local time, made once per (instant, zone): every job of a tick asks for the same one. */
let lastLocal: {ms: number; zone: string; value: DateTime} | null = null
function localTime(ms: number, zone: string): DateTime {
  if (lastLocal === null || lastLocal.ms !== ms || lastLocal.zone !== zone) lastLocal = {ms, zone, value: luxon().DateTime.fromMillis(ms, {zone})}
  return lastLocal.value
}

/** An interval in words: 'every 5 min' (django-cron's unit) or, below or off whole minutes, 'every 30 s'. */
export function intervalText(intervalMs: number): string {
  if (intervalMs === 0) return 'every tick'
  return intervalMs % MINUTE_MS === 0 ? `every ${intervalMs / MINUTE_MS} min` : `every ${intervalMs / SECOND_MS} s`
}

/** A cron slot (naive ms) as the wall clock shows it: to the second for an expression with seconds. */
function naiveText(slot: number, expression: string): string {
  return new Date(slot).toISOString().slice(0, hasSeconds(expression) ? 19 : 16).replace('T', ' ')
}

function visible(run: RunSummary | null, horizonMs: number): RunSummary | null {
  return run !== null && run.startMs <= horizonMs ? run : null
}

/** The latest start of the success and the live runs: the start of the period they hold. */
function latestStart(success: RunSummary | null, live: readonly RunSummary[]): number | null {
  let latest = success === null ? null : success.startMs
  for (const run of live) if (latest === null || run.startMs > latest) latest = run.startMs
  return latest
}
