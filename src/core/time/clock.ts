import {UsageError} from '../base/errors'
import {luxon} from './luxon'

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

/** A UTC time written out in full ('…Z'): the form tests and scripts use, read without luxon. */
const UTC_ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2})?(\.\d{3})?Z$/

export function parseInstant(raw: string, timeZone: string, what: string): number {
  const utc = UTC_ISO.exec(raw.trim())
  if (utc) {
    const ms = Date.parse(utc[0])
    // Date.parse would roll 02-30 over to March: only a time that reads back the same is taken.
    if (!Number.isNaN(ms) && new Date(ms).toISOString() === `${utc[1]}${utc[2] ?? ':00'}${utc[3] ?? '.000'}Z`) return ms
  }
  const parsed = luxon().DateTime.fromISO(raw.trim(), {zone: timeZone})
  if (!parsed.isValid) {
    throw new UsageError(`${what}='${raw}' is not an ISO-8601 time: use e.g. ${what}=2026-11-23T05:00:00Z (or a local time such as 2026-11-23T05:00, read in ${timeZone})`)
  }
  return parsed.toMillis()
}
