import {luxon} from './luxon'
import {HOUR_MS} from './units'

/**
 * Cron expressions are read on the zone's wall clock, exactly as runAtTimes are: a slot inside a
 * spring-forward gap is due at the first tick after the jump, and a slot inside the repeated
 * fall-back hour runs once. To get that, the expression is evaluated (by cron-parser) on a
 * "naive" timeline: the wall-clock time written as if it were UTC, which has no gaps or repeats.
 */

type Parser = typeof import('cron-parser').CronExpressionParser
let parser: Parser | undefined

/** cron-parser is loaded only when a job has an expression: most ticks never need it. */
function cronParser(): Parser {
  parser ??= (require('cron-parser') as typeof import('cron-parser')).CronExpressionParser
  return parser
}

/** null when the expression is valid, else the parser's reason. */
export function cronExpressionError(expression: string): string | null {
  try {
    cronParser().parse(expression, {tz: 'UTC'})
    return null
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

/** The wall-clock time of `ms` in `zone`, as ms on the naive (UTC-written) timeline. */
export function naiveMs(ms: number, zone: string): number {
  const local = luxon().DateTime.fromMillis(ms, {zone})
  return Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second, local.millisecond)
}

/** The latest slot at or before `naive` (naive ms), or null. */
export function previousSlot(expression: string, naive: number): number | null {
  try {
    return cronParser().parse(expression, {currentDate: new Date(naive + 1), tz: 'UTC'}).prev().getTime()
  } catch {
    return null // no earlier slot (e.g. a date that never comes round again)
  }
}

/** The first slot strictly after `naive` (naive ms), or null. */
export function nextSlot(expression: string, naive: number): number | null {
  try {
    return cronParser().parse(expression, {currentDate: new Date(naive), tz: 'UTC'}).next().getTime()
  } catch {
    return null
  }
}

/**
 * The first instant at which the zone's wall clock shows `naive` or later. For a time inside a
 * spring-forward gap that is the moment of the jump (luxon alone would move it an hour on).
 */
export function instantOfNaive(naive: number, zone: string): number {
  const n = new Date(naive)
  const guess = luxon().DateTime.fromObject(
    {year: n.getUTCFullYear(), month: n.getUTCMonth() + 1, day: n.getUTCDate(), hour: n.getUTCHours(), minute: n.getUTCMinutes(), second: n.getUTCSeconds(), millisecond: n.getUTCMilliseconds()},
    {zone},
  ).toMillis()
  if (naiveMs(guess, zone) === naive) return guess
  let low = guess - 3 * HOUR_MS // wall clock before the gap
  let high = guess
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2)
    if (naiveMs(middle, zone) >= naive) high = middle
    else low = middle
  }
  return high
}

/** The expression in words (cronstrue), for lists; the expression itself if cronstrue cannot say. */
export function describeCron(expression: string): string {
  try {
    return (require('cronstrue') as typeof import('cronstrue')).toString(expression, {use24HourTimeFormat: true, verbose: false})
  } catch {
    return expression
  }
}
