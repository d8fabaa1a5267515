import {existsSync} from 'node:fs'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {checkAlerts, type AlertSettings, type AlertsSettingsModule} from '../alerts/alert-settings'
import {webhookProblem} from '../alerts/channels/webhook'
import {CommandError} from '../base/errors'
import {loadFailure} from '../base/load-error'
import {shown} from '../base/text'
import {MAX_LIMIT_NAME} from '../jobs/run-policy'
import type {DecisionOptions} from '../schedule/is-due'
import {MAX_TIMER_MS} from '../time/units'
import {isValidTimeZone, systemTimeZone} from '../time/zone'

/** What a settings module exports by default (Django's settings.py for manage). */
export interface SettingsModule {
  /** The cron classes, in the order they are considered (django-cron's CRON_CLASSES). */
  crons?: unknown[]
  /** IANA zone for runAtTimes and day filters; default: the system's zone, as the crontab uses. */
  timeZone?: string
  /** How long a running job's claim lasts without renewal; the runner renews it while the job runs. */
  leaseSeconds?: number
  /** Where `runcrons NAME` looks for classes not listed in crons; default: the compiled src/crons. */
  cronsDir?: string
  /** Where an outcome the database could not take waits for the next tick; default: the project's var/spool. */
  spoolDir?: string
  /** After SIGTERM/SIGINT or a job's timeout, how long a job may take to stop before it is abandoned. */
  graceSeconds?: number
  /** At the end of every tick, delete run-log rows older than this many days (never a running one). */
  deleteLogsOlderThanDays?: number | null
  /** How long the tick waits for a database connection (default 10). */
  connectTimeoutSeconds?: number
  /** How long the tick waits for one of its own statements (default 30); a job's ctx.db is not bound by it. */
  statementTimeoutSeconds?: number
  /** How long recording a run's start or outcome keeps trying while the database is unreachable or busy (default 60; at most half the lease). */
  recordRetrySeconds?: number
  /** How far after a tick's now another process's run may start and still count as this period's (default 5). */
  clockSkewSeconds?: number
  /** Where alerts go and when (see README, "Alerts and monitoring"). */
  alerts?: AlertsSettingsModule
  /** Shared concurrency limits: group name → how many runs of the jobs naming it (CronJobBase.limit) may run at once, across every server. */
  limits?: Record<string, number>
  /** Pinged at the end of every crontab tick (Healthchecks-compatible; /fail when it exits non-zero): a dead man's switch that lives outside. */
  tickPingUrl?: string
  /** Who may sign in to `manage dashboard`: {token?, users?: [{name, passwordHash, readOnly?}]}, and trustProxy: the reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For/-Proto it believes (checked by the dashboard and by `manage check`, never by the tick). */
  dashboard?: {token?: string; users?: Array<{name: string; passwordHash: string; readOnly?: boolean}>; trustProxy?: string[]}
  /** Anything else the project wants to read from its settings. */
  [key: string]: unknown
}

/**
 * The settings checked and completed with the defaults. Durations are held in milliseconds,
 * converted once here from the seconds the settings module gives (leaseSeconds → leaseMs…).
 */
export interface Settings {
  crons: unknown[]
  timeZone: string
  /** leaseSeconds */
  leaseMs: number
  cronsDir: string
  /** The sources cronsDir is built from (TypeScript), for `runcrons NAME` to say a class is not built; null when unknown. */
  cronsSourceDir?: string | null
  spoolDir: string
  /** graceSeconds */
  graceMs: number
  deleteLogsOlderThanDays: number | null
  /** connectTimeoutSeconds */
  connectTimeoutMs: number
  /** statementTimeoutSeconds */
  statementTimeoutMs: number
  /** recordRetrySeconds */
  recordRetryMs: number
  /** clockSkewSeconds */
  clockSkewMs: number
  /** Where alerts go; a channel with a mistake is left out, and the mistake is in alertProblems. */
  alerts: AlertSettings
  /**
   * What is wrong in the alerts section, one line each: never a reason to stop the jobs (the tick
   * warns and runs them without those alerts), an error for `check`.
   */
  alertProblems: string[]
  tickPingUrl: string | null
  /** limits: each group's number of slots (whole, ≥ 1). */
  limits: ReadonlyMap<string, number>
  /** The settings file that was loaded. */
  file: string
  /** The module's whole default export, for the project's own settings. */
  values: SettingsModule
}

