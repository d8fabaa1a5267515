import {rowsOf, type ConnectionSource} from '../core/db/connection-source'
import {isFailedStatus, type RunRow, type RunStatus, type SkippedPeriod} from '../core/contract/run-types'
import {loadJobs, type LoadedJob} from '../core/jobs/load-jobs'
import {decisionOptions, type Settings} from '../core/project/settings'
import {listActions, type ActionRow} from '../core/operate/action-log'
import {SqlServerTicks, type RunnerRow} from '../core/run-log/server-ticks'
import {listJobs, type JobListing} from '../core/operate/job-list'
import {runRowOf} from '../core/run-log/rows'
import {SqlRunStore} from '../core/run-log/run-store'
import * as pages from '../core/run-log/run-page-statements'
import {EMPTY_HISTORY} from '../core/schedule/history'
import {nextDueTimes} from '../core/schedule/next-due'
import {periodsBetween} from '../core/schedule/periods'
import {usesLedger} from '../core/jobs/run-policy'
import {DAY_MS} from '../core/time/units'

export type {ActionRow} from '../core/operate/action-log'

/** A job as the dashboard shows it: crons:list's row, its failing streak and its pause's note. */
export interface JobView extends JobListing {
  failingStreak: number
  pauseNote: string | null
}

export interface RunFilter {
  status?: RunStatus
  fromMs?: number
  toMs?: number
  /** Text the message contains. */
  text?: string
  /** Runs older than this one (the page before): a cursor, so paging stays on the index. */
  before?: number
  limit: number
}

/** Runs read per job for its failing streak: past this many failures it shows "50+". */
const STREAK_WINDOW = 50

/**
 * What the dashboard reads: every query goes through the run log's indexes ((code, start_time),
 * (code, status, start_time), the primary keys), and the history is paged by a cursor, so pages stay
 * fast with a large log.
 */
export class DashboardData {
  private readonly store: SqlRunStore
  /** The settings' jobs, loaded once: the dashboard serves these and no others. */
  private readonly loaded: readonly LoadedJob[]

  constructor(
    private readonly source: ConnectionSource,
    private readonly settings: Settings,
  ) {
    this.store = new SqlRunStore(source)
    this.loaded = loadJobs(settings.crons).jobs
  }

  codes(): Set<string> {
    return new Set(this.loaded.map((job) => job.code))
  }

  async jobs(nowMs: number, only?: string): Promise<JobView[]> {
    // One job's page reads that job's history alone.
    const crons = only === undefined ? this.settings.crons : this.loaded.filter((job) => job.code === only).map((job) => job.job.constructor)
    const {jobs} = await listJobs(this.store, {...this.settings, crons}, nowMs)
    return Promise.all(jobs.map(async (job) => ({...job, failingStreak: await this.failingStreak(job.code), pauseNote: job.paused?.note ?? null})))
  }

  /** One job: its row, the next 10 due times, recent runs, runs for the chart and the timeline, its ledger's latest skips, and what people did to it. */
  async job(code: string, nowMs: number): Promise<{job: JobView; upcoming: number[]; recent: RunRow[]; chart: RunRow[]; timeline: RunRow[]; skips: SkippedPeriod[]; actions: ActionRow[]} | null> {
    if (!this.codes().has(code)) return null
    const job = (await this.jobs(nowMs, code)).find((candidate) => candidate.code === code)
    if (!job) return null
    const loaded = this.loaded.find((candidate) => candidate.code === code)!
    const history = (await this.store.histories(nowMs, {codes: [code], skewMs: this.settings.clockSkewMs})).get(code) ?? EMPTY_HISTORY
    const upcoming = job.paused ? [] : usesLedger(loaded.policy) ? await this.nextPeriods(loaded, nowMs) : nextDueTimes(loaded.schedule, history, code, nowMs, 10, decisionOptions(this.settings)).map((due) => due.atMs)
    const recent = await this.runs(code, {limit: 20})
    const chart = (await this.runs(code, {limit: 200})).filter((run) => run.endMs !== null).reverse()
    const timeline = await this.runs(code, {fromMs: nowMs - 3 * DAY_MS, toMs: nowMs, limit: 2000})
    const skips = await this.store.listSkips({code, limit: 20})
    return {job, upcoming, recent, chart, timeline, skips, actions: await this.actions(code, 20)}
  }

  /** A policy job's next 10 periods: after its ledger's hold (an interval's follow it), from now on. */
  private async nextPeriods(job: LoadedJob, nowMs: number): Promise<number[]> {
    const {heldToMs} = await this.store.jobHold(job.code)
    const zone = job.schedule.timeZone ?? this.settings.timeZone
    const periods = periodsBetween(job.schedule, heldToMs ?? nowMs, nowMs + 400 * DAY_MS, zone, 500).periods
    return periods.filter((period) => period.ms > nowMs).slice(0, 10).map((period) => period.ms)
  }

  /** A job's runs, newest first, filtered and paged. */
  async runs(code: string, filter: RunFilter): Promise<RunRow[]> {
    let cursor: pages.RunCursor | null = null
    if (filter.before !== undefined) {
      const [row] = await rowsOf(this.source, pages.selectRunStart(filter.before))
      if (row) cursor = {startTime: row.start_time, id: filter.before}
    }
    return (await rowsOf(this.source, pages.selectRunPage(this.source.dialect, code, filter, cursor))).map((row) => runRowOf(row, this.source.dialect))
  }

  run(id: number): Promise<RunRow | null> {
    return this.store.getRun(id)
  }

  async runners(): Promise<RunnerRow[]> {
    return new SqlServerTicks(this.source).list()
  }

  actions(code: string, limit: number): Promise<ActionRow[]> {
    return listActions(this.source, code, limit)
  }

  /** Failed, timed-out or interrupted runs since its last success (running rows aside). */
  private async failingStreak(code: string): Promise<number> {
    const rows = await rowsOf(this.source, pages.selectEndedStatuses(code, STREAK_WINDOW))
    let streak = 0
    for (const row of rows) {
      if (!isFailedStatus(String(row.status))) break
      streak++
    }
    return streak
  }
}
