import {rowsOf, type ConnectionSource} from '../core/db/connection-source'
import type {RunStatus} from '../core/contract/cron-job-base'
import {loadJobs, type LoadedJob} from '../core/jobs/load-jobs'
import type {Settings} from '../core/project/settings'
import {listActions, recordAction, type ActionRow} from '../core/operate/action-log'
import {SqlServerTicks, type LastTick} from '../core/run-log/server-ticks'
import {listJobs, type JobListing} from '../core/operate/job-list'
import {runRowOf, type RunRow} from '../core/run-log/rows'
import {SqlRunStore} from '../core/run-log/run-store'
import {timeCodec} from '../core/run-log/time-codec'
import {EMPTY_HISTORY} from '../core/schedule/history'
import {nextDueTimes} from '../core/schedule/next-due'
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

const STATUSES: readonly RunStatus[] = ['running', 'succeeded', 'failed', 'interrupted', 'timed_out']
const FAILURES = new Set<RunStatus>(['failed', 'interrupted', 'timed_out'])
/** Runs read per job for its failing streak: past this many failures it shows "50+". */
const STREAK_WINDOW = 50

export function isRunStatus(value: string): value is RunStatus {
  return (STATUSES as readonly string[]).includes(value)
}

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
    const notes = await this.pauseNotes(jobs.filter((job) => job.paused))
    return Promise.all(jobs.map(async (job) => ({...job, failingStreak: await this.failingStreak(job.code), pauseNote: notes.get(job.code) ?? null})))
  }

  /** One job: its row, the next 10 due times, recent runs, runs for the chart and the timeline, and what people did to it. */
  async job(code: string, nowMs: number): Promise<{job: JobView; upcoming: number[]; recent: RunRow[]; chart: RunRow[]; timeline: RunRow[]; actions: ActionRow[]} | null> {
    if (!this.codes().has(code)) return null
    const job = (await this.jobs(nowMs, code)).find((candidate) => candidate.code === code)
    if (!job) return null
    const loaded = this.loaded.find((candidate) => candidate.code === code)!
    const history = (await this.store.histories(nowMs, {codes: [code], skewMs: this.settings.clockSkewSeconds * 1000})).get(code) ?? EMPTY_HISTORY
    const upcoming = job.paused ? [] : nextDueTimes(loaded.schedule, history, code, nowMs, 10, {timeZone: this.settings.timeZone}).map((due) => due.atMs)
    const recent = await this.runs(code, {limit: 20})
    const chart = (await this.runs(code, {limit: 200})).filter((run) => run.endMs !== null).reverse()
    const timeline = await this.runs(code, {fromMs: nowMs - 3 * DAY_MS, toMs: nowMs, limit: 2000})
    return {job, upcoming, recent, chart, timeline, actions: await this.actions(code, 20)}
  }

  /** A job's runs, newest first, filtered and paged. */
  async runs(code: string, filter: RunFilter): Promise<RunRow[]> {
    const where = ['code = ?']
    const bindings: unknown[] = [code]
    const time = timeCodec(this.source.dialect)
    if (filter.status) {
      where.push('status = ?')
      bindings.push(filter.status)
    }
    if (filter.fromMs !== undefined) {
      where.push('start_time >= ?')
      bindings.push(time.toDb(filter.fromMs))
    }
    if (filter.toMs !== undefined) {
      where.push('start_time <= ?')
      bindings.push(time.toDb(filter.toMs))
    }
    if (filter.text) {
      where.push("message LIKE ? ESCAPE '!'")
      bindings.push(`%${filter.text.replace(/[!%_]/g, '!$&')}%`)
    }
    if (filter.before !== undefined) {
      const [cursor] = await rowsOf(this.source, {sql: 'SELECT start_time FROM cron_job_log WHERE id = ?', bindings: [filter.before]})
      if (cursor) {
        where.push('(start_time < ? OR (start_time = ? AND id < ?))')
        bindings.push(cursor.start_time, cursor.start_time, filter.before)
      }
    }
    const sql = `SELECT * FROM cron_job_log WHERE ${where.join(' AND ')} ORDER BY start_time DESC, id DESC LIMIT ?`
    return (await rowsOf(this.source, {sql, bindings: [...bindings, filter.limit]})).map((row) => runRowOf(row, this.source.dialect))
  }

  run(id: number): Promise<RunRow | null> {
    return this.store.getRun(id)
  }

  async runners(): Promise<LastTick[]> {
    return new SqlServerTicks(this.source).list()
  }

  actions(code: string, limit: number): Promise<ActionRow[]> {
    return listActions(this.source, code, limit)
  }

  recordAction(action: Omit<ActionRow, 'id'>): Promise<void> {
    return recordAction(this.source, action)
  }

  /** Failed, timed-out or interrupted runs since its last success (running rows aside). */
  private async failingStreak(code: string): Promise<number> {
    const rows = await rowsOf(this.source, {sql: "SELECT status FROM cron_job_log WHERE code = ? AND status <> 'running' ORDER BY start_time DESC, id DESC LIMIT ?", bindings: [code, STREAK_WINDOW]})
    let streak = 0
    for (const row of rows) {
      if (!FAILURES.has(row.status as RunStatus)) break
      streak++
    }
    return streak
  }

  /** Each paused job's note: that of the first pause action since it was paused (the one that paused it; later ones changed nothing). */
  private async pauseNotes(jobs: readonly JobListing[]): Promise<Map<string, string>> {
    const notes = new Map<string, string>()
    for (const job of jobs) {
      const since = job.paused?.sinceMs
      if (since === null || since === undefined) continue
      const statement = {sql: "SELECT note FROM cron_action WHERE code = ? AND action = 'pause' AND at >= ? ORDER BY id LIMIT 1", bindings: [job.code, timeCodec(this.source.dialect).toDb(since)]}
      const [row] = await rowsOf(this.source, statement)
      if (row?.note) notes.set(job.code, String(row.note))
    }
    return notes
  }
}
