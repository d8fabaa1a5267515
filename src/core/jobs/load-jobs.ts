import {checkJobAlerts} from '../alerts/alert-settings'
import {webhookProblem} from '../alerts/channels/webhook'
import {usesLedger, type RunPolicy} from './run-policy'
import {policyOf, type Report} from './load-policy'
import {parseSlot, type Schedule} from './schedule'
import {lazily} from '../base/lazily'
import {shown} from '../base/text'
import {CRON_FIELDS, cronExpressionError, isHashed} from '../time/cron-expression'
import {luxon} from '../time/luxon'
import {MINUTE_MS, SECOND_MS} from '../time/units'
import type {CronClass, CronJobBase, JobAlertsOverride} from '../contract/cron-job-base'

/** H and spreadSeconds' hashing, loaded by the first job that uses either. */
const hashedCron = lazily(() => require('../time/hashed-cron') as typeof import('../time/hashed-cron'))

/** A cron class that passed validation, with its instance. */
export interface LoadedJob {
  className: string
  code: string
  job: CronJobBase
  /** The class it was loaded from: a scheduler's partial wake loads it again (a fresh instance, as every tick). */
  jobClass: CronClass
  /** When it is due. */
  schedule: Schedule
  /** What happens around each run: overlap, isolation, timeout, log pruning. */
  policy: RunPolicy
  /** Pinged for each run (see CronJobBase.pingUrl), or null. */
  pingUrl: string | null
  /** Its own alerts (see CronJobBase.alerts), checked alone (checkJobAlerts); applied to the settings' by jobAlerts. */
  alerts?: JobAlertsOverride
}

/** One thing wrong with one class: `subject` names it, `message` says what and how to fix it. */
export interface Problem {
  subject: string
  message: string
  level: 'error' | 'warning'
}

function wholeMinutes(name: 'runEveryMins' | 'retryAfterFailureMins', value: unknown, error: Report): number | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    error(`${name} = ${shown(value)} is not a whole number of minutes ≥ 0: use e.g. ${name} = 5`)
    return null
  }
  return value
}

function dayList(name: 'runWeeklyOnDays' | 'runMonthlyOnDays', value: unknown, low: number, high: number, hint: string, error: Report): number[] | null {
  if (value === undefined || value === null) return null
  if (!Array.isArray(value)) {
    error(`${name} = ${shown(value)} is not a list: use e.g. ${name} = ${hint}`)
    return null
  }
  const bad = value.filter((day) => typeof day !== 'number' || !Number.isInteger(day) || day < low || day > high)
  if (bad.length > 0) {
    error(`${name} has ${bad.map((value) => shown(value)).join(', ')}: use whole numbers from ${low} to ${high}${name === 'runWeeklyOnDays' ? ' (Monday = 0 … Sunday = 6)' : ''}`)
    return null
  }
  return value as number[]
}

function slotList(value: unknown, error: Report): Schedule['runAtTimes'] {
  const runAtTimes: Schedule['runAtTimes'] = []
  if (value === undefined || value === null) return runAtTimes
  if (!Array.isArray(value)) {
    error(`runAtTimes = ${shown(value)} is not a list: use e.g. runAtTimes = ['06:00', '18:30']`)
    return runAtTimes
  }
  for (const item of value) {
    const parsed = parseSlot(item)
    if (!parsed) error(`runAtTimes has ${shown(item)}, not a time: use 'HH:MM' on a 24-hour clock, e.g. '06:00' or '18:30'`)
    else if (!runAtTimes.some((existing) => existing.slot === parsed.slot)) runAtTimes.push(parsed)
  }
  return runAtTimes
}

/** C0 and C1 controls, DEL, line and paragraph separators, and the bidirectional overrides. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

/** The longest code: the run log's tables key on it (a 191-character column, the most MySQL indexes in utf8mb4). */
export const MAX_CODE_LENGTH = 191

/** What is wrong with a code given as a string, or undefined: the loader's rule, which startcron and crons:unlock apply before they act. */
export function codeProblem(code: string): string | undefined {
  if (code.length === 0 || code.length > MAX_CODE_LENGTH || code.trim() !== code) {
    return `code ${shown(code)} must be 1–${MAX_CODE_LENGTH} characters with no leading or trailing spaces`
  }
  // A code is printed on terminals and in logs, and stored as it is (PostgreSQL refuses a NUL).
  if (CONTROL_CHARACTER.test(code)) return `code ${shown(code)} has a control character (a line break, an escape, NUL…): use printable characters only, e.g. 'app.my_job'`
  return undefined
}

/**
 * Instantiate and validate one class. Every problem is reported (not just the first), each as
 * one line that names the class, the option, the value and the fix.
 *
 * A tick loads every class, so each option is read from the instance once (each read of a class
 * of its own is a slow, megamorphic one) and the common case allocates little.
 */
