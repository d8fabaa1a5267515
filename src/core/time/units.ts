/** Lengths of time in milliseconds. */
export const SECOND_MS = 1000
export const MINUTE_MS = 60 * SECOND_MS
export const HOUR_MS = 60 * MINUTE_MS
export const DAY_MS = 24 * HOUR_MS
export const WEEK_MS = 7 * DAY_MS

/** The weekdays in django-cron's numbering: Monday = 0 … Sunday = 6 (luxon's weekday less one). */
export const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const

/** The longest wait a Node timer holds (2^31 − 1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** The first minute boundary strictly after `ms`: the crontab's next tick. */
export function nextMinute(ms: number): number {
  return nextTick(ms, MINUTE_MS)
}

/** The first boundary of `tickMs` strictly after `ms`: a runner's next tick (a minute for the crontab). */
export function nextTick(ms: number, tickMs: number): number {
  return Math.floor(ms / tickMs) * tickMs + tickMs
}