export const DEFAULT_LEASE_SECONDS = 300
export const DEFAULT_GRACE_SECONDS = 10
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10
export const DEFAULT_STATEMENT_TIMEOUT_SECONDS = 30
export const DEFAULT_CLOCK_SKEW_SECONDS = 5
export const DEFAULT_RECORD_RETRY_SECONDS = 60
/** A skew allowance of a minute or more would let a run of the next period count for this one. */
const MAX_CLOCK_SKEW_SECONDS = 59

/** A number of seconds a setting holds: at least `min` (whole when asked), and no more than a Node timer can wait. */
interface SecondsSetting {
  name: 'leaseSeconds' | 'graceSeconds' | 'connectTimeoutSeconds' | 'statementTimeoutSeconds' | 'recordRetrySeconds'
  fallback: number
  min: number
  /** More than `min` (not equal to it). */
  above?: boolean
  whole?: boolean
  /** How many times this many seconds one timer waits (the lease is renewed every quarter of it). */
  perTimer?: number
}

function seconds(values: SettingsModule, spec: SecondsSetting, problems: string[]): number {
  const value = values[spec.name] ?? spec.fallback
  const max = Math.floor((MAX_TIMER_MS / 1000) * (spec.perTimer ?? 1))
  const kind = `${spec.whole ? 'a whole number' : 'a number'} of seconds ${spec.above ? '>' : '≥'} ${spec.min}`
  const fix = `use e.g. ${spec.name}: ${spec.fallback}`
  if (typeof value !== 'number' || !Number.isFinite(value) || (spec.whole && !Number.isInteger(value)) || (spec.above ? value <= spec.min : value < spec.min)) {
    problems.push(`${spec.name} ${shown(value)} is not ${kind}: ${fix}`)
  } else if (value > max) {
    problems.push(`${spec.name} ${value} is more than ${max} seconds, longer than Node's timers can wait (2^31 − 1 ms): ${fix}`)
  }
  return value as number
}

/** The settings' limits: an object of group name → a whole number of slots ≥ 1. */
function limitsOf(value: unknown, problems: string[]): ReadonlyMap<string, number> {
  const limits = new Map<string, number>()
  if (value === undefined || value === null) return limits
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`limits ${shown(value)} is not an object of group names and numbers: use e.g. limits: {reports: 2}`)
    return limits
  }
  for (const [name, slots] of Object.entries(value as Record<string, unknown>)) {
    if (name.trim() === '' || name.length > MAX_LIMIT_NAME) problems.push(`limits names a group ${shown(name)}: use a name of 1–${MAX_LIMIT_NAME} characters, e.g. limits: {reports: 2}`)
    else if (typeof slots !== 'number' || !Number.isInteger(slots) || slots < 1) problems.push(`limits.${name} ${shown(slots)} is not a whole number ≥ 1 (how many of its runs at once): use e.g. limits: {${name}: 2}`)
    else limits.set(name, slots)
  }
  return limits
}

/** Where the project's parts are unless the settings say otherwise. */
export interface SettingsDefaults {
  cronsDir: string
  spoolDir: string
  cronsSourceDir?: string | null
}

/** Load and check a compiled settings module (.js, .cjs or .mjs). Every problem is one line of the error. */
export async function loadSettings(file: string, defaults: SettingsDefaults): Promise<Settings> {
  const absolute = path.resolve(file)
  if (/\.(m|c)?ts$/.test(absolute)) {
    throw new CommandError(`settings module ${absolute} is TypeScript: point at its compiled .js file (run \`npm run build\`)`)
  }
  if (!existsSync(absolute)) {
    throw new CommandError(`settings module ${absolute} does not exist: run \`npm run build\`, or pass --settings PATH (or MANAGE_SETTINGS=PATH) to a compiled .js/.cjs/.mjs file`)
  }

  let loaded: unknown
  try {
    loaded = absolute.endsWith('.mjs') ? await import(pathToFileURL(absolute).href) : require(absolute)
  } catch (error) {
    throw new CommandError(`settings module ${absolute} failed to load: ${loadFailure(error)}`, 1, error)
  }
  const module = loaded as {default?: unknown; __esModule?: boolean}
  const values = (module && typeof module === 'object' && 'default' in module ? module.default : module) as SettingsModule

  if (!values || typeof values !== 'object') {
    throw new CommandError(`settings module ${absolute} exports no settings object: add \`export default { crons: [MyCronJob] }\``)
  }
  return checkSettings(values, absolute, defaults)
}

