import {changesOf, rowsOf, type ConnectionSource} from '../db/connection-source'
import type {Dialect} from '../db/database'
import {read, write, type SqlConnection} from '../db/sql-connection'
import type {HistoryOptions, JobHistory, PauseInfo, RunLogView, RunRow, RunStatus, SkippedPeriod} from '../contract/run-types'
import {historiesFromRows, interruptionOf, pausesOf, runRowOf, skippedPeriodOf} from './rows'
import * as sql from './statements'
import * as tickSql from './tick-statements'
import {timeCodec} from './time-codec'
import {lazily} from '../base/lazily'

/** The ledger's statements, for the commands that read or trim skips (the tick's own writes are the recorder's). */
const ledger = lazily(() => require('./ledger-statements') as typeof import('./ledger-statements'))

export type {NewRun} from './statements'

/** The whole run log: the view, and the writes of the tick (beside its recorder) and of the commands. */
export interface RunStore extends RunLogView {
  /** Create the cron_job rows (which carry the claims) of jobs that never ran, in few statements. */
  ensureJobs(codes: readonly string[]): Promise<void>
  /** Insert a row (tests, imports); `ensureJob` also creates the job's cron_job row, which the history query is driven by. */
  insertRun(run: sql.NewRun, options?: {ensureJob?: boolean}): Promise<number>
  /** Extend a running row's lease to `leaseMs` after the lease clock's now; false when the row is no longer running. */
  renewRun(id: number, leaseNowMs: number, leaseMs: number): Promise<boolean>
  /** Mark the job's 'running' rows whose lease has run out (by the lease clock) as 'interrupted'; returns them. */
  interruptStaleRuns(code: string, leaseNowMs: number): Promise<RunRow[]>
  /** Mark every 'running' row of the job as 'interrupted' with this message (crons:unlock --force). */
  interruptRunning(code: string, endMs: number, message: string): Promise<number>
  /** A ledger job's hold (cron_job.held_to) and last resume, as its decisions read them (manage why). */
  jobHold(code: string): Promise<Pick<JobHistory, 'heldToMs' | 'resumedMs'>>
  /** Delete the ledger's skips of periods before `cutoffMs`; with dryRun, only count them. */
  deleteSkipsBefore(cutoffMs: number, options?: {dryRun?: boolean}): Promise<number>
  /** The period ledger's skips, newest period first, optionally of one job and from a time on. */
  listSkips(query: {code?: string; sinceMs?: number; limit: number}): Promise<SkippedPeriod[]>
  /** Pause (with who and when) or resume (null, at `atMs`: missed periods are counted from then) a job. Returns false when nothing changed. */
  setPaused(code: string, pause: PauseInfo | null, atMs?: number): Promise<boolean>
}

/** Rows per statement in ensureJobs: well under every database's limit on bound values. */
const ENSURE_CHUNK = 200

/** The run log in plain SQL (statements.ts), over knex's connections or a driver connection of its own (see ConnectionSource). */
export class SqlRunStore implements RunStore {
  private readonly dialect: Dialect

  constructor(private readonly source: ConnectionSource) {
    this.dialect = source.dialect
  }

  async histories(nowMs: number, options: HistoryOptions = {}): Promise<Map<string, JobHistory>> {
    const rows = await rowsOf(this.source, sql.selectHistories(this.dialect, nowMs, options.codes, false, options.skewMs))
    return historiesFromRows(rows, this.dialect, nowMs, options.leaseNowMs, options.skewMs)
  }

  async getRun(id: number): Promise<RunRow | null> {
    return (await this.getRuns([id]))[0] ?? null
  }

  async getRuns(ids: readonly number[]): Promise<RunRow[]> {
    if (ids.length === 0) return []
    return (await rowsOf(this.source, sql.selectRuns(ids))).map((row) => runRowOf(row, this.dialect))
  }

  async listRuns(query: {code?: string; status?: RunStatus; limit: number}): Promise<RunRow[]> {
    return (await rowsOf(this.source, sql.selectRecentRuns(query))).map((row) => runRowOf(row, this.dialect))
  }

  async pausedJobs(): Promise<Map<string, PauseInfo>> {
    return pausesOf(await rowsOf(this.source, sql.selectPaused()), this.dialect)
  }

  async deleteRunsBefore(cutoffMs: number, options: {keepFailed?: boolean; code?: string; dryRun?: boolean} = {}): Promise<number> {
    const statement = sql.oldRuns(this.dialect, cutoffMs, {...options, count: options.dryRun})
    if (options.dryRun) return Number((await rowsOf(this.source, statement))[0].n)
    return changesOf(this.source, statement)
  }

  async ensureJobs(codes: readonly string[]): Promise<void> {
    for (let i = 0; i < codes.length; i += ENSURE_CHUNK) await changesOf(this.source, sql.ensureJobs(this.dialect, codes.slice(i, i + ENSURE_CHUNK)))
  }

