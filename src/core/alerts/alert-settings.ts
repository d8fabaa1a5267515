import {shown} from '../base/text'
import type {Channel, EmailSettings} from '../notify/channels'

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

export const NO_ALERTS: AlertSettings = {channels: [], failureThreshold: 1, recoveryThreshold: 1, remindAfterMs: null, missedAfterMs: 5 * 60_000, silentAfterMs: 10 * 60_000}

/**
 * A job's own `alerts` (CronJobBase.alerts): false turns its alerts off; an object overrides the
 * thresholds, and its webhooks or e-mail recipients replace the settings' for this job.
 */
export type JobAlertsOverride = false | {failureThreshold?: number; recoveryThreshold?: number; webhooks?: string[]; email?: {to: string | string[]}}

/** A job's alerting once its override is applied to the settings': where its alerts go, and when. */
export interface JobAlerts {
  channels: Channel[]
  failureThreshold: number
  recoveryThreshold: number
}

/** The job's override checked against the settings (problems are one line each, about the job). */
export function jobAlerts(settings: AlertSettings, override: unknown, problems: string[]): JobAlerts {
  const base = {channels: settings.channels, failureThreshold: settings.failureThreshold, recoveryThreshold: settings.recoveryThreshold}
  if (override === undefined || override === null || override === true) return base
  if (override === false) return {...base, channels: []}
  if (typeof override !== 'object' || Array.isArray(override)) {
    problems.push(`alerts is ${shown(override)}: use false (no alerts) or e.g. alerts = {failureThreshold: 3, webhooks: ['https://…']}`)
    return base
  }
  const own = override as Record<string, unknown>
  let channels = settings.channels
  if (own.webhooks !== undefined || own.email !== undefined) {
    const kept = channels.filter((channel) => (own.webhooks === undefined ? channel.kind === 'webhook' : false) || (own.email === undefined ? channel.kind === 'email' : false))
    const added: Channel[] = []
    if (own.webhooks !== undefined) {
      if (!Array.isArray(own.webhooks)) problems.push(`alerts.webhooks must be a list of URLs`)
      else
        own.webhooks.forEach((url, i) => {
          const problem = webhookProblem(url)
          if (problem) problems.push(`alerts.webhooks[${i}] ${problem}: use an http:// or https:// URL`)
          else added.push({kind: 'webhook', url: url as string})
        })
    }
    if (own.email !== undefined) {
      const server = settings.channels.find((channel) => channel.kind === 'email')
      const to = (own.email as {to?: unknown} | null)?.to
      const list = typeof to === 'string' ? [to] : to
      if (!server || server.kind !== 'email') problems.push(`alerts.email needs the settings' alerts.email (the SMTP server) to send through`)
      else if (!Array.isArray(list) || list.length === 0 || !list.every((address) => typeof address === 'string' && EMAIL.test(address))) problems.push(`alerts.email.to must be one or more e-mail addresses`)
      else added.push({kind: 'email', email: {...server.email, to: list as string[]}})
    }
    channels = [...kept, ...added]
  }
  return {
    channels,
    failureThreshold: own.failureThreshold === undefined ? settings.failureThreshold : count(own.failureThreshold, 'alerts.failureThreshold', problems),
    recoveryThreshold: own.recoveryThreshold === undefined ? settings.recoveryThreshold : count(own.recoveryThreshold, 'alerts.recoveryThreshold', problems),
  }
}

const EMAIL = /^[^\s@<>]+@[^\s@<>]+$|^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/

