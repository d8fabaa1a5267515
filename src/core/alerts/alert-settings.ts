import {shown} from '../base/text'
import {MINUTE_MS} from '../time/units'
import type {JobAlertsOverride} from '../contract/cron-job-base'
import {CHANNEL_DRIVERS, type Channel} from './channels/registry'

/** The `alerts` section of the settings, as written. The names are part of the interface: they stay valid across versions. */
export interface AlertsSettingsModule {
  /** URLs that receive each alert as an HTTP POST with a JSON body (Slack- and Mattermost-compatible `text`). */
  webhooks?: string[]
  /** An SMTP server and the recipients. */
  email?: {host: string; port?: number; secure?: boolean; user?: string; password?: string; from: string; to: string | string[]}
  /** Failed, timed-out or interrupted runs in a row that open an incident (default 1). */
  failureThreshold?: number
  /** Successful runs in a row that close it, with one recovery notice (default 1). */
  recoveryThreshold?: number
  /** While an incident stays open and the job keeps failing, remind after this many minutes, then twice as long each time (default: no reminders). */
  remindAfterMinutes?: number
  /** A due period with no run started this many minutes after it fell due is missed (default 5). */
  missedAfterMinutes?: number
  /** No tick on any server (or on one of several) for this many minutes is runner_silent (default 10). */
  silentAfterMinutes?: number
}

export interface AlertSettings {
  channels: Channel[]
  failureThreshold: number
  recoveryThreshold: number
  remindAfterMs: number | null
  missedAfterMs: number
  silentAfterMs: number
}

export const NO_ALERTS: AlertSettings = {channels: [], failureThreshold: 1, recoveryThreshold: 1, remindAfterMs: null, missedAfterMs: 5 * MINUTE_MS, silentAfterMs: 10 * MINUTE_MS}

/** A job's alerting once its override is applied to the settings': where its alerts go, and when. */
export interface JobAlerts {
  channels: Channel[]
  failureThreshold: number
  recoveryThreshold: number
}

/** The alerts section checked: each problem is one line (never with a secret in it) pushed to `problems`. */
export function checkAlerts(value: unknown, problems: string[]): AlertSettings {
  if (value === undefined || value === null) return NO_ALERTS
  if (typeof value !== 'object' || Array.isArray(value)) {
    // A string is not quoted: it may well be a webhook's URL, whose path is its token.
    problems.push(`alerts is ${typeof value === 'string' ? 'a string' : shown(value)}, not an object: use e.g. alerts: {webhooks: ['https://hooks.example.com/…']}`)
    return NO_ALERTS
  }
  const section = value as Record<string, unknown>
  const channels = CHANNEL_DRIVERS.flatMap((driver) => driver.parse(section[driver.section], problems))
  return {
    channels,
    failureThreshold: count(section.failureThreshold, 'alerts.failureThreshold', problems),
    recoveryThreshold: count(section.recoveryThreshold, 'alerts.recoveryThreshold', problems),
    remindAfterMs: section.remindAfterMinutes === undefined || section.remindAfterMinutes === null ? null : minutes(section.remindAfterMinutes, 'alerts.remindAfterMinutes', problems, 60),
    missedAfterMs: minutes(section.missedAfterMinutes ?? 5, 'alerts.missedAfterMinutes', problems, 5),
    silentAfterMs: minutes(section.silentAfterMinutes ?? 10, 'alerts.silentAfterMinutes', problems, 10),
  }
}

/** A job's override as an object, or null (none, true or false, or not an object: said in one line). */
function ownAlerts(override: unknown, problems: string[]): Record<string, unknown> | null {
  if (override === undefined || override === null || typeof override === 'boolean') return null
  if (typeof override !== 'object' || Array.isArray(override)) {
    problems.push(`alerts is ${shown(override)}: use false (no alerts) or e.g. alerts = {failureThreshold: 3, webhooks: ['https://…']}`)
    return null
  }
  return override as Record<string, unknown>
}

/** A job's override (CronJobBase.alerts) checked against its own type, alone: what the loader refuses a class for. */
export function checkJobAlerts(override: unknown, problems: string[]): void {
  const own = ownAlerts(override, problems)
  if (own === null) return
  for (const driver of CHANNEL_DRIVERS) if (own[driver.section] !== undefined) driver.checkOverride(own[driver.section], problems)
  for (const name of ['failureThreshold', 'recoveryThreshold'] as const) if (own[name] !== undefined) count(own[name], `alerts.${name}`, problems)
}

/** The job's override applied to the settings' (problems are one line each, about the job). */
export function jobAlerts(settings: AlertSettings, override: unknown, problems: string[]): JobAlerts {
  const base = {channels: settings.channels, failureThreshold: settings.failureThreshold, recoveryThreshold: settings.recoveryThreshold}
  if (override === false) return {...base, channels: []}
  const own = ownAlerts(override, problems)
  if (own === null) return base
  // A section of its own replaces the settings' channels of that kind; the other kinds are kept.
  const overridden = CHANNEL_DRIVERS.filter((driver) => own[driver.section] !== undefined)
  const channels =
    overridden.length === 0
      ? settings.channels
      : [
          ...settings.channels.filter((channel) => !overridden.some((driver) => driver.kind === channel.kind)),
          ...overridden.flatMap((driver) => driver.applyOverride(own[driver.section], settings.channels.filter((channel) => channel.kind === driver.kind), problems)),
        ]
  return {
    channels,
    failureThreshold: own.failureThreshold === undefined ? settings.failureThreshold : count(own.failureThreshold, 'alerts.failureThreshold', problems),
    recoveryThreshold: own.recoveryThreshold === undefined ? settings.recoveryThreshold : count(own.recoveryThreshold, 'alerts.recoveryThreshold', problems),
  }
}

/** Whether a job's override names channels of its own (then its alerts may go somewhere though the settings name none). */
export function hasOwnChannels(override: JobAlertsOverride | undefined): boolean {
  return typeof override === 'object' && override !== null && CHANNEL_DRIVERS.some((driver) => (override as Record<string, unknown>)[driver.section] !== undefined)
}

/** A whole number of minutes, 1 to 10080 (a week), in ms. */
function minutes(value: unknown, name: string, problems: string[], example: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 10080) {
    problems.push(`${name} ${shown(value)} is not a whole number of minutes from 1 to 10080: use e.g. ${name.split('.')[1]}: ${example}`)
    return example * MINUTE_MS
  }
  return value * MINUTE_MS
}

function count(value: unknown, name: string, problems: string[]): number {
  if (value === undefined) return 1
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1000) {
    problems.push(`${name} ${shown(value)} is not a whole number from 1 to 1000: use e.g. ${name.split('.')[1]}: 3`)
    return 1
  }
  return value
}
