import type {Dialect} from '../db/database'
import type {Row} from '../db/sql-connection'
import type {JobHistory, PauseInfo, RunRow, RunStatus, RunSummary, SkippedPeriod} from '../contract/run-types'
import {historyFromRuns} from '../schedule/history'
import {timeCodec, type TimeCodec} from './time-codec'


/** Who holds a job's claim, and until when. */
export interface LockHolder {
  host: string | null
  pid: number | null
  lockedMs: number | null
  leaseExpiresMs: number | null
}

/** A run-log row's summary, in ms. */
export function summaryOf(row: Row, dialect: Dialect, time: TimeCodec = timeCodec(dialect)): RunSummary {
  const summary: RunSummary = {
    id: Number(row.id),
    code: String(row.code),
    status: row.status as RunStatus,
    startMs: time.fromDb(row.start_time)!,
    ranAtTime: (row.ran_at_time as string | null) ?? null,
    leaseExpiresMs: time.fromDb(row.lease_expires_at),
    host: (row.host as string | null) ?? null,
    pid: row.pid === null || row.pid === undefined ? null : Number(row.pid),
  }
  if (row.end_time !== undefined) summary.endMs = time.fromDb(row.end_time)
  if (row.forced !== undefined) summary.forced = Boolean(row.forced)
  if (row.period_at !== undefined) summary.periodMs = time.fromDb(row.period_at)
  return summary
}

/** A whole run-log row, from the database's row. */
export function runRowOf(row: Row, dialect: Dialect): RunRow {
  const time = timeCodec(dialect)
  return {
    ...summaryOf(row, dialect, time),
    endMs: time.fromDb(row.end_time),
    message: (row.message as string | null) ?? null,
    leaseRenewedMs: time.fromDb(row.heartbeat_at),
    leaseOverrun: Boolean(row.lease_overrun),
    version: (row.code_version as string | null | undefined) ?? null,
    startedLateMs: row.started_late_ms === null || row.started_late_ms === undefined ? null : Number(row.started_late_ms),
    lateReason: (row.late_reason as string | null | undefined) ?? null,
  }
}

/**
 * Every job's history from the rows of selectHistories; a job with no rows has none here. Leases
 * are stored by the lease clock (a real one) and decisions made at `nowMs` (which MANAGE_NOW may
 * pin), so each lease is placed on the decision's clock by the time it has left: by the server's
 * now (read with the rows) on PostgreSQL and MySQL, by `leaseNowMs` on sqlite.
 */
export function historiesFromRows(rows: readonly Row[], dialect: Dialect, nowMs: number, leaseNowMs = nowMs, skewMs = 0): Map<string, JobHistory> {
  const time = timeCodec(dialect)
  // The rows come grouped by nothing in particular, and a row can come twice: collect each job's distinct rows.
  const byCode = new Map<string, RunSummary[]>()
  const seen = new Set<number>()
  for (const row of rows) {
    const id = Number(row.id)
    if (seen.has(id)) continue
    seen.add(id)
    const run = summaryOf(row, dialect, time)
    if (run.leaseExpiresMs !== null) run.leaseExpiresMs += nowMs - (row.lease_now !== undefined ? time.fromDb(row.lease_now)! : leaseNowMs)
    const runs = byCode.get(run.code)
    if (runs) runs.push(run)
    else byCode.set(run.code, [run])
  }
  const histories = new Map<string, JobHistory>()
  for (const [code, runs] of byCode) histories.set(code, historyFromRuns(runs, nowMs, skewMs))
  return histories
}

/** The claim a cron_job row carries, or null when it is free. */
export function lockHolderOf(row: Row | undefined, dialect: Dialect): LockHolder | null {
  if (!row || row.lock_token === null) return null
  const time = timeCodec(dialect)
  return {
    host: (row.lock_host as string | null) ?? null,
    pid: row.lock_pid === null ? null : Number(row.lock_pid),
    lockedMs: time.fromDb(row.locked_at),
    leaseExpiresMs: time.fromDb(row.lease_expires_at),
  }
}

/** The paused jobs by code, from the rows of selectPaused. */
export function pausesOf(rows: readonly Row[], dialect: Dialect): Map<string, PauseInfo> {
  const time = timeCodec(dialect)
  return new Map(rows.map((row) => [String(row.code), pauseInfo(time.fromDb(row.paused_at), row.paused_by, row.pause_note)]))
}

/** A pause as read: since when, by whom, and its note when it has one. */
export function pauseInfo(sinceMs: number | null, by: unknown, note: unknown): PauseInfo {
  const pause: PauseInfo = {sinceMs, by: typeof by === 'string' ? by : null}
  if (typeof note === 'string' && note !== '') pause.note = note
  return pause
}

/** How a run whose lease ran out is recorded: ended when its lease did, and who stopped renewing it. */
export function interruptionOf(run: RunRow): {endMs: number; message: string} {
  const seen = run.leaseRenewedMs ?? run.startMs
  const message =
    `interrupted: the process ${run.pid ?? '?'} on ${run.host ?? '?'} stopped renewing its lease ` +
    `(last seen ${new Date(seen).toISOString()}, lease expired ${run.leaseExpiresMs === null ? 'unknown' : new Date(run.leaseExpiresMs).toISOString()})`
  return {endMs: run.leaseExpiresMs ?? seen, message}
}

/** A cron_skip row, in ms. */
export function skippedPeriodOf(row: Row, dialect: Dialect): SkippedPeriod {
  const time = timeCodec(dialect)
  return {
    id: Number(row.id),
    code: String(row.code),
    periodMs: time.fromDb(row.period_at)!,
    reason: String(row.reason),
    recordedMs: time.fromDb(row.recorded_at)!,
    host: (row.host as string | null) ?? null,
    pid: row.pid === null || row.pid === undefined ? null : Number(row.pid),
  }
}