/** The alerts section checked: each problem is one line (never with a secret in it) pushed to `problems`. */
export function checkAlerts(value: unknown, problems: string[]): AlertSettings {
  if (value === undefined || value === null) return NO_ALERTS
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`alerts is ${shown(value)}, not an object: use e.g. alerts: {webhooks: ['https://hooks.example.com/…']}`)
    return NO_ALERTS
  }
  const section = value as Record<string, unknown>
  const channels: Channel[] = []
  const webhooks = section.webhooks ?? []
  if (!Array.isArray(webhooks)) problems.push(`alerts.webhooks must be a list of URLs: use e.g. webhooks: ['https://hooks.example.com/…']`)
  else {
    webhooks.forEach((url, i) => {
      const problem = webhookProblem(url)
      if (problem) problems.push(`alerts.webhooks[${i}] ${problem}: use an http:// or https:// URL`)
      else channels.push({kind: 'webhook', url: url as string})
    })
  }
  if (section.email !== undefined) {
    const email = checkEmail(section.email, problems)
    if (email) channels.push({kind: 'email', email})
  }
  return {
    channels,
    failureThreshold: count(section.failureThreshold, 'alerts.failureThreshold', problems),
    recoveryThreshold: count(section.recoveryThreshold, 'alerts.recoveryThreshold', problems),
    remindAfterMs: section.remindAfterMinutes === undefined || section.remindAfterMinutes === null ? null : minutes(section.remindAfterMinutes, 'alerts.remindAfterMinutes', problems, 60),
    missedAfterMs: minutes(section.missedAfterMinutes ?? 5, 'alerts.missedAfterMinutes', problems, 5),
    silentAfterMs: minutes(section.silentAfterMinutes ?? 10, 'alerts.silentAfterMinutes', problems, 10),
  }
}

/** A whole number of minutes, 1 to 10080 (a week), in ms. */
function minutes(value: unknown, name: string, problems: string[], example: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 10080) {
    problems.push(`${name} ${shown(value)} is not a whole number of minutes from 1 to 10080: use e.g. ${name.split('.')[1]}: ${example}`)
    return example * 60_000
  }
  return value * 60_000
}

/** What is wrong with a webhook (or ping) URL, never quoting it (its path may be a token), or null. */
export function webhookProblem(url: unknown): string | null {
  if (typeof url !== 'string') return `is ${typeof url}, not a URL`
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'is not a URL'
  }
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? null : `has the scheme '${parsed.protocol}'`
}

function checkEmail(value: unknown, problems: string[]): EmailSettings | null {
  const fix = "use e.g. email: {host: 'smtp.example.com', port: 587, user: 'alerts', password: process.env.SMTP_PASSWORD, from: 'cron@example.com', to: ['ops@example.com']}"
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`alerts.email is not an object: ${fix}`)
    return null
  }
  const email = value as Record<string, unknown>
  const before = problems.length
  if (typeof email.host !== 'string' || email.host === '') problems.push(`alerts.email.host is missing: ${fix}`)
  const secure = email.secure ?? email.port === 465
  const port = email.port ?? (secure ? 465 : 587)
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) problems.push(`alerts.email.port ${shown(port)} is not a port (1–65535): ${fix}`)
  if (typeof secure !== 'boolean') problems.push(`alerts.email.secure must be true or false`)
  for (const name of ['user', 'password'] as const) if (email[name] !== undefined && typeof email[name] !== 'string') problems.push(`alerts.email.${name} must be a string`)
  if (typeof email.from !== 'string' || !EMAIL.test(email.from)) problems.push(`alerts.email.from is not an e-mail address: ${fix}`)
  const to = typeof email.to === 'string' ? [email.to] : email.to
  if (!Array.isArray(to) || to.length === 0 || !to.every((address) => typeof address === 'string' && EMAIL.test(address))) {
    problems.push(`alerts.email.to must be one or more e-mail addresses: ${fix}`)
  }
  if (problems.length > before) return null
  return {host: email.host as string, port: port as number, secure: secure as boolean, user: email.user as string | undefined, password: email.password as string | undefined, from: email.from as string, to: to as string[]}
}

function count(value: unknown, name: string, problems: string[]): number {
  if (value === undefined) return 1
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1000) {
    problems.push(`${name} ${shown(value)} is not a whole number from 1 to 1000: use e.g. ${name.split('.')[1]}: 3`)
    return 1
  }
  return value
}
