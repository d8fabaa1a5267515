import type {Knex} from 'knex'
import type {RunStatus} from '../jobs/cron-job-base'
import type {Dialect} from '../db/database'
import {changesOf, knexSource, rowsOf, type ConnectionSource} from '../db/connection-source'
import {historiesFromRows, historiesQuery, summaryOf} from './history-query'
import type {JobHistory, PauseInfo, RunSummary} from '../schedule/is-due'
import {deleteOtherSuccesses, ensureJob, ensureJobs, finishRun, insertRun, interruptRun, oldRuns, renewRun, selectStaleRuns, type NewRun} from './statements'
import {timeCodec, type TimeCodec} from './time-codec'

/** A whole run-log row. */
export interface RunRow extends RunSummary {
  endMs: number | null
  message: string | null
  heartbeatMs: number | null
}

export type {NewRun} from './statements'

/** The run log: what the decision reads and what a run writes. */
export interface RunStore {
  /** Every job's history at `nowMs` in one statement (only `codes`, when given). */
  histories(nowMs: number, codes?: readonly string[]): Promise<Map<string, JobHistory>>
  getRun(id: number): Promise<RunRow | null>
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

/** Rows per statement in ensureJobs: well under every database's limit on bound values. */
const ENSURE_CHUNK = 200

/** The run log in plain SQL, over knex's connections or a driver connection of its own (see ConnectionSource). */
export class SqlRunStore implements RunStore {
  private readonly dialect: Dialect
  private readonly time: TimeCodec

  constructor(private readonly source: ConnectionSource) {
    this.dialect = source.dialect
    this.time = timeCodec(source.dialect)
  }

  async histories(nowMs: number, codes?: readonly string[]): Promise<Map<string, JobHistory>> {
    return historiesFromRows(await rowsOf(this.source, historiesQuery(this.dialect, nowMs, codes)), this.dialect, nowMs)
  }

  async getRun(id: number): Promise<RunRow | null> {
    return (await this.getRuns([id]))[0] ?? null
  }

  async getRuns(ids: readonly number[]): Promise<RunRow[]> {
    if (ids.length === 0) return []
    const rows = await rowsOf(this.source, {sql: `SELECT * FROM cron_job_log WHERE id IN (${ids.map(() => '?').join(', ')})`, bindings: [...ids]})
    return rows.map((row) => runRowOf(row, this.dialect))
  }

  async listRuns(query: {code?: string; status?: RunStatus; limit: number}): Promise<RunRow[]> {
    const where: string[] = []
    const bindings: unknown[] = []
    if (query.code) {
      where.push('code = ?')
      bindings.push(query.code)
    }
    if (query.status) {
      where.push('status = ?')
      bindings.push(query.status)
    }
    const sql = `SELECT * FROM cron_job_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY start_time DESC, id DESC LIMIT ?`
    return (await rowsOf(this.source, {sql, bindings: [...bindings, query.limit]})).map((row) => runRowOf(row, this.dialect))
  }

  async ensureJobs(codes: readonly string[]): Promise<void> {
    for (let i = 0; i < codes.length; i += ENSURE_CHUNK) await changesOf(this.source, ensureJobs(this.dialect, codes.slice(i, i + ENSURE_CHUNK)))
  }

  insertRun(run: NewRun, options: {ensureJob?: boolean} = {}): Promise<number> {
    return this.source.use(async (connection) => {
      if (options.ensureJob ?? true) {
        const row = ensureJob(this.dialect, run.code)
        await connection.run(row.sql, row.bindings)
      }
      const insert = insertRun(this.dialect, run)
      return (await connection.run(insert.sql, insert.bindings)).lastId!
    })
  }

  async finishRun(id: number, status: RunStatus, endMs: number, message: string | null): Promise<void> {
    await changesOf(this.source, finishRun(this.dialect, id, status, endMs, message))
  }

  async renewRun(id: number, nowMs: number, leaseMs: number): Promise<boolean> {
    return (await changesOf(this.source, renewRun(this.dialect, id, nowMs, leaseMs))) > 0
  }

  interruptStaleRuns(code: string, nowMs: number): Promise<RunRow[]> {
    return this.source.use(async (connection) => {
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

  interruptRunning(code: string, endMs: number, message: string): Promise<number> {
    return changesOf(this.source, {
      sql: "UPDATE cron_job_log SET status = 'interrupted', end_time = ?, message = ?, lease_expires_at = NULL WHERE code = ? AND status = 'running'",
      bindings: [this.time.toDb(endMs), message, code],
    })
  }

  removeSuccessfulRuns(code: string, keepId: number): Promise<number> {
    return changesOf(this.source, deleteOtherSuccesses(code, keepId))
  }

  async pausedJobs(): Promise<Map<string, PauseInfo>> {
    const rows = await rowsOf(this.source, {sql: 'SELECT code, paused_at, paused_by FROM cron_job WHERE paused_at IS NOT NULL', bindings: []})
    return new Map(rows.map((row) => [String(row.code), {sinceMs: this.time.fromDb(row.paused_at), by: (row.paused_by as string | null) ?? null}]))
  }

  setPaused(code: string, pause: PauseInfo | null): Promise<boolean> {
    return this.source.use(async (connection) => {
      const row = ensureJob(this.dialect, code)
      await connection.run(row.sql, row.bindings)
      const change = pause
        ? {sql: 'UPDATE cron_job SET paused_at = ?, paused_by = ? WHERE code = ? AND paused_at IS NULL', bindings: [this.time.toDb(pause.sinceMs ?? Date.now()), pause.by, code]}
        : {sql: 'UPDATE cron_job SET paused_at = NULL, paused_by = NULL WHERE code = ? AND paused_at IS NOT NULL', bindings: [code]}
      return (await connection.run(change.sql, change.bindings)).changes > 0
    })
  }

  async deleteRunsBefore(cutoffMs: number, options: {keepFailed?: boolean; code?: string; dryRun?: boolean} = {}): Promise<number> {
    const statement = oldRuns(this.dialect, cutoffMs, {...options, count: options.dryRun})
    if (options.dryRun) return Number((await rowsOf(this.source, statement))[0].n)
    return changesOf(this.source, statement)
  }
}

/** The run log over knex's connections (commands and tests). */
export class KnexRunStore extends SqlRunStore {
  constructor(db: Knex, dialect: Dialect) {
    super(knexSource(db, dialect))
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
