import type {Knex} from 'knex'
import type {RunStatus} from './cron-job-base'
import type {Dialect} from './database'
import {historiesFromRows, historiesQuery, summaryOf} from './history-query'
import {EMPTY_HISTORY, type JobHistory, type PauseInfo, type RunSummary} from './is-due'
import {deleteOtherSuccesses, ensureJob, finishRun, insertRun, interruptRun, selectStaleRuns, type NewRun} from './run-sql'
import {withKnexConnection} from './sql-connection'
import {leaseClock, timeCodec, type LeaseClock, type TimeCodec} from './time-codec'

/** A whole run-log row. */
export interface RunRow extends RunSummary {
  endMs: number | null
  message: string | null
  heartbeatMs: number | null
}

export type {NewRun} from './run-sql'

/** The run log: what the decision reads and what a run writes. */
export interface RunStore {
  /** Every job's history at `nowMs` in one statement (only `codes`, when given). */
  histories(nowMs: number, codes?: readonly string[]): Promise<Map<string, JobHistory>>
  getRun(id: number): Promise<RunRow | null>
  /** One job's history, with its last success in full (one statement, for the job about to run). */
  jobState(code: string, nowMs: number): Promise<{history: JobHistory; lastSuccess: RunRow | null}>
  getRuns(ids: readonly number[]): Promise<RunRow[]>
  /** The log, newest first, optionally for one job and one status. */
  listRuns(query: {code?: string; status?: RunStatus; limit: number}): Promise<RunRow[]>
  /** Create the cron_job rows (which carry the claims) of jobs that never ran, in one statement. */
  ensureJobs(codes: readonly string[]): Promise<void>
  /** Insert a row; `ensureJob` also creates the job's cron_job row, which the history query is driven by. */
  insertRun(run: NewRun, options?: {ensureJob?: boolean}): Promise<number>
  finishRun(id: number, status: RunStatus, endMs: number, message: string | null): Promise<void>
  /** Extend a running row's lease by `leaseMs` from now; false when the row is no longer running. */
  renewRun(id: number, nowMs: number, leaseMs: number): Promise<boolean>
  /** Mark the job's 'running' rows whose lease has run out as 'interrupted'; returns them. */
  interruptStaleRuns(code: string, nowMs: number): Promise<RunRow[]>
  /** Mark every 'running' row of the job as 'interrupted' with this message (crons:unlock --force). */
  interruptRunning(code: string, endMs: number, message: string): Promise<number>
  /** removeSuccessfulCronLogs: drop the job's successful rows other than `keepId`. */
  removeSuccessfulRuns(code: string, keepId: number): Promise<number>
  /** The paused jobs, by code. */
  pausedJobs(): Promise<Map<string, PauseInfo>>
  /** Pause (with who and when) or resume (null) a job. Returns false when nothing changed. */
  setPaused(code: string, pause: PauseInfo | null): Promise<boolean>
  /** Delete rows started before `cutoffMs`, never a 'running' one; with dryRun, only count them. */
  deleteRunsBefore(cutoffMs: number, options?: {keepFailed?: boolean; code?: string; dryRun?: boolean}): Promise<number>
}

/** Rows per statement in ensureJobs: under sqlite's SQLITE_MAX_COMPOUND_SELECT (500). */
const ENSURE_CHUNK = 200

export class KnexRunStore implements RunStore {
  private readonly time: TimeCodec
  private readonly lease: LeaseClock

  constructor(
    private readonly db: Knex,
    private readonly dialect: Dialect,
  ) {
    this.time = timeCodec(dialect)
    this.lease = leaseClock(db, dialect)
  }

  async histories(nowMs: number, codes?: readonly string[]): Promise<Map<string, JobHistory>> {
    const {sql, bindings} = historiesQuery(this.dialect, nowMs, codes)
    return historiesFromRows(rowsOf(await this.db.raw(sql, bindings)), this.dialect, nowMs)
  }

  async jobState(code: string, nowMs: number): Promise<{history: JobHistory; lastSuccess: RunRow | null}> {
    const {sql, bindings} = historiesQuery(this.dialect, nowMs, [code], true)
    const rows = rowsOf(await this.db.raw(sql, bindings))
    const history = historiesFromRows(rows, this.dialect, nowMs).get(code) ?? EMPTY_HISTORY
    const row = history.lastSuccess ? rows.find((r) => Number(r.id) === history.lastSuccess!.id) : undefined
    return {history, lastSuccess: row ? this.row(row) : null}
  }

  async getRun(id: number): Promise<RunRow | null> {
    const row = await this.db('cron_job_log').where('id', id).first()
    return row ? this.row(row) : null
  }

  async getRuns(ids: readonly number[]): Promise<RunRow[]> {
    if (ids.length === 0) return []
    return (await this.db('cron_job_log').whereIn('id', [...ids])).map((row: Record<string, unknown>) => this.row(row))
  }

  async listRuns(query: {code?: string; status?: RunStatus; limit: number}): Promise<RunRow[]> {
    const q = this.db('cron_job_log').orderBy([{column: 'start_time', order: 'desc'}, {column: 'id', order: 'desc'}]).limit(query.limit)
    if (query.code) q.where('code', query.code)
    if (query.status) q.where('status', query.status)
    return (await q).map((row: Record<string, unknown>) => this.row(row))
  }

