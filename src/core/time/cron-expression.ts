import {luxon} from './luxon'
import {HOUR_MS, MINUTE_MS} from './units'

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

/** What the fields are, for the fix of every problem. */
/** A Jenkins-style H (not the H of THU, nor the h of @hourly): see hashed-cron.ts. */
const HASHED = /(^|[^a-z])H(?![a-z])/i

/** Whether the expression has an H to resolve. Cheap for the common case: most expressions have no H or h at all. */
export function isHashed(expression: string): boolean {
  return (expression.includes('H') || expression.includes('h')) && HASHED.test(expression)
}

export const CRON_FIELDS = "five fields (minute hour day-of-month month day-of-week, e.g. cron = '*/15 * * * *'), or six with seconds first (e.g. cron = '*/10 * * * * *')"

/**
 * cron-parser's macros, kept because they are accepted since the start; all but @secondly
 * (write '* * * * * *' for that: a rate of one a second is better said in full).
 */
const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly', '@minutely', '@weekdays', '@weekends'])

function fieldCount(expression: string): number {
  return expression === '' ? 0 : expression.split(/\s+/).length
}

/** Whether the (valid) expression has a seconds field: six fields, seconds first. */
export function hasSeconds(expression: string): boolean {
  return fieldCount(expression) === 6
}

/**
 * null when the expression (trimmed) is valid, else what is wrong and the fix, to follow
 * "cron = '…' ". Five fields, six (seconds first, as cron-parser reads them), or a macro:
 * cron-parser also reads fewer (padding them on the left), meaning something else than it says.
 */
export function cronExpressionError(expression: string): string | null {
  let answer = checked.get(expression)
  if (answer === undefined) {
    answer = checkExpression(expression)
    remember(checked, expression, answer)
  }
  return answer
}

/**
 * A long-lived process (the scheduler) asks the same few questions at every wake: each job's
 * expression is checked as the jobs load, and its slots around now are looked up by the decision
 * and the next-wake search. Parsing an expression and walking cron-parser's dates cost ~0.1 ms
 * each, so a wake among 1,000 cron jobs spent ~0.4 s and churned the heap. The answers depend on
 * the expression (and the instant) alone, so they are kept, per expression, and at most
 * MEMO_LIMIT of them (the settings have a few distinct expressions; a caller with endless new
 * ones, e.g. `manage why` on a user's input, only starts the memo afresh). The same holds for the
 * zone's wall clock (naiveMs, instantOfNaive below), asked about for every cron job.
 */
const MEMO_LIMIT = 5000
const checked = new Map<string, string | null>()
/**
 * An expression's slots around the instants last asked about (a few per expression, the latest
 * first: the next-wake search asks about now and about the next slot, two windows, at every wake).
 * In each, `low` is the latest slot at or before the instant, `high` the first after it.
 */
const windows = new Map<string, Array<{low: number; high: number}>>()
const WINDOWS_KEPT = 4

function remember<V>(memo: Map<string, V>, key: string, value: V): void {
  if (memo.size >= MEMO_LIMIT) memo.clear()
  memo.set(key, value)
}

function checkExpression(expression: string): string | null {
  if (expression.startsWith('@')) {
    return MACROS.has(expression) ? null : `is not a macro manage reads: use one of ${[...MACROS].join(', ')}, or ${CRON_FIELDS}`
  }
  const count = fieldCount(expression)
  if (count !== 5 && count !== 6) return `has ${count} field${count === 1 ? '' : 's'}, not five or six: use ${CRON_FIELDS}`
  // The loader resolves H from the job's code first (hashed-cron); one left here would be cron-parser's, drawn at random on each parse.
  if (isHashed(expression)) return `has an H, which only a job's code resolves (the loader's resolveHashedCron): use ${CRON_FIELDS}`
  try {
    cronParser().parse(expression, {tz: 'UTC'})
    return null
  } catch (error) {
    return `is not a cron expression (${error instanceof Error ? error.message : String(error)}): use ${CRON_FIELDS}`
  }
}

/**
 * How often a (valid) expression fires within one minute at most: the seconds it names (1 for
 * five fields and macros). Above 1, the crontab's once-a-minute tick cannot keep its rate.
 */
export function slotsPerMinute(expression: string): number {
  if (!hasSeconds(expression)) return 1
  return cronParser().parse(expression, {tz: 'UTC'}).fields.second.values.length
}

/**
 * The wall-clock time of `ms` in `zone`, as ms on the naive (UTC-written) timeline. The zone's
 * offset is kept per minute: zones change offset on whole minutes (since 1973; the seconds of
 * local mean time are older, and not kept), and a scheduler's wake asks about the
 * same minute for every job (a luxon date each, ~30 µs, before).
 */
export function naiveMs(ms: number, zone: string): number {
  const key = `${zone} ${Math.floor(ms / MINUTE_MS)}`
  let offset = offsets.get(key)
  if (offset === undefined) {
    const local = luxon().DateTime.fromMillis(ms, {zone})
    offset = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second, local.millisecond) - ms
    if (ms < WHOLE_MINUTE_OFFSETS_SINCE) return ms + offset
    remember(offsets, key, offset)
  }
  return ms + offset
}

const offsets = new Map<string, number>()
const instants = new Map<string, number>()
/** Since 1973 every zone's offset, and so each change of it, is on whole minutes (Liberia's −0:44:30 ended in 1972). */
const WHOLE_MINUTE_OFFSETS_SINCE = Date.UTC(1973, 0, 1)

/** The latest slot at or before `naive` (naive ms), or null. */
export function previousSlot(expression: string, naive: number): number | null {
  const known = windowAround(expression, naive)
  return known ? known.low : parsedPreviousSlot(expression, naive)
}

/** The first slot strictly after `naive` (naive ms), or null. */
export function nextSlot(expression: string, naive: number): number | null {
  const known = windowAround(expression, naive)
  return known ? known.high : parsedNextSlot(expression, naive)
}

/**
 * The slots on either side of `naive`: kept from the last question when `naive` is between them
 * (no slot lies between the two, so both answers hold), else found and kept. Null when there is
 * no slot on one side: then each question is answered by cron-parser, as before.
 */
function windowAround(expression: string, naive: number): {low: number; high: number} | null {
  const kept = windows.get(expression) ?? []
  const known = kept.find(({low, high}) => low <= naive && naive < high)
  if (known) return known
  const low = parsedPreviousSlot(expression, naive)
  const high = low === null ? null : parsedNextSlot(expression, naive)
  if (low === null || high === null) return null
  const found = {low, high}
  remember(windows, expression, [found, ...kept.slice(0, WINDOWS_KEPT - 1)])
  return found
}

function parsedPreviousSlot(expression: string, naive: number): number | null {
  try {
    return cronParser().parse(expression, {currentDate: new Date(naive + 1), tz: 'UTC'}).prev().getTime()
  } catch {
    return null // no earlier slot (e.g. a date that never comes round again)
  }
}

function parsedNextSlot(expression: string, naive: number): number | null {
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
  const key = `${zone} ${naive}`
  let instant = instants.get(key)
  if (instant === undefined) {
    instant = findInstantOfNaive(naive, zone)
    remember(instants, key, instant)
  }
  return instant
}

function findInstantOfNaive(naive: number, zone: string): number {
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
