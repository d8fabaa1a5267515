import type {CronClass, CronJobBase} from './cron-job-base'
import {cronExpressionError} from './cron-expression'
import {luxon} from './luxon'

/** A job's schedule, validated and normalised (slots as 'HH:MM'). */
export interface Schedule {
  runEveryMins: number | null
  retryAfterFailureMins: number | null
  /** Slot strings as 'HH:MM', in list order, with their minute of the day. */
  runAtTimes: Array<{slot: string; minuteOfDay: number}>
  runWeeklyOnDays: number[] | null
  runMonthlyOnDays: number[] | null
  runToleranceSeconds: number
  allowParallelRuns: boolean
  removeSuccessfulCronLogs: boolean
  /** Minutes before the run's AbortSignal fires (null: no limit). */
  timeoutMins: number | null
  /** A cron expression (e.g. '0 3 * * 1-5'), read on the zone's wall clock, or null. */
  cron: string | null
  /** The class's own zone for cron, runAtTimes and the day filters (null: the settings'). */
  timeZone: string | null
}

/** A cron class that passed validation, with its instance. */
export interface LoadedJob {
  className: string
  code: string
  job: CronJobBase
  schedule: Schedule
}

/** One thing wrong with one class: `subject` names it, `message` says what and how to fix it. */
export interface Problem {
  subject: string
  message: string
  level: 'error' | 'warning'
}

const SLOT = /^([01]?\d|2[0-3]):([0-5]\d)$/

