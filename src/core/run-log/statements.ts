import type {RunStatus} from '../jobs/cron-job-base'
import type {Dialect} from '../db/database'
import {leaseAfterSql, leaseNowSql, timeCodec, type SqlFragment} from './time-codec'

/**
 * The statements that claim a job and record a run, as plain SQL with `?` placeholders. The
 * lock and the run store (for commands and tests) and the run recorder (each run's two
 * transactions) send the same statements, so there is one definition of each.
 */
export interface Statement {
  sql: string
  bindings: unknown[]
}

/** Who takes a claim: a random token, and where it runs (for "running elsewhere" and unlock). */
export interface Holder {
  token: string
  host: string
  pid: number
}

const FREE = 'lock_token = NULL, lock_host = NULL, lock_pid = NULL, locked_at = NULL, lease_expires_at = NULL'

/** Take the job's claim if it is free or its lease has run out: one UPDATE, won by whoever changes the row. */
export function claimJob(dialect: Dialect, code: string, holder: Holder, nowMs: number, leaseMs: number): Statement {
  const [now, nowBindings] = leaseNowSql(dialect, nowMs)
  const [until, untilBindings] = leaseAfterSql(dialect, nowMs, leaseMs)
  return {
    sql:
      `UPDATE cron_job SET lock_token = ?, lock_host = ?, lock_pid = ?, locked_at = ${now}, lease_expires_at = ${until}` +
      ` WHERE code = ? AND (lease_expires_at IS NULL OR lease_expires_at <= ${now})`,
    bindings: [holder.token, holder.host, holder.pid, ...nowBindings, ...untilBindings, code, ...nowBindings],
  }
}

/** Let go of the claim, if it is still ours. */
export function releaseJob(code: string, token: string): Statement {
  return {sql: `UPDATE cron_job SET ${FREE} WHERE code = ? AND lock_token = ?`, bindings: [code, token]}
}

/** Create the job's row (which carries its claim) if it has none. */
export function ensureJob(dialect: Dialect, code: string): Statement {
  return ensureJobs(dialect, [code])
}

export interface NewRun {
  code: string
  status: RunStatus
  startMs: number
  endMs?: number | null
  message?: string | null
  ranAtTime?: string | null
  host?: string | null
  pid?: number | null
  /** An explicit lease expiry (for tests and imports)… */
  leaseExpiresMs?: number | null
  /** …or a lease of this length from now, by the lease clock (the database's on PostgreSQL / MySQL). */
  leaseMs?: number
}

/** Insert a run-log row; the new id comes back as the write's lastId (RETURNING on PostgreSQL). */
export function insertRun(dialect: Dialect, run: NewRun): Statement {
  const time = timeCodec(dialect)
  const at = (ms: number | null | undefined): SqlFragment => (ms === undefined || ms === null ? ['NULL', []] : ['?', [time.toDb(ms)]])
  const running = run.status === 'running'
  const lease: SqlFragment = run.leaseMs !== undefined ? leaseAfterSql(dialect, run.startMs, run.leaseMs) : at(run.leaseExpiresMs)
  const heartbeat: SqlFragment = !running ? ['NULL', []] : run.leaseMs !== undefined ? leaseNowSql(dialect, run.startMs) : at(run.startMs)
  const end = at(run.endMs)
  return {
    sql:
      'INSERT INTO cron_job_log (code, status, start_time, end_time, message, ran_at_time, host, pid, lease_expires_at, heartbeat_at)' +
      ` VALUES (?, ?, ?, ${end[0]}, ?, ?, ?, ?, ${lease[0]}, ${heartbeat[0]})${dialect === 'postgres' ? ' RETURNING id' : ''}`,
    bindings: [
      run.code,
      run.status,
      time.toDb(run.startMs),
      ...end[1],
      run.message ?? null,
      run.ranAtTime ?? null,
      run.host ?? null,
      run.pid ?? null,
      ...lease[1],
      ...heartbeat[1],
    ],
  }
}

/** Record how a run ended (its lease no longer matters). */
export function finishRun(dialect: Dialect, id: number, status: RunStatus, endMs: number, message: string | null): Statement {
  return {
    sql: 'UPDATE cron_job_log SET status = ?, end_time = ?, message = ?, lease_expires_at = NULL WHERE id = ?',
    bindings: [status, timeCodec(dialect).toDb(endMs), message, id],
  }
}