  async ensureJobs(codes: readonly string[]): Promise<void> {
    // knex writes a many-row insert on sqlite as one compound SELECT, which sqlite caps at 500 terms.
    for (let i = 0; i < codes.length; i += ENSURE_CHUNK) {
      await this.db('cron_job').insert(codes.slice(i, i + ENSURE_CHUNK).map((code) => ({code}))).onConflict('code').ignore()
    }
  }

  async insertRun(run: NewRun, options: {ensureJob?: boolean} = {}): Promise<number> {
    return withKnexConnection(this.db, this.dialect, async (connection) => {
      if (options.ensureJob ?? true) {
        const row = ensureJob(this.dialect, run.code)
        await connection.run(row.sql, row.bindings)
      }
      const insert = insertRun(this.dialect, run)
      return (await connection.run(insert.sql, insert.bindings)).lastId!
    })
  }

  async finishRun(id: number, status: RunStatus, endMs: number, message: string | null): Promise<void> {
    const {sql, bindings} = finishRun(this.dialect, id, status, endMs, message)
    await withKnexConnection(this.db, this.dialect, (connection) => connection.run(sql, bindings))
  }

  async renewRun(id: number, nowMs: number, leaseMs: number): Promise<boolean> {
    const changed = await this.db('cron_job_log')
      .where({id, status: 'running'})
      .update({heartbeat_at: this.lease.now(nowMs), lease_expires_at: this.lease.after(nowMs, leaseMs)})
    return changed > 0
  }

  async interruptStaleRuns(code: string, nowMs: number): Promise<RunRow[]> {
    return withKnexConnection(this.db, this.dialect, async (connection) => {
      const stale = selectStaleRuns(this.dialect, code, nowMs)
      const interrupted: RunRow[] = []
      for (const raw of await connection.all(stale.sql, stale.bindings)) {
        const run = runRowOf(raw, this.dialect)
        const {endMs, message} = interruptionOf(run)
        const update = interruptRun(this.dialect, run.id, endMs, message)
        if ((await connection.run(update.sql, update.bindings)).changes > 0) interrupted.push({...run, status: 'interrupted', message})
      }
      return interrupted
    })
  }

  async interruptRunning(code: string, endMs: number, message: string): Promise<number> {
    return this.db('cron_job_log').where({code, status: 'running'}).update({status: 'interrupted', end_time: this.time.toDb(endMs), message, lease_expires_at: null})
  }

  async removeSuccessfulRuns(code: string, keepId: number): Promise<number> {
    const {sql, bindings} = deleteOtherSuccesses(code, keepId)
    return (await withKnexConnection(this.db, this.dialect, (connection) => connection.run(sql, bindings))).changes
  }

  async pausedJobs(): Promise<Map<string, PauseInfo>> {
    const rows = await this.db('cron_job').whereNotNull('paused_at').select('code', 'paused_at', 'paused_by')
    return new Map(rows.map((row: Record<string, unknown>) => [String(row.code), {sinceMs: this.time.fromDb(row.paused_at), by: (row.paused_by as string | null) ?? null}]))
  }

  async setPaused(code: string, pause: PauseInfo | null): Promise<boolean> {
    await this.db('cron_job').insert({code}).onConflict('code').ignore()
    const query = this.db('cron_job').where('code', code)
    if (pause) {
      return (await query.whereNull('paused_at').update({paused_at: this.time.toDb(pause.sinceMs ?? Date.now()), paused_by: pause.by})) > 0
    }
    return (await query.whereNotNull('paused_at').update({paused_at: null, paused_by: null})) > 0
  }

  async deleteRunsBefore(cutoffMs: number, options: {keepFailed?: boolean; code?: string; dryRun?: boolean} = {}): Promise<number> {
    const query = this.db('cron_job_log').where('start_time', '<', this.time.toDb(cutoffMs)).whereNot('status', 'running')
    if (options.keepFailed) query.whereNotIn('status', ['failed', 'interrupted', 'timed_out'])
    if (options.code) query.where('code', options.code)
    if (options.dryRun) return Number(((await query.count({n: '*'})) as Array<{n: number | string}>)[0].n)
    return query.delete()
  }

  private row(row: Record<string, unknown>): RunRow {
    return runRowOf(row, this.dialect)
  }
}

/** A whole run-log row, from the database's row. */
export function runRowOf(row: Record<string, unknown>, dialect: Dialect): RunRow {
  const time = timeCodec(dialect)
  return {
    ...summaryOf(row, dialect),
    endMs: time.fromDb(row.end_time),
    message: (row.message as string | null) ?? null,
    heartbeatMs: time.fromDb(row.heartbeat_at),
  }
}

/** How a run whose lease ran out is recorded: ended when its lease did, and who stopped renewing it. */
export function interruptionOf(run: RunRow): {endMs: number; message: string} {
  const seen = run.heartbeatMs ?? run.startMs
  const message =
    `interrupted: the process ${run.pid ?? '?'} on ${run.host ?? '?'} stopped renewing its lease ` +
    `(last seen ${new Date(seen).toISOString()}, lease expired ${run.leaseExpiresMs === null ? 'unknown' : new Date(run.leaseExpiresMs).toISOString()})`
  return {endMs: run.leaseExpiresMs ?? seen, message}
}

/** knex.raw returns the rows differently per driver. */
export function rowsOf(result: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(result)) {
    // mysql2: [rows, fields]; sqlite3: rows
    return Array.isArray(result[0]) ? (result[0] as Array<Record<string, unknown>>) : (result as Array<Record<string, unknown>>)
  }
  return ((result as {rows?: Array<Record<string, unknown>>}).rows ?? []) as Array<Record<string, unknown>>
}
