import type {LoadedJob} from '../jobs/load-jobs'
import type {Settings} from '../project/settings'
import {EMPTY_TICK_STATE, type ServerTicks, type TickState} from '../run-log/server-ticks'
import {EMPTY_HISTORY} from '../schedule/history'
import {DAY_MS} from '../time/units'
import type {JobHistory, PauseInfo, RunLogView} from '../contract/run-types'

/** What a tick decides on: every job's history and the paused jobs, read once at the tick's time (with the servers' last ticks and the outbox's next alert, when it has the servers' ticks). */
export interface Snapshot {
  nowMs: number
  histories: ReadonlyMap<string, JobHistory>
  paused: ReadonlyMap<string, PauseInfo>
  state: TickState
}

/**
 * Two statements whatever the number of jobs (none when there are no jobs). `some`: the jobs are
 * some of the crons (a scheduler's partial wake), so the histories read are theirs alone; else
 * every job's, in a statement that names none.
 */
export async function readSnapshot(runLog: RunLogView, jobs: readonly LoadedJob[], nowMs: number, options: {leaseNowMs: number; skewMs: number; servers?: ServerTicks; some?: boolean}): Promise<Snapshot> {
  if (jobs.length === 0) return {nowMs, histories: new Map(), paused: new Map(), state: EMPTY_TICK_STATE}
  const {leaseNowMs, skewMs} = options
  const histories = await runLog.histories(nowMs, options.some ? {leaseNowMs, skewMs, codes: jobs.map((job) => job.code)} : {leaseNowMs, skewMs})
  const state = options.servers ? await options.servers.tickState() : {...EMPTY_TICK_STATE, paused: await runLog.pausedJobs()}
  return {nowMs, histories, paused: state.paused, state}
}

export function historyOf(snapshot: Snapshot, code: string): JobHistory {
  return snapshot.histories.get(code) ?? EMPTY_HISTORY
}

/** django-cron's DJANGO_CRON_DELETE_LOGS_OLDER_THAN: at the end of a tick, after deciding. */
export async function trimRunLog(runLog: RunLogView, settings: Settings, nowMs: number): Promise<void> {
  if (settings.deleteLogsOlderThanDays !== null) await runLog.deleteRunsBefore(nowMs - settings.deleteLogsOlderThanDays * DAY_MS)
}
