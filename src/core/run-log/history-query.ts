import type {RunStatus} from '../jobs/cron-job-base'
import type {Dialect} from '../db/database'
import {historyFromRuns, SLOT_WINDOW_MS, type JobHistory, type RunSummary} from '../schedule/is-due'
import {SERVER_NOW_SQL, timeCodec} from './time-codec'

/**
 * The one statement a tick reads the run log with, whatever the number of jobs. It is plain SQL
 * with `?` placeholders, so the knex run store and the driver-only fast path share it.
 *
 * Per job (driven by cron_job, through the (code, start_time) and (code, status, start_time)
 * indexes): its latest run and latest success; then the rows still running and the recent slot
 * runs. A row can come more than once (a running row that is also the latest run); the rows are
 * read by id. historyFromRuns builds from these rows the same history as from the whole log.
 */
export function historiesQuery(dialect: Dialect, nowMs: number, codes?: readonly string[], details = false): {sql: string; bindings: Array<string | Date>} {
  const time = timeCodec(dialect)
  const now = time.toDb(nowMs)
  // Leases follow the lease clock; on a server that is its own clock, so the server's now comes
  // back with the rows and each lease is read as "time left" (see historiesFromRows).
  const serverNow = SERVER_NOW_SQL[dialect]
  // With details (one job, about to run): also what do() gets of its previous success.
  const columns =
    `l.id, l.code, l.status, l.start_time, l.ran_at_time, l.lease_expires_at, l.host, l.pid` +
    `${details ? ', l.end_time, l.message, l.heartbeat_at' : ''}${serverNow ? `, ${serverNow} AS lease_now` : ''}`
  const marks = codes ? codes.map(() => '?').join(', ') : ''
  const onlyJobs = codes ? ` WHERE j.code IN (${marks})` : ''
  const onlyRows = codes ? ` AND l.code IN (${marks})` : ''
  const codeBindings = codes ?? []
  const latest = (status: string) =>
    `SELECT (SELECT x.id FROM cron_job_log x WHERE x.code = j.code${status} AND x.start_time <= ?` +
    ` ORDER BY x.start_time DESC, x.id DESC LIMIT 1) AS id FROM cron_job j${onlyJobs}`
  const sql =
    `SELECT ${columns} FROM cron_job_log l JOIN (` +
    // UNION, not UNION ALL: a job's latest run is mostly its latest success too, and each row is sent once.
    `${latest('')} UNION ${latest(" AND x.status = 'succeeded'")}` +
    `) ids ON ids.id = l.id` +
    ` UNION ALL SELECT ${columns} FROM cron_job_log l WHERE l.status = 'running'${onlyRows}` +
    ` UNION ALL SELECT ${columns} FROM cron_job_log l WHERE l.status = 'succeeded'` +
    ` AND l.ran_at_time IS NOT NULL AND l.start_time >= ? AND l.start_time <= ?${onlyRows}`
  const bindings = [now, ...codeBindings, now, ...codeBindings, ...codeBindings, time.toDb(nowMs - SLOT_WINDOW_MS), now, ...codeBindings]
  return {sql, bindings}
}

/** A run-log row's summary, in ms. */
export function summaryOf(row: Record<string, unknown>, dialect: Dialect, time = timeCodec(dialect)): RunSummary {
  return {
    id: Number(row.id),
    code: String(row.code),
    status: row.status as RunStatus,
    startMs: time.fromDb(row.start_time)!,
    ranAtTime: (row.ran_at_time as string | null) ?? null,
    leaseExpiresMs: time.fromDb(row.lease_expires_at),
    host: (row.host as string | null) ?? null,
    pid: row.pid === null || row.pid === undefined ? null : Number(row.pid),
  }
}

/** Every job's history from the rows of historiesQuery; a job with no rows has none here. */
export function historiesFromRows(rows: ReadonlyArray<Record<string, unknown>>, dialect: Dialect, nowMs: number): Map<string, JobHistory> {
  const time = timeCodec(dialect)
  // The rows come grouped by nothing in particular, and a row can come twice: collect each job's distinct rows.
  const byCode = new Map<string, RunSummary[]>()
  const seen = new Set<number>()
  for (const row of rows) {
    const id = Number(row.id)
    if (seen.has(id)) continue
    seen.add(id)
    const run = summaryOf(row, dialect, time)
    // A server lease placed on the caller's clock: the time it has left, from the caller's now.
    if (run.leaseExpiresMs !== null && row.lease_now !== undefined) run.leaseExpiresMs = run.leaseExpiresMs - time.fromDb(row.lease_now)! + nowMs
    const runs = byCode.get(run.code)
    if (runs) runs.push(run)
    else byCode.set(run.code, [run])
  }
  const histories = new Map<string, JobHistory>()
  for (const [code, runs] of byCode) histories.set(code, historyFromRuns(runs, nowMs))
  return histories
}
