import {existsSync} from 'node:fs'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {CommandError} from '../errors'
import {firstLine} from '../text'
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
  /** After SIGTERM/SIGINT or a job's timeout, how long a job may take to stop before it is abandoned. */
  graceSeconds?: number
  /** At the end of every tick, delete run-log rows older than this many days (never a running one). */
  deleteLogsOlderThanDays?: number | null
  /** Anything else the project wants to read from its settings. */
  [key: string]: unknown
}

export interface Settings {
  crons: unknown[]
  timeZone: string
  leaseSeconds: number
  cronsDir: string
  graceSeconds: number
  deleteLogsOlderThanDays: number | null
  /** The settings file that was loaded. */
  file: string
  /** The module's whole default export, for the project's own settings. */
  values: SettingsModule
}

export const DEFAULT_LEASE_SECONDS = 300
export const DEFAULT_GRACE_SECONDS = 10

/** Load and check a compiled settings module (.js, .cjs or .mjs). Every problem is one line of the error. */
export async function loadSettings(file: string, defaults: {cronsDir: string}): Promise<Settings> {
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
    const reason = error instanceof Error ? firstLine(error.message) : String(error)
    throw new CommandError(`settings module ${absolute} failed to load: ${reason}`, 1, error)
  }
  const module = loaded as {default?: unknown; __esModule?: boolean}
  const values = (module && typeof module === 'object' && 'default' in module ? module.default : module) as SettingsModule

  const problems: string[] = []
  if (!values || typeof values !== 'object') {
    throw new CommandError(`settings module ${absolute} exports no settings object: add \`export default { crons: [MyCronJob] }\``)
  }
  if (values.crons !== undefined && !Array.isArray(values.crons)) {
    problems.push(`crons is ${typeof values.crons}, not a list: use crons: [MyCronJob, OtherCronJob]`)
  }
  const timeZone = values.timeZone ?? systemTimeZone()
  if (!isValidTimeZone(timeZone)) {
    problems.push(`timeZone '${String(timeZone)}' is not an IANA time zone: use e.g. 'Europe/Paris', 'America/New_York' or 'UTC'`)
  }
  const leaseSeconds = values.leaseSeconds ?? DEFAULT_LEASE_SECONDS
  if (typeof leaseSeconds !== 'number' || !Number.isInteger(leaseSeconds) || leaseSeconds < 10) {
    problems.push(`leaseSeconds ${JSON.stringify(leaseSeconds)} is not a whole number of seconds ≥ 10: use e.g. leaseSeconds: ${DEFAULT_LEASE_SECONDS}`)
  }
  const graceSeconds = values.graceSeconds ?? DEFAULT_GRACE_SECONDS
  if (typeof graceSeconds !== 'number' || !Number.isFinite(graceSeconds) || graceSeconds < 0) {
    problems.push(`graceSeconds ${JSON.stringify(graceSeconds)} is not a number of seconds ≥ 0: use e.g. graceSeconds: ${DEFAULT_GRACE_SECONDS}`)
  }
  const keepDays = values.deleteLogsOlderThanDays ?? null
  if (keepDays !== null && (typeof keepDays !== 'number' || !Number.isInteger(keepDays) || keepDays < 1)) {
    problems.push(`deleteLogsOlderThanDays ${JSON.stringify(keepDays)} is not a whole number of days ≥ 1: use e.g. deleteLogsOlderThanDays: 30, or leave it out`)
  }
  if (values.cronsDir !== undefined && typeof values.cronsDir !== 'string') {
    problems.push(`cronsDir must be a path (a string)`)
  }
  if (problems.length > 0) {
    throw new CommandError(problems.map((problem) => `settings ${absolute}: ${problem}`).join('\n'))
  }

  return {
    crons: (values.crons as unknown[] | undefined) ?? [],
    timeZone: timeZone as string,
    leaseSeconds: leaseSeconds as number,
    graceSeconds: graceSeconds as number,
    deleteLogsOlderThanDays: keepDays as number | null,
    cronsDir: values.cronsDir ? path.resolve(path.dirname(absolute), values.cronsDir as string) : defaults.cronsDir,
    file: absolute,
    values,
  }
}
