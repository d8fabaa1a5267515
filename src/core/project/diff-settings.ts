import {webhookOrigin} from '../alerts/channels/webhook'
import {driverOf} from '../alerts/channels/registry'
import {safeConnectionString, scrubSecrets} from '../db/database-url'
import {MINUTE_MS} from '../time/units'
import {systemTimeZone} from '../time/zone'
import {
  DEFAULT_CLOCK_SKEW_SECONDS,
  DEFAULT_CONNECT_TIMEOUT_SECONDS,
  DEFAULT_GRACE_SECONDS,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_RECORD_RETRY_SECONDS,
  DEFAULT_STATEMENT_TIMEOUT_SECONDS,
  type Settings,
} from './settings'

/**
 * `manage diffsettings` (Django's diffsettings): each setting as loaded, by the name the settings
 * module gives it, next to manage's default. Secrets never show: a value under a name that looks
 * secret is ***, a URL shows without its password (an http(s) one by its origin only: a webhook's or
 * a ping's path is its token), and the whole text is scrubbed of every known secret at the end.
 */

export interface SettingLine {
  /** As written in the settings module (nested ones dotted: alerts.failureThreshold). */
  name: string
  /** As loaded, masked: JSON values only (a class is its name). */
  value: unknown
  /** manage's default, or undefined for the project's own settings (it has none). */
  default?: unknown
  /** Not manage's default (always true for the project's own). */
  differs: boolean
}

/** Names whose values are secrets (Django's filter, with manage's own): their values are never shown. */
const SECRET_NAME = /pass|secret|token|api.?key|private|credential|signature|auth|cookie|hash/i

/** manage's settings, their value as loaded and their default, in the README's order. */
function knownSettings(settings: Settings, defaults: {cronsDir: string; spoolDir: string}): Array<[string, unknown, unknown]> {
  const {values, alerts} = settings
  const section = (values.alerts ?? {}) as Record<string, unknown>
  const dashboard = (values.dashboard ?? {}) as Record<string, unknown>
  return [
    ['crons', settings.crons, []],
    ['timeZone', settings.timeZone, systemTimeZone()],
    ['leaseSeconds', settings.leaseMs / 1000, DEFAULT_LEASE_SECONDS],
    ['graceSeconds', settings.graceMs / 1000, DEFAULT_GRACE_SECONDS],
    ['connectTimeoutSeconds', settings.connectTimeoutMs / 1000, DEFAULT_CONNECT_TIMEOUT_SECONDS],
    ['statementTimeoutSeconds', settings.statementTimeoutMs / 1000, DEFAULT_STATEMENT_TIMEOUT_SECONDS],
    ['recordRetrySeconds', settings.recordRetryMs / 1000, DEFAULT_RECORD_RETRY_SECONDS],
    ['clockSkewSeconds', settings.clockSkewMs / 1000, DEFAULT_CLOCK_SKEW_SECONDS],
    ['deleteLogsOlderThanDays', settings.deleteLogsOlderThanDays, null],
    ['cronsDir', settings.cronsDir, defaults.cronsDir],
    ['spoolDir', settings.spoolDir, defaults.spoolDir],
    ['tickPingUrl', settings.tickPingUrl, null],
    ['alerts.webhooks', section.webhooks ?? [], []],
    ['alerts.email', section.email ?? null, null],
    ['alerts.failureThreshold', alerts.failureThreshold, 1],
    ['alerts.recoveryThreshold', alerts.recoveryThreshold, 1],
    ['alerts.remindAfterMinutes', alerts.remindAfterMs === null ? null : alerts.remindAfterMs / MINUTE_MS, null],
    ['alerts.missedAfterMinutes', alerts.missedAfterMs / MINUTE_MS, 5],
    ['alerts.silentAfterMinutes', alerts.silentAfterMs / MINUTE_MS, 10],
    ['dashboard.token', dashboard.token ?? null, null],
    ['dashboard.users', dashboard.users ?? [], []],
    ['dashboard.trustProxy', dashboard.trustProxy ?? [], []],
  ]
}

/** Every setting, manage's then the project's own (the module's other names), masked. */
export function diffSettings(settings: Settings, defaults: {cronsDir: string; spoolDir: string}): SettingLine[] {
  const known = knownSettings(settings, defaults).map(([name, value, fallback]): SettingLine => {
    const shown = masked(name, value)
    const differs = JSON.stringify(plain(value)) !== JSON.stringify(plain(fallback))
    return {name, value: shown, default: masked(name, fallback), differs}
  })
  const taken = new Set(known.map((line) => line.name.split('.')[0]))
  const own = Object.keys(settings.values)
    .filter((name) => !taken.has(name))
    .sort()
    .map((name): SettingLine => ({name, value: masked(name, settings.values[name]), differs: true}))
  return [...known, ...own]
}

/** The secrets the settings are known to hold: scrubbed from the text as the last guard. */
export function settingsSecrets(settings: Settings): string[] {
  const dashboard = (settings.values.dashboard ?? {}) as {token?: unknown; users?: Array<{passwordHash?: unknown}>}
  const channels = settings.alerts.channels.flatMap((channel) => driverOf(channel).secrets(channel))
  const ping = settings.tickPingUrl === null ? [] : urlSecrets(settings.tickPingUrl)
  const own = [dashboard.token, ...(Array.isArray(dashboard.users) ? dashboard.users.map((user) => user?.passwordHash) : [])]
  return [...channels, ...ping, ...own.filter((value): value is string => typeof value === 'string')]
}

/** The lines as text: `name = value`, `  ###` after those that differ from manage's default. */
export function settingsText(lines: SettingLine[], secrets: readonly string[]): string {
  const text = lines.map((line) => `${line.name} = ${JSON.stringify(line.value)}${line.differs ? '  ###' : ''}\n`).join('')
  return scrubSecrets(text, secrets)
}

/** A value made JSON (a class or function by its name), for comparing and showing. */
function plain(value: unknown): unknown {
  if (typeof value === 'function') return value.name || '(anonymous)'
  if (Array.isArray(value)) return value.map(plain)
  if (value instanceof Date) return value.toISOString()
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)]))
  if (typeof value === 'bigint' || typeof value === 'symbol') return String(value)
  return value ?? null
}

/** The value with every secret in it masked: by its name (at any depth), or a URL's password and path. */
function masked(name: string, value: unknown): unknown {
  const last = name.split('.').at(-1) ?? name
  if (SECRET_NAME.test(last) && value !== null && value !== undefined && value !== '') return '***'
  if (typeof value === 'string') return maskedUrl(value)
  if (typeof value === 'function') return plain(value)
  if (Array.isArray(value)) return value.map((inner) => masked(name, inner))
  if (value && typeof value === 'object' && !(value instanceof Date)) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, masked(key, inner)]))
  return plain(value)
}

/** A string that is a URL, without its secrets; any other string as it is. */
function maskedUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text
  if (/^https?:/i.test(text)) {
    try {
      return webhookOrigin(text)
    } catch {
      return `${text.split(':')[0]}://(a URL that does not parse)`
    }
  }
  return safeConnectionString(text)
}

function urlSecrets(raw: string): string[] {
  try {
    const url = new URL(raw)
    return [url.pathname, url.search, url.password, url.username].filter((part) => part.length > 1)
  } catch {
    return []
  }
}
