import {MINUTE_MS} from './units'

/** An instant as ISO-8601 UTC, as JSON output, alerts and logs give it; null stays null. */
export function isoTime(ms: number): string
export function isoTime(ms: number | null | undefined): string | null
export function isoTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString()
}

/**
 * A length of time in words, one rule for the CLI, the dashboard and the alerts. Under a minute it
 * is seconds with a tenth ("2.5 s"). The default precision, 'ms', is a run's measured duration in
 * a table or a page: under a second in ms ("250 ms"), past a minute in minutes and seconds ("2 min 5 s").
 * 'min' is how long something has gone on, in an alert's words: past a minute in whole minutes
 * ("11 min"), and in hours and minutes from two hours ("2 h 5 min").
 */
export function formatDuration(ms: number, {precision = 'ms'}: {precision?: 'ms' | 'min'} = {}): string {
  if (precision === 'ms' && ms < 1000) return `${Math.round(ms)} ms`
  if (ms < MINUTE_MS) return `${(ms / 1000).toFixed(1)} s`
  if (precision === 'ms') return `${Math.floor(ms / MINUTE_MS)} min ${Math.round((ms % MINUTE_MS) / 1000)} s`
  const minutes = Math.round(ms / MINUTE_MS)
  return minutes < 120 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}
