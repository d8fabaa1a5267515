import type {Knex} from 'knex'
import {describeCron} from '../time/cron-expression'
import {DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS, WEEKDAYS} from '../time/units'
import type {Dialect} from '../db/database'
import {EMPTY_HISTORY, isLive, type PauseInfo} from '../schedule/is-due'
import {nextDue} from '../schedule/next-due'
import {KnexRunStore, type RunRow} from './run-store'
import type {LoadedJob, Problem, Schedule} from '../jobs/load-jobs'
import type {RunStatus} from '../jobs/cron-job-base'
import {loadJobs} from '../jobs/load-jobs'

/** A schedule in words, for lists: "every 5 min (±10 s) · at 06:00, 18:30 · Sat, Sun". */
export function describeSchedule(schedule: Schedule): string {
  const parts: string[] = []
  if (schedule.runEveryMins !== null) parts.push(schedule.runEveryMins === 0 ? 'every tick' : `every ${schedule.runEveryMins} min`)
  if (schedule.cron !== null) parts.push(`cron '${schedule.cron}' (${describeCron(schedule.cron)})`)
  if (schedule.runAtTimes.length > 0) parts.push(`at ${schedule.runAtTimes.map((s) => s.slot).join(', ')}`)
  if (schedule.runWeeklyOnDays) parts.push(`on ${schedule.runWeeklyOnDays.map((d) => WEEKDAYS[d].slice(0, 3)).join(', ')}`)
  if (schedule.runMonthlyOnDays) parts.push(`on day ${schedule.runMonthlyOnDays.join(', ')}`)
  if (parts.length === 0) parts.push('only with --force')
  const extras: string[] = []
  if (schedule.runToleranceSeconds) extras.push(`tolerance ${schedule.runToleranceSeconds} s`)
  if (schedule.retryAfterFailureMins) extras.push(`retry after ${schedule.retryAfterFailureMins} min`)
  if (schedule.timeoutMins !== null) extras.push(`timeout ${schedule.timeoutMins} min`)
  if (schedule.allowParallelRuns) extras.push('parallel runs')
  if (schedule.timeZone) extras.push(schedule.timeZone)
  return parts.join(' · ') + (extras.length ? ` (${extras.join(', ')})` : '')
}

export interface JobListing {
  code: string
  className: string
  schedule: string
  timeZone: string
  lastRun: {status: RunStatus; startMs: number; endMs: number | null; durationMs: number | null} | null
  nextDueMs: number | null
  nextDueSlot: string | null
  runningNow: {host: string | null; pid: number | null; sinceMs: number} | null
  paused: PauseInfo | null
}

/**
 * One row per job (crons:list): its schedule in words, its last run, when it is next due (by
 * nextDue, which asks the decision runcrons uses), whether it runs now and whether it is paused.
 */
export async function listJobs(
  db: Knex,
  dialect: Dialect,
  crons: readonly unknown[],
  settingsZone: string,
  nowMs: number,
): Promise<{jobs: JobListing[]; problems: Problem[]}> {
  const {jobs, problems} = loadJobs(crons)
  const store = new KnexRunStore(db, dialect)
  const histories = await store.histories(nowMs)
  const paused = await store.pausedJobs()
  const lastIds = jobs.map((job) => histories.get(job.code)?.lastRun?.id).filter((id): id is number => id !== undefined)
  const lastRows = new Map<number, RunRow>((await store.getRuns(lastIds)).map((row) => [row.id, row]))

  const listing = jobs.map((job: LoadedJob): JobListing => {
    const history = histories.get(job.code) ?? EMPTY_HISTORY
    const zone = job.schedule.timeZone ?? settingsZone
    const last = history.lastRun ? lastRows.get(history.lastRun.id) ?? null : null
    const running = history.running.find((run) => isLive(run, nowMs)) ?? null
    const pause = paused.get(job.code) ?? null
    const next = nextDue(job.schedule, history, nowMs, {timeZone: settingsZone, paused: pause})
    return {
      code: job.code,
      className: job.className,
      schedule: describeSchedule(job.schedule),
      timeZone: zone,
      lastRun: last ? {status: last.status, startMs: last.startMs, endMs: last.endMs, durationMs: last.endMs === null ? null : last.endMs - last.startMs} : null,
      nextDueMs: next?.atMs ?? null,
      nextDueSlot: next?.slot ?? null,
      runningNow: running ? {host: running.host, pid: running.pid, sinceMs: running.startMs} : null,
      paused: pause,
    }
  })
  return {jobs: listing, problems}
}

const UNITS: Record<string, number> = {m: MINUTE_MS, h: HOUR_MS, d: DAY_MS, w: WEEK_MS}

/** '30d', '12h', '90m', '2w' → ms; null when malformed. */
export function parseAge(text: string): number | null {
  const match = /^(\d+)\s*([mhdw])$/i.exec(text.trim())
  if (!match || Number(match[1]) <= 0) return null
  return Number(match[1]) * UNITS[match[2].toLowerCase()]
}