export function loadJob(cls: unknown): {job?: LoadedJob; problems: Problem[]} {
  const className = typeof cls === 'function' && cls.name ? cls.name : shown(cls)
  const problems: Problem[] = []
  const error: Report = (message) => problems.push({subject: className, message, level: 'error'})

  if (typeof cls !== 'function') {
    error(`is not a class: list cron classes (not instances or module objects) in the settings' crons`)
    return {problems}
  }

  let job: CronJobBase
  try {
    job = new (cls as CronClass)()
  } catch (caught) {
    error(`its constructor threw "${caught instanceof Error ? caught.message : String(caught)}": a cron class must be constructible with no arguments`)
    return {problems}
  }

  const {code, runEveryMins: every, runEverySeconds: everySeconds, retryAfterFailureMins: retry, runToleranceSeconds: tolerance, runAtTimes: slots, runWeeklyOnDays: weekly, runMonthlyOnDays: monthly} = job
  const {cron: expression, timeZone: zone} = job

  if (typeof job.do !== 'function') error(`has no do() method: add "async do(ctx) { … }"`)

  checkCode(code, className, error)

  const runEveryMins = wholeMinutes('runEveryMins', every, error)
  const retryAfterFailureMins = wholeMinutes('retryAfterFailureMins', retry, error)

  const runToleranceSeconds = toleranceOf(tolerance, error)
  const intervalMs = intervalOf(runEveryMins, everySeconds, runToleranceSeconds, error)
  const spreadMs = spreadOf(job.spreadSeconds, intervalMs, code, error)

  const runAtTimes = slotList(slots, error)
  const runWeeklyOnDays = dayList('runWeeklyOnDays', weekly, 0, 6, '[5, 6]', error)
  const runMonthlyOnDays = dayList('runMonthlyOnDays', monthly, 1, 31, '[1, 15]', error)

  const {cron, cronWritten} = cronOf(expression, code, error)
  const timeZone = timeZoneOf(zone, error)
  const policy = policyOf(job, error)
  const pingUrl = (job.pingUrl as unknown) ?? null
  const pingProblem = pingUrl === null ? null : webhookProblem(pingUrl)
  // Not quoted back: a check's URL is its secret.
  if (pingProblem) error(`pingUrl ${pingProblem}: use the http:// or https:// URL of a check (Healthchecks.io, Cronitor…)`)
  const alerts = job.alerts as unknown
  if (alerts !== undefined) {
    const alertProblems: string[] = []
    checkJobAlerts(alerts, alertProblems)
    alertProblems.forEach(error)
  }

  if (usesLedger(policy) && intervalMs === 0) error(`${policy.catchUp !== null ? `catchUp = '${policy.catchUp}'` : `overlap = '${policy.overlap}'`} with runEveryMins = 0: a job due at every tick has no periods to account for; drop it or use runEveryMins ≥ 1`)
  if (problems.length > 0) return {problems}

  if (intervalMs === null && runAtTimes.length === 0 && cron === null) {
    problems.push({
      subject: className,
      level: 'warning',
      message: 'has no runEveryMins, runEverySeconds, runAtTimes or cron, so it runs only with --force: add a schedule if that is not what you meant',
    })
  }

  const schedule: Schedule = {intervalMs, retryAfterFailureMins, runAtTimes, runWeeklyOnDays, runMonthlyOnDays, runToleranceSeconds, cron, cronWritten, timeZone}
  if (spreadMs !== null) schedule.spreadMs = spreadMs
  return {job: {className, code, job, jobClass: cls as CronClass, schedule, policy, pingUrl: pingUrl as string | null, alerts: alerts as JobAlertsOverride | undefined}, problems}
}

/**
 * spreadSeconds: whole seconds ≥ 1, at most the interval, for a job with runEveryMins or
 * runEverySeconds; the offset is the code's hash modulo it, the same on every server (null: unset).
 */
function spreadOf(value: unknown, intervalMs: number | null, code: unknown, error: Report): number | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    error(`spreadSeconds = ${shown(value)} is not a whole number of seconds ≥ 1: use e.g. spreadSeconds = 60`)
    return null
  }
  if (intervalMs === null || intervalMs === 0) {
    error(`spreadSeconds = ${value} needs an interval to spread inside (runEveryMins ≥ 1 or runEverySeconds): add one, or use H in a cron expression`)
    return null
  }
  if (value * SECOND_MS > intervalMs) {
    error(`spreadSeconds = ${value} is longer than the interval (${intervalMs / SECOND_MS} s): use at most spreadSeconds = ${intervalMs / SECOND_MS}`)
    return null
  }
  return typeof code === 'string' ? (hashedCron().codeHash(code, 7) % value) * SECOND_MS : 0
}