/** Settings values checked and completed with the defaults; `file` names them in the problems. Every problem is one line of the error. */
export function checkSettings(values: SettingsModule, absolute: string, defaults: SettingsDefaults): Settings {
  const problems: string[] = []
  if (values.crons !== undefined && !Array.isArray(values.crons)) {
    problems.push(`crons is ${typeof values.crons}, not a list: use crons: [MyCronJob, OtherCronJob]`)
  }
  const timeZone = values.timeZone ?? systemTimeZone()
  if (!isValidTimeZone(timeZone)) {
    problems.push(`timeZone '${String(timeZone)}' is not an IANA time zone: use e.g. 'Europe/Paris', 'America/New_York' or 'UTC'`)
  }
  const leaseSeconds = seconds(values, {name: 'leaseSeconds', fallback: DEFAULT_LEASE_SECONDS, min: 10, whole: true, perTimer: 4}, problems)
  const graceSeconds = seconds(values, {name: 'graceSeconds', fallback: DEFAULT_GRACE_SECONDS, min: 0}, problems)
  const connectTimeoutSeconds = seconds(values, {name: 'connectTimeoutSeconds', fallback: DEFAULT_CONNECT_TIMEOUT_SECONDS, min: 0, above: true}, problems)
  const statementTimeoutSeconds = seconds(values, {name: 'statementTimeoutSeconds', fallback: DEFAULT_STATEMENT_TIMEOUT_SECONDS, min: 0, above: true}, problems)
  const recordRetrySeconds = seconds(values, {name: 'recordRetrySeconds', fallback: DEFAULT_RECORD_RETRY_SECONDS, min: 0}, problems)
  const clockSkewSeconds = values.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS
  if (typeof clockSkewSeconds !== 'number' || !Number.isFinite(clockSkewSeconds) || clockSkewSeconds < 0 || clockSkewSeconds > MAX_CLOCK_SKEW_SECONDS) {
    problems.push(`clockSkewSeconds ${shown(clockSkewSeconds)} is not a number of seconds from 0 to ${MAX_CLOCK_SKEW_SECONDS}: use e.g. clockSkewSeconds: ${DEFAULT_CLOCK_SKEW_SECONDS}`)
  }
  const keepDays = values.deleteLogsOlderThanDays ?? null
  if (keepDays !== null && (typeof keepDays !== 'number' || !Number.isInteger(keepDays) || keepDays < 1)) {
    problems.push(`deleteLogsOlderThanDays ${shown(keepDays)} is not a whole number of days ≥ 1: use e.g. deleteLogsOlderThanDays: 30, or leave it out`)
  }
  const limits = limitsOf(values.limits, problems)
  const alertProblems: string[] = []
  const alerts = checkAlerts(values.alerts, alertProblems)
  const tickPingProblem = values.tickPingUrl === undefined ? null : webhookProblem(values.tickPingUrl)
  if (tickPingProblem) problems.push(`tickPingUrl ${tickPingProblem}: use an http:// or https:// URL (a Healthchecks.io check's, for example)`)
  for (const name of ['cronsDir', 'spoolDir'] as const) {
    if (values[name] !== undefined && typeof values[name] !== 'string') problems.push(`${name} must be a path (a string)`)
  }
  if (problems.length > 0) {
    throw new CommandError(problems.map((problem) => `settings ${absolute}: ${problem}`).join('\n'))
  }

  return {
    crons: (values.crons as unknown[] | undefined) ?? [],
    timeZone: timeZone as string,
    leaseMs: leaseSeconds * 1000,
    graceMs: graceSeconds * 1000,
    deleteLogsOlderThanDays: keepDays as number | null,
    connectTimeoutMs: connectTimeoutSeconds * 1000,
    statementTimeoutMs: statementTimeoutSeconds * 1000,
    clockSkewMs: (clockSkewSeconds as number) * 1000,
    recordRetryMs: recordRetrySeconds * 1000,
    alerts,
    alertProblems,
    tickPingUrl: (values.tickPingUrl as string | undefined) ?? null,
    limits,
    cronsDir: values.cronsDir ? path.resolve(path.dirname(absolute), values.cronsDir as string) : defaults.cronsDir,
    cronsSourceDir: values.cronsDir ? null : (defaults.cronsSourceDir ?? null),
    spoolDir: values.spoolDir ? path.resolve(path.dirname(absolute), values.spoolDir as string) : defaults.spoolDir,
    file: absolute,
    values,
  }
}

/**
 * What every decision (verdict, isDue, nextDue) takes from the settings: their zone and the
 * clock-skew allowance, with the caller's own (a tick's --force, a job's pause). Built here alone,
 * so that no decision is made without one of them.
 */
export function decisionOptions(settings: Pick<Settings, 'timeZone' | 'clockSkewMs'>, own: Omit<DecisionOptions, 'timeZone' | 'clockSkewMs'> = {}): DecisionOptions {
  return {timeZone: settings.timeZone, clockSkewMs: settings.clockSkewMs, ...own}
}