  insertRun(run: sql.NewRun, options: {ensureJob?: boolean} = {}): Promise<number> {
    return this.source.use(async (connection) => {
      if (options.ensureJob ?? true) await write(connection, sql.ensureJob(this.dialect, run.code))
      return (await write(connection, sql.insertRun(this.dialect, run))).lastId!
    })
  }

  async renewRun(id: number, leaseNowMs: number, leaseMs: number): Promise<boolean> {
    return (await changesOf(this.source, sql.renewRun(this.dialect, id, leaseNowMs, leaseMs))) > 0
  }

  interruptStaleRuns(code: string, leaseNowMs: number): Promise<RunRow[]> {
    return this.source.use((connection) => interruptStaleRunsOn(connection, code, leaseNowMs))
  }

  interruptRunning(code: string, endMs: number, message: string): Promise<number> {
    return changesOf(this.source, sql.interruptRunning(this.dialect, code, endMs, message))
  }

  async jobHold(code: string): Promise<Pick<JobHistory, 'heldToMs' | 'resumedMs'>> {
    const [row] = await rowsOf(this.source, sql.selectJob(code))
    const time = timeCodec(this.dialect)
    return {heldToMs: row === undefined ? null : time.fromDb(row.held_to), resumedMs: row === undefined ? null : time.fromDb(row.resumed_at)}
  }

  async deleteSkipsBefore(cutoffMs: number, options: {dryRun?: boolean} = {}): Promise<number> {
    const statement = ledger().oldSkips(this.dialect, cutoffMs, {count: options.dryRun})
    if (options.dryRun) return Number((await rowsOf(this.source, statement))[0].n)
    return changesOf(this.source, statement)
  }

  async listSkips(query: {code?: string; sinceMs?: number; limit: number}): Promise<SkippedPeriod[]> {
    return (await rowsOf(this.source, ledger().selectSkips(this.dialect, query))).map((row) => skippedPeriodOf(row, this.dialect))
  }

  setPaused(code: string, pause: PauseInfo | null, atMs = Date.now()): Promise<boolean> {
    return this.source.use((connection) => setPausedOn(connection, code, pause, atMs))
  }
}

/** Pause (since when, by whom) or resume a job, on a connection (inside the caller's transaction, if any); true when it changed. */
export async function setPausedOn(connection: SqlConnection, code: string, pause: PauseInfo | null, atMs: number): Promise<boolean> {
  const {dialect} = connection
  await write(connection, sql.ensureJob(dialect, code))
  const change = pause ? sql.pauseJob(dialect, code, pause.sinceMs ?? atMs, pause.by) : sql.resumeJob(dialect, code, atMs)
  return (await write(connection, change)).changes > 0
}

/** The view of a store that a job is given: its methods alone, so a job cannot reach the writes. */
export function runLogView(store: RunLogView): RunLogView {
  return Object.freeze({
    histories: (nowMs: number, options?: HistoryOptions) => store.histories(nowMs, options),
    getRun: (id: number) => store.getRun(id),
    getRuns: (ids: readonly number[]) => store.getRuns(ids),
    listRuns: (query: {code?: string; status?: RunStatus; limit: number}) => store.listRuns(query),
    pausedJobs: () => store.pausedJobs(),
    deleteRunsBefore: (cutoffMs: number, options?: {keepFailed?: boolean; code?: string; dryRun?: boolean}) => store.deleteRunsBefore(cutoffMs, options),
  })
}

/**
 * Record the job's runs whose lease ran out as interrupted (their process is gone), on one
 * connection (the recorder does it inside its claim's transaction). Returns the rows it changed.
 */
export async function interruptStaleRunsOn(connection: SqlConnection, code: string, leaseNowMs: number): Promise<RunRow[]> {
  const {dialect} = connection
  const interrupted: RunRow[] = []
  for (const raw of await read(connection, sql.selectStaleRuns(dialect, code, leaseNowMs))) {
    const run = runRowOf(raw, dialect)
    const {endMs, message} = interruptionOf(run)
    if ((await write(connection, sql.interruptRun(dialect, run.id, endMs, message))).changes > 0) interrupted.push({...run, status: 'interrupted', message})
  }
  return interrupted
}

/**
 * The run log's mark (tick-statements' selectLogMark) as one string: two marks that differ say the
 * log changed between them; equal ones, that nothing a plan reads did.
 */
export async function runLogMark(source: ConnectionSource): Promise<string> {
  const [row] = await rowsOf(source, tickSql.selectLogMark())
  return Object.values(row).map((value) => (value instanceof Date ? value.getTime() : String(value))).join(' ')
}

/** The database server's time, in ms (the tick's clock on PostgreSQL and MySQL); the local clock on sqlite. */
export async function databaseNow(source: ConnectionSource): Promise<number> {
  const statement = sql.selectServerNow(source.dialect)
  if (statement === null) return Date.now()
  const [row] = await rowsOf(source, statement)
  return timeCodec(source.dialect).fromDb(row.now)!
}
