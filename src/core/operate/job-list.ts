import type {PauseInfo, RunLogView, RunRow, RunStatus} from '../contract/run-types'
import {loadJobs, type LoadedJob, type Problem} from '../jobs/load-jobs'
import {decisionOptions, type Settings} from '../project/settings'
import {describeSchedule, subMinuteNote, subMinuteRate, type SubMinuteServer} from '../schedule/describe'
import {EMPTY_HISTORY, isLive} from '../schedule/history'
import {nextDue} from '../schedule/next-due'

export interface JobListing {
  code: string
  className: string
  schedule: string
  /** A sub-minute schedule: who serves it (a scheduler that ticked recently) or that the crontab tick cannot keep it; else null. */
  note: string | null
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
 * `server`: who serves the sub-minute jobs, asked only when there is one (default: unknown).
 */
export async function listJobs(store: RunLogView, settings: Pick<Settings, 'crons' | 'timeZone' | 'clockSkewMs'>, nowMs: number, server?: () => Promise<SubMinuteServer>): Promise<{jobs: JobListing[]; problems: Problem[]}> {
  const {jobs, problems} = loadJobs(settings.crons)
  if (jobs.length === 0) return {jobs: [], problems}
  const serving = server && jobs.some((job) => subMinuteRate(job.schedule) !== null) ? await server() : undefined
  const settingsZone = settings.timeZone
  const histories = await store.histories(nowMs, {skewMs: settings.clockSkewMs, codes: jobs.map((job) => job.code)})
  const paused = await store.pausedJobs()
  const lastIds = jobs.map((job) => histories.get(job.code)?.lastRun?.id).filter((id): id is number => id !== undefined)
  const lastRows = new Map<number, RunRow>((await store.getRuns(lastIds)).map((row) => [row.id, row]))

  const listing = jobs.map((job: LoadedJob): JobListing => {
    const history = histories.get(job.code) ?? EMPTY_HISTORY
    const zone = job.schedule.timeZone ?? settingsZone
    const last = history.lastRun ? lastRows.get(history.lastRun.id) ?? null : null
    const running = history.running.find((run) => isLive(run, nowMs)) ?? null
    const pause = paused.get(job.code) ?? null
    const next = nextDue(job.schedule, history, nowMs, decisionOptions(settings, {paused: pause}))
    return {
      code: job.code,
      className: job.className,
      schedule: describeSchedule(job.schedule, job.policy),
      note: subMinuteRate(job.schedule) === null ? null : subMinuteNote(serving),
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
