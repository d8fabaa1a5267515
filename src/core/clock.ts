import {DateTime} from 'luxon'
import {UsageError} from './errors'

/** Milliseconds since the epoch, UTC. Core code takes a clock instead of calling Date.now(). */
export type Clock = () => number

export const systemClock: Clock = () => Date.now()

export function fixedClock(ms: number): Clock {
  return () => ms
}

/**
 * MANAGE_NOW=<ISO-8601> freezes the clock, for tests and for "what would run at …".
 * A time without an offset is read in the settings' time zone.
 */
export function clockFromEnv(env: NodeJS.ProcessEnv, timeZone: string): Clock {
  const raw = env.MANAGE_NOW
  if (raw === undefined || raw === '') return systemClock
  return fixedClock(parseInstant(raw, timeZone, 'MANAGE_NOW'))
}

export function parseInstant(raw: string, timeZone: string, what: string): number {
  const parsed = DateTime.fromISO(raw.trim(), {zone: timeZone})
  if (!parsed.isValid) {
    throw new UsageError(`${what}='${raw}' is not an ISO-8601 time: use e.g. ${what}=2026-11-23T05:00:00Z (or a local time such as 2026-11-23T05:00, read in ${timeZone})`)
  }
  return parsed.toMillis()
}