/** The job's 'running' rows whose lease has run out (their process is gone). */
export function selectStaleRuns(dialect: Dialect, code: string, nowMs: number): Statement {
  const [now, nowBindings] = leaseNowSql(dialect, nowMs)
  return {
    sql: `SELECT * FROM cron_job_log WHERE code = ? AND status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at <= ${now})`,
    bindings: [code, ...nowBindings],
  }
}

/** Record a stale run as interrupted; only while it is still 'running', so a late finish by its process is never overwritten. */
export function interruptRun(dialect: Dialect, id: number, endMs: number, message: string): Statement {
  return {
    sql: "UPDATE cron_job_log SET status = 'interrupted', end_time = ?, message = ?, lease_expires_at = NULL WHERE id = ? AND status = 'running'",
    bindings: [timeCodec(dialect).toDb(endMs), message, id],
  }
}

/** removeSuccessfulCronLogs: the job's successful rows other than `keepId`. */
export function deleteOtherSuccesses(code: string, keepId: number): Statement {
  return {sql: "DELETE FROM cron_job_log WHERE code = ? AND status = 'succeeded' AND id <> ?", bindings: [code, keepId]}
}

/** Extend a running row's lease, while it is still running. */
export function renewRun(dialect: Dialect, id: number, nowMs: number, leaseMs: number): Statement {
  const [now, nowBindings] = leaseNowSql(dialect, nowMs)
  const [until, untilBindings] = leaseAfterSql(dialect, nowMs, leaseMs)
  return {sql: `UPDATE cron_job_log SET heartbeat_at = ${now}, lease_expires_at = ${until} WHERE id = ? AND status = 'running'`, bindings: [...nowBindings, ...untilBindings, id]}
}

/** Extend the claim's lease, while it is still ours. */
export function renewClaim(dialect: Dialect, code: string, token: string, nowMs: number, leaseMs: number): Statement {
  const [until, untilBindings] = leaseAfterSql(dialect, nowMs, leaseMs)
  return {sql: `UPDATE cron_job SET lease_expires_at = ${until} WHERE code = ? AND lock_token = ?`, bindings: [...untilBindings, code, token]}
}

/** Free the job's claim whoever holds it (manage crons:unlock). */
export function forceReleaseJob(code: string): Statement {
  return {sql: `UPDATE cron_job SET ${FREE} WHERE code = ? AND lock_token IS NOT NULL`, bindings: [code]}
}

/** The job's claim if it is held with a lease that has not run out, by the lease clock. */
export function selectLiveClaim(dialect: Dialect, code: string, nowMs: number): Statement {
  const [now, nowBindings] = leaseNowSql(dialect, nowMs)
  return {sql: `SELECT code FROM cron_job WHERE code = ? AND lock_token IS NOT NULL AND lease_expires_at > ${now}`, bindings: [code, ...nowBindings]}
}

/** Create the rows of jobs that have none, many at a time (ensureJobs splits the list). */
export function ensureJobs(dialect: Dialect, codes: readonly string[]): Statement {
  const values = codes.map(() => '(?)').join(', ')
  return dialect === 'mysql'
    ? {sql: `INSERT IGNORE INTO cron_job (code) VALUES ${values}`, bindings: [...codes]}
    : {sql: `INSERT INTO cron_job (code) VALUES ${values} ON CONFLICT (code) DO NOTHING`, bindings: [...codes]}
}

/** The statuses crons:clean --keep-failed keeps. */
const FAILED_STATUSES: readonly RunStatus[] = ['failed', 'interrupted', 'timed_out']

/** Rows started before `cutoffMs` (never a running one), to delete or (count) to count. */
export function oldRuns(dialect: Dialect, cutoffMs: number, options: {keepFailed?: boolean; code?: string; count?: boolean}): Statement {
  let where = "start_time < ? AND status <> 'running'"
  const bindings: unknown[] = [timeCodec(dialect).toDb(cutoffMs)]
  if (options.keepFailed) {
    where += ` AND status NOT IN (${FAILED_STATUSES.map(() => '?').join(', ')})`
    bindings.push(...FAILED_STATUSES)
  }
  if (options.code !== undefined) {
    where += ' AND code = ?'
    bindings.push(options.code)
  }
  return {sql: options.count ? `SELECT COUNT(*) AS n FROM cron_job_log WHERE ${where}` : `DELETE FROM cron_job_log WHERE ${where}`, bindings}
}
