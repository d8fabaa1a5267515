import {readlinkSync} from 'node:fs'
import {luxon} from './luxon'

const UTC_ALIASES = new Set(['UTC', 'Etc/UTC', 'Etc/UCT', 'Etc/Universal', 'Etc/Zulu', 'UCT', 'Universal', 'Zulu', 'GMT', 'Etc/GMT', 'GMT0', 'Etc/GMT0', 'Etc/GMT+0', 'Etc/GMT-0', 'Greenwich'])

/**
 * The system's zone, as cron sees it: TZ, else the /etc/localtime link, else what Intl says.
 * Asked of Intl first, it costs the first use of ICU on every tick; most
 * servers run in UTC, which is then handled without Intl at all.
 */
export function systemTimeZone(): string {
  let zone = process.env.TZ?.replace(/^:/, '') || undefined
  if (!zone) {
    try {
      zone = /zoneinfo\/(.+)$/.exec(readlinkSync('/etc/localtime'))?.[1]
    } catch {
      // not a link (or not Linux): ask Intl below
    }
  }
  zone ||= Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
  return UTC_ALIASES.has(zone) ? 'UTC' : zone
}

/** IANA zone check without waking ICU for UTC. */
export function isValidTimeZone(zone: unknown): zone is string {
  return typeof zone === 'string' && (zone === 'UTC' || luxon().IANAZone.isValidZone(zone))
}