/** The code: a non-empty string that a line, a terminal and a database can all show. */
function checkCode(code: unknown, className: string, error: Report): void {
  if (code === undefined || code === null || code === '') {
    error(`has no code: add a unique code, e.g. code = 'app.${className.replace(/CronJob$|Job$/, '').toLowerCase() || 'job'}'`)
  } else if (typeof code !== 'string') {
    error(`code ${shown(code)} is not a string: use a unique string such as 'app.my_job'`)
  } else {
    const problem = codeProblem(code)
    if (problem !== undefined) error(problem)
  }
}

/**
 * The interval in ms, from runEveryMins or runEverySeconds (never both: one interval per job).
 * runEverySeconds must exceed runToleranceSeconds: a tolerance as long as the interval makes the
 * job due again the moment a run starts, so a second process would run the same period.
 */
function intervalOf(minutes: number | null, seconds: unknown, toleranceSeconds: number, error: Report): number | null {
  if (seconds === undefined || seconds === null) return minutes === null ? null : minutes * MINUTE_MS
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1) {
    error(`runEverySeconds = ${shown(seconds)} is not a whole number of seconds ≥ 1: use e.g. runEverySeconds = 5`)
    return null
  }
  if (minutes !== null) {
    error(`sets both runEveryMins (${minutes}) and runEverySeconds (${seconds}): keep one, e.g. runEverySeconds = ${minutes * 60 || 1}`)
    return null
  }
  if (toleranceSeconds >= seconds) {
    error(`runToleranceSeconds = ${toleranceSeconds} is not less than runEverySeconds = ${seconds}, so a run would be due again as soon as it starts: use a tolerance below ${seconds} s, e.g. runToleranceSeconds = 0`)
    return null
  }
  return seconds * SECOND_MS
}

function toleranceOf(value: unknown, error: Report): number {
  if (value === undefined || value === null) return 0
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    error(`runToleranceSeconds = ${shown(value)} is not a number of seconds ≥ 0: use e.g. runToleranceSeconds = 5`)
    return 0
  }
  return value
}

/**
 * The expression, checked, with any H resolved from the code (`cron`), and as written when it had
 * one (`cronWritten`). The H forms are checked first, then the resolved expression as any other.
 * A class whose code is not a usable string has said so already: its H is still checked, against ''.
 */
function cronOf(expression: unknown, code: unknown, error: Report): Pick<Schedule, 'cron' | 'cronWritten'> {
  const none = {cron: null, cronWritten: null}
  if (expression === undefined || expression === null) return none
  if (typeof expression !== 'string') {
    error(`cron = ${shown(expression)} is not a string: use ${CRON_FIELDS}`)
    return none
  }
  const written = expression.trim()
  const hashed = isHashed(written)
  const resolved = hashed ? hashedCron().resolveHashedCron(written, typeof code === 'string' ? code : '') : {cron: written}
  const problem = resolved.problem ?? cronExpressionError(resolved.cron!)
  if (problem !== null) {
    error(`cron = ${shown(expression)} ${problem}`)
    return none
  }
  return {cron: resolved.cron!, cronWritten: hashed ? written : null}
}

function timeZoneOf(zone: unknown, error: Report): string | null {
  let timeZone: string | null = null
  if (zone !== undefined && zone !== null) {
    const value = zone as unknown
    if (typeof value !== 'string' || !luxon().IANAZone.isValidZone(value)) error(`timeZone = ${shown(value)} is not an IANA time zone: use e.g. 'Europe/Paris' or 'UTC'`)
    else timeZone = value
  }
  return timeZone
}

/**
 * Load every class; a class with problems is left out, and so is every class whose code
 * another class also uses (the run log could not tell them apart).
 */
export function loadJobs(classes: readonly unknown[]): {jobs: LoadedJob[]; problems: Problem[]} {
  const problems: Problem[] = []
  const loaded: LoadedJob[] = []
  for (const cls of classes) {
    const result = loadJob(cls)
    for (const problem of result.problems) problems.push(problem)
    if (result.job) loaded.push(result.job)
  }

  const byCode = new Map<string, LoadedJob[]>()
  for (const job of loaded) {
    const same = byCode.get(job.code)
    if (same) same.push(job)
    else byCode.set(job.code, [job])
  }
  const jobs: LoadedJob[] = []
  const reported = new Set<string>()
  for (const job of loaded) {
    const same = byCode.get(job.code)!
    if (same.length === 1) {
      jobs.push(job)
      continue
    }
    if (reported.has(job.code)) continue
    reported.add(job.code)
    const names = same.map((other) => other.className)
    problems.push({
      subject: names.join(', '),
      level: 'error',
      message: `share the code '${job.code}', so none of them runs: give each class its own code`,
    })
  }
  return {jobs, problems}
}