/** Parse 'H:MM' or 'HH:MM' to its minute of the day, or null when malformed. */
export function parseSlot(text: unknown): {slot: string; minuteOfDay: number} | null {
  if (typeof text !== 'string') return null
  const match = SLOT.exec(text.trim())
  if (!match) return null
  const hours = Number(match[1])
  const minutes = Number(match[2])
  return {slot: `${String(hours).padStart(2, '0')}:${match[2]}`, minuteOfDay: hours * 60 + minutes}
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * Instantiate and validate one class. Every problem is reported (not just the first), each as
 * one line that names the class, the option, the value and the fix.
 */
export function loadJob(cls: unknown): {job?: LoadedJob; problems: Problem[]} {
  const className = typeof cls === 'function' && cls.name ? cls.name : describe(cls)
  const problems: Problem[] = []
  const error = (message: string) => problems.push({subject: className, message, level: 'error'})

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

  if (typeof job.do !== 'function') error(`has no do() method: add "async do(ctx) { … }"`)

  const code = job.code
  if (code === undefined || code === null || code === '') {
    error(`has no code: add a unique code, e.g. code = 'app.${className.replace(/CronJob$|Job$/, '').toLowerCase() || 'job'}'`)
  } else if (typeof code !== 'string') {
    error(`code ${describe(code)} is not a string: use a unique string such as 'app.my_job'`)
  } else if (code.length > 191 || code.trim() !== code) {
    error(`code ${describe(code)} must be 1–191 characters with no leading or trailing spaces`)
  }

  const minutes = (name: 'runEveryMins' | 'retryAfterFailureMins'): number | null => {
    const value = job[name]
    if (value === undefined || value === null) return null
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      error(`${name} = ${describe(value)} is not a whole number of minutes ≥ 0: use e.g. ${name} = 5`)
      return null
    }
    return value
  }
  const runEveryMins = minutes('runEveryMins')
  const retryAfterFailureMins = minutes('retryAfterFailureMins')

  let runToleranceSeconds = 0
  if (job.runToleranceSeconds !== undefined && job.runToleranceSeconds !== null) {
    const value = job.runToleranceSeconds as unknown
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      error(`runToleranceSeconds = ${describe(value)} is not a number of seconds ≥ 0: use e.g. runToleranceSeconds = 5`)
    } else runToleranceSeconds = value
  }

  const runAtTimes: Schedule['runAtTimes'] = []
  if (job.runAtTimes !== undefined && job.runAtTimes !== null) {
    if (!Array.isArray(job.runAtTimes)) {
      error(`runAtTimes = ${describe(job.runAtTimes)} is not a list: use e.g. runAtTimes = ['06:00', '18:30']`)
    } else {
      for (const item of job.runAtTimes) {
        const parsed = parseSlot(item)
        if (!parsed) error(`runAtTimes has ${describe(item)}, not a time: use 'HH:MM' on a 24-hour clock, e.g. '06:00' or '18:30'`)
        else if (!runAtTimes.some((existing) => existing.slot === parsed.slot)) runAtTimes.push(parsed)
      }
    }
  }

  const days = (name: 'runWeeklyOnDays' | 'runMonthlyOnDays', low: number, high: number, hint: string): number[] | null => {
    const value = job[name] as unknown
    if (value === undefined || value === null) return null
    if (!Array.isArray(value)) {
      error(`${name} = ${describe(value)} is not a list: use e.g. ${name} = ${hint}`)
      return null
    }
    const bad = value.filter((day) => typeof day !== 'number' || !Number.isInteger(day) || day < low || day > high)
    if (bad.length > 0) {
      error(`${name} has ${bad.map(describe).join(', ')}: use whole numbers from ${low} to ${high}${name === 'runWeeklyOnDays' ? ' (Monday = 0 … Sunday = 6)' : ''}`)
      return null
    }
    return value as number[]
  }
  const runWeeklyOnDays = days('runWeeklyOnDays', 0, 6, '[5, 6]')
  const runMonthlyOnDays = days('runMonthlyOnDays', 1, 31, '[1, 15]')

  let cron: string | null = null
  if (job.cron !== undefined && job.cron !== null) {
    const value = job.cron as unknown
    const reason = typeof value === 'string' ? cronExpressionError(value.trim()) : 'not a string'
    if (reason !== null) error(`cron = ${describe(value)} is not a cron expression (${reason}): use five fields, e.g. cron = '*/5 * * * *'`)
    else cron = (value as string).trim()
  }

  let timeZone: string | null = null
  if (job.timeZone !== undefined && job.timeZone !== null) {
    const value = job.timeZone as unknown
    if (typeof value !== 'string' || !luxon().IANAZone.isValidZone(value)) error(`timeZone = ${describe(value)} is not an IANA time zone: use e.g. 'Europe/Paris' or 'UTC'`)
    else timeZone = value
  }

  let timeoutMins: number | null = null
  if (job.timeoutMins !== undefined && job.timeoutMins !== null) {
    const value = job.timeoutMins as unknown
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      error(`timeoutMins = ${describe(value)} is not a number of minutes > 0: use e.g. timeoutMins = 30`)
    } else timeoutMins = value
  }

  const flag = (name: 'allowParallelRuns' | 'removeSuccessfulCronLogs'): boolean => {
    const value = job[name] as unknown
    if (value === undefined || value === null) return false
    if (typeof value !== 'boolean') {
      error(`${name} = ${describe(value)} is not true or false`)
      return false
    }
    return value
  }
  const allowParallelRuns = flag('allowParallelRuns')
  const removeSuccessfulCronLogs = flag('removeSuccessfulCronLogs')

  if (problems.length > 0) return {problems}

  if (runEveryMins === null && runAtTimes.length === 0 && cron === null) {
    problems.push({
      subject: className,
      level: 'warning',
      message: 'has no runEveryMins, runAtTimes or cron, so it runs only with --force: add a schedule if that is not what you meant',
    })
  }

  return {
    job: {
      className,
      code,
      job,
      schedule: {
        runEveryMins,
        retryAfterFailureMins,
        runAtTimes,
        runWeeklyOnDays,
        runMonthlyOnDays,
        runToleranceSeconds,
        allowParallelRuns,
        removeSuccessfulCronLogs,
        timeoutMins,
        cron,
        timeZone,
      },
    },
    problems,
  }
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
    problems.push(...result.problems)
    if (result.job) loaded.push(result.job)
  }

  const byCode = new Map<string, LoadedJob[]>()
  for (const job of loaded) byCode.set(job.code, [...(byCode.get(job.code) ?? []), job])
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
