import type {Dialect} from '../db/database'
import type {Statement} from '../db/sql-connection'
import {FAILED_STATUSES, type RunStatus} from '../contract/run-types'
import {SLOT_WINDOW_MS} from '../schedule/history'
import {timeCodec} from './time-codec'

/**
 * Every statement manage sends to the run log (cron_job, cron_job_log), as plain SQL with `?`
 * placeholders, over knex's connections or a driver connection of the tick's own (see
 * ConnectionSource). Beside it, by topic: alert-statements.ts (incidents, the alert outbox, the
 * servers' ticks), action-statements.ts (the action log, cron_action) and run-page-statements.ts
 * (the dashboard's pages of runs). No statement of the run log is written anywhere else.
 */

export type {Statement} from '../db/sql-connection'

/** Who takes a claim: a random token, and where it runs (for "running elsewhere" and unlock). */
export interface Holder {
  token: string
  host: string
  pid: number
}

// ---- The lease clock -------------------------------------------------------------------------

/** The database server's "now" in SQL, or null where leases follow the caller's clock (sqlite). */
export const SERVER_NOW_SQL: Record<Dialect, string | null> = {sqlite: null, postgres: 'now()', mysql: 'UTC_TIMESTAMP(3)'}

/** An SQL fragment with its own `?` bindings. */
export type SqlFragment = [sql: string, bindings: unknown[]]

/**
 * The clock leases are measured by: always a real clock, never MANAGE_NOW. On PostgreSQL and MySQL
 * it is the database server's own clock, in SQL, so a server whose clock is off can neither steal a
 * live lease nor keep a dead one. On sqlite (one host) it is the caller's lease clock, whose time
 * the statements below take as `leaseNowMs`.
 */
export function leaseNow(dialect: Dialect, appNowMs: number): SqlFragment {
  const server = SERVER_NOW_SQL[dialect]
  return server === null ? ['?', [timeCodec(dialect).toDb(appNowMs)]] : [server, []]
}

/** The lease clock's "now" plus `ms`: a lease expiry. */
export function leaseAfter(dialect: Dialect, appNowMs: number, ms: number): SqlFragment {
  switch (dialect) {
    case 'postgres':
      return [`${SERVER_NOW_SQL.postgres} + ? * interval '1 millisecond'`, [ms]]
    case 'mysql':
      return [`${SERVER_NOW_SQL.mysql} + INTERVAL ? MICROSECOND`, [Math.round(ms * 1000)]]
    default:
      return ['?', [timeCodec(dialect).toDb(appNowMs + ms)]]
  }
}

/** The database server's time (null on sqlite, whose clock is the caller's). */
export function selectServerNow(dialect: Dialect): Statement | null {
  const server = SERVER_NOW_SQL[dialect]
  return server === null ? null : {sql: `SELECT ${server} AS now`, bindings: []}
}

// ---- Reading the history ---------------------------------------------------------------------

/**
 * The one statement a tick reads the run log with, whatever the number of jobs (only `codes`, when
 * given). Per job (driven by cron_job, through the (code, start_time) and (code, status,
 * start_time) indexes): its latest run and latest success; then the rows still running and the
 * recent slot runs. A row can come more than once (a running row that is also the latest run);
 * historiesFromRows reads them by id and builds the same history as historyFromRuns would from the
 * whole log. With `details` (one job, about to run): also what do() gets of its previous success.
 */
export function selectHistories(dialect: Dialect, nowMs: number, codes?: readonly string[], details = false, skewMs = 0): Statement {
  const time = timeCodec(dialect)
  // Rows that start later than this are ignored (the clock-skew allowance: see DecisionOptions).
  const now = time.toDb(nowMs + skewMs)
  // Leases follow the lease clock; on a server that is its own clock, so the server's now comes
  // back with the rows and each lease is read as "time left" (see historiesFromRows).
  const serverNow = SERVER_NOW_SQL[dialect]
  const columns =
    `l.id, l.code, l.status, l.start_time, l.end_time, l.ran_at_time, l.lease_expires_at, l.host, l.pid, l.period_at, l.forced` +
    `${details ? ', l.message, l.heartbeat_at' : ''}${serverNow ? `, ${serverNow} AS lease_now` : ''}`
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

/** Whole rows by id. */
export function selectRuns(ids: readonly number[]): Statement {
  return {sql: `SELECT * FROM cron_job_log WHERE id IN (${ids.map(() => '?').join(', ')})`, bindings: [...ids]}
}

/** The log, newest first, optionally for one job and one status. */
export function selectRecentRuns(query: {code?: string; status?: RunStatus; limit: number}): Statement {
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
  return {sql, bindings: [...bindings, query.limit]}
}

/** The job's 'running' rows whose lease has run out (their process is gone). */
export function selectStaleRuns(dialect: Dialect, code: string, leaseNowMs: number): Statement {
  const [now, nowBindings] = leaseNow(dialect, leaseNowMs)
  return {
    sql: `SELECT * FROM cron_job_log WHERE code = ? AND status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at <= ${now})`,
    bindings: [code, ...nowBindings],
  }
}

// ---- Writing runs ----------------------------------------------------------------------------

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
  /** …or a lease of this length from now, by the lease clock (the database's on PostgreSQL / MySQL)… */
  leaseMs?: number
  /** …whose now on sqlite is this (default: startMs). */
  leaseNowMs?: number
  /** Started by hand (--force, run now): the audit counts it as extra. */
  forced?: boolean
  /** The version of the code that ran it (cron_job_log.code_version), when known. */
  version?: string | null
  /** How long it waited for a free slot of a scheduler after it fell due (cron_job_log.started_late_ms); none: on time. */
  startedLateMs?: number | null
  /** The period it serves (cron_job_log.period_at); none for a run by hand. */
  periodMs?: number | null
  lateReason?: string | null // why it started late, with startedLateMs, when its limit held it back ('limit: reports'; cron_job_log.late_reason)
}

/** Insert a run-log row; the new id comes back as the write's lastId (RETURNING on PostgreSQL). */
export function insertRun(dialect: Dialect, run: NewRun): Statement {
  const time = timeCodec(dialect)
  const at = (ms: number | null | undefined): SqlFragment => (ms === undefined || ms === null ? ['NULL', []] : ['?', [time.toDb(ms)]])
  const running = run.status === 'running'
  const leaseNowMs = run.leaseNowMs ?? run.startMs
  const lease: SqlFragment = run.leaseMs !== undefined ? leaseAfter(dialect, leaseNowMs, run.leaseMs) : at(run.leaseExpiresMs)
  const leaseRenewed: SqlFragment = !running ? ['NULL', []] : run.leaseMs !== undefined ? leaseNow(dialect, leaseNowMs) : at(run.startMs)
  const end = at(run.endMs)
  // Only a forced run, one whose code's version is known and one that started late name their column: the others' insert is the same as before their migrations.
  const extra: Array<[string, unknown]> = []
  if (run.forced === true) extra.push(['forced', true])
  if (run.version) extra.push(['code_version', run.version])
  if (run.startedLateMs) extra.push(['started_late_ms', Math.round(run.startedLateMs)], ...(run.lateReason ? [['late_reason', storable(run.lateReason)] as [string, unknown]] : []))
  if (run.periodMs !== undefined && run.periodMs !== null) extra.push(['period_at', time.toDb(run.periodMs)])
  return {
    sql:
      `INSERT INTO cron_job_log (code, status, start_time, end_time, message, ran_at_time, host, pid, lease_expires_at, heartbeat_at${extra.map(([column]) => `, ${column}`).join('')})` +
      ` VALUES (?, ?, ?, ${end[0]}, ?, ?, ?, ?, ${lease[0]}, ${leaseRenewed[0]}${', ?'.repeat(extra.length)})${dialect === 'postgres' ? ' RETURNING id' : ''}`,
    bindings: [
      run.code,
      run.status,
      time.toDb(run.startMs),
      ...end[1],
      storable(run.message ?? null),
      run.ranAtTime ?? null,
      run.host ?? null,
      run.pid ?? null,
      ...lease[1],
      ...leaseRenewed[1],
      ...extra.map(([, value]) => value),
    ],
  }
}

/**
 * Record how a run ended (its lease no longer matters), if it is the given job's and, with
 * `whileStatus`, still has that status ('running': else see finishOverrun).
 */
export function finishRun(dialect: Dialect, id: number, status: RunStatus, endMs: number, message: string | null, where: {code?: string; whileStatus?: RunStatus} = {}): Statement {
  const conditions = [...(where.code === undefined ? [] : [' AND code = ?']), ...(where.whileStatus === undefined ? [] : [' AND status = ?'])].join('')
  return {
    sql: `UPDATE cron_job_log SET status = ?, end_time = ?, message = ?, lease_expires_at = NULL WHERE id = ?${conditions}`,
    bindings: [status, timeCodec(dialect).toDb(endMs), storable(message), id, ...(where.code === undefined ? [] : [where.code]), ...(where.whileStatus === undefined ? [] : [where.whileStatus])],
  }
}

/**
 * A run that finished after its lease ran out and another process recorded it interrupted keeps its
 * outcome, marked as having overrun its lease. Only over that record: never over a run that ended.
 */
export function finishOverrun(dialect: Dialect, id: number, code: string, status: RunStatus, endMs: number, message: string | null): Statement {
  return {
    sql: "UPDATE cron_job_log SET status = ?, end_time = ?, message = ?, lease_expires_at = NULL, lease_overrun = ? WHERE id = ? AND code = ? AND status = 'interrupted'",
    bindings: [status, timeCodec(dialect).toDb(endMs), storable(message), true, id, code],
  }
}

/**
 * A message every database can store: a NUL byte (which PostgreSQL's text refuses) becomes U+FFFD.
 * Lengths are capped where messages are made (jobs/message.ts); 4-byte characters need the utf8mb4
 * tables the migrations make on MySQL.
 */
export function storable<T extends string | null | undefined>(text: T): T {
  return (typeof text === 'string' && text.includes('\u0000') ? text.replace(/\u0000/g, '\uFFFD') : text) as T
}

/** Extend a running row's lease, while it is still running. */
export function renewRun(dialect: Dialect, id: number, leaseNowMs: number, leaseMs: number): Statement {
  const [now, nowBindings] = leaseNow(dialect, leaseNowMs)
  const [until, untilBindings] = leaseAfter(dialect, leaseNowMs, leaseMs)
  return {sql: `UPDATE cron_job_log SET heartbeat_at = ${now}, lease_expires_at = ${until} WHERE id = ? AND status = 'running'`, bindings: [...nowBindings, ...untilBindings, id]}
}

/** Record a stale run as interrupted; only while it is still 'running', so a late finish by its process is never overwritten. */
export function interruptRun(dialect: Dialect, id: number, endMs: number, message: string): Statement {
  return {
    sql: "UPDATE cron_job_log SET status = 'interrupted', end_time = ?, message = ?, lease_expires_at = NULL WHERE id = ? AND status = 'running'",
    bindings: [timeCodec(dialect).toDb(endMs), storable(message), id],
  }
}

/** Record every 'running' row of the job as interrupted (crons:unlock --force). */
export function interruptRunning(dialect: Dialect, code: string, endMs: number, message: string): Statement {
  return {
    sql: "UPDATE cron_job_log SET status = 'interrupted', end_time = ?, message = ?, lease_expires_at = NULL WHERE code = ? AND status = 'running'",
    bindings: [timeCodec(dialect).toDb(endMs), storable(message), code],
  }
}

/** removeSuccessfulCronLogs: the job's successful rows other than `keepId`. */
export function deleteOtherSuccesses(code: string, keepId: number): Statement {
  return {sql: "DELETE FROM cron_job_log WHERE code = ? AND status = 'succeeded' AND id <> ?", bindings: [code, keepId]}
}

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

// ---- Jobs and their claims (cron_job) --------------------------------------------------------

/** Create the rows of jobs that have none, many at a time (the store splits a long list). */
export function ensureJobs(dialect: Dialect, codes: readonly string[]): Statement {
  const values = codes.map(() => '(?)').join(', ')
  return dialect === 'mysql'
    ? {sql: `INSERT IGNORE INTO cron_job (code) VALUES ${values}`, bindings: [...codes]}
    : {sql: `INSERT INTO cron_job (code) VALUES ${values} ON CONFLICT (code) DO NOTHING`, bindings: [...codes]}
}

/** Create the job's row (which carries its claim) if it has none. */
export function ensureJob(dialect: Dialect, code: string): Statement {
  return ensureJobs(dialect, [code])
}

/** The job's row (its claim and pause), if the job ever ran or was paused here. */
export function selectJob(code: string): Statement {
  return {sql: 'SELECT * FROM cron_job WHERE code = ?', bindings: [code]}
}

/** The codes of the jobs this database knows, in order (for "did you mean"). */
export function selectJobCodes(limit: number): Statement {
  return {sql: 'SELECT code FROM cron_job ORDER BY code LIMIT ?', bindings: [limit]}
}

const FREE = 'lock_token = NULL, lock_host = NULL, lock_pid = NULL, locked_at = NULL, lease_expires_at = NULL, cancel_for = NULL'

/** Take the job's claim if it is free or its lease has run out: one UPDATE, won by whoever changes the row. */
export function claimJob(dialect: Dialect, code: string, holder: Holder, leaseNowMs: number, leaseMs: number): Statement {
  const [now, nowBindings] = leaseNow(dialect, leaseNowMs)
  const [until, untilBindings] = leaseAfter(dialect, leaseNowMs, leaseMs)
  return {
    sql:
      `UPDATE cron_job SET lock_token = ?, lock_host = ?, lock_pid = ?, locked_at = ${now}, lease_expires_at = ${until}, cancel_for = NULL` +
      ` WHERE code = ? AND (lease_expires_at IS NULL OR lease_expires_at <= ${now})`,
    bindings: [holder.token, holder.host, holder.pid, ...nowBindings, ...untilBindings, code, ...nowBindings],
  }
}

/** Extend the claim's lease, while it is still ours. */
export function renewClaim(dialect: Dialect, code: string, token: string, leaseNowMs: number, leaseMs: number): Statement {
  const [until, untilBindings] = leaseAfter(dialect, leaseNowMs, leaseMs)
  return {sql: `UPDATE cron_job SET lease_expires_at = ${until} WHERE code = ? AND lock_token = ?`, bindings: [...untilBindings, code, token]}
}

/** Let go of the claim, if it is still ours. */
export function releaseJob(code: string, token: string): Statement {
  return {sql: `UPDATE cron_job SET ${FREE} WHERE code = ? AND lock_token = ?`, bindings: [code, token]}
}

/** Free the job's claim whoever holds it (manage crons:unlock). */
export function forceReleaseJob(code: string): Statement {
  return {sql: `UPDATE cron_job SET ${FREE} WHERE code = ? AND lock_token IS NOT NULL`, bindings: [code]}
}

/** The job's claim if it is held with a lease that has not run out, by the lease clock. */
export function selectLiveClaim(dialect: Dialect, code: string, leaseNowMs: number): Statement {
  const [now, nowBindings] = leaseNow(dialect, leaseNowMs)
  return {sql: `SELECT code FROM cron_job WHERE code = ? AND lock_token IS NOT NULL AND lease_expires_at > ${now}`, bindings: [code, ...nowBindings]}
}

/** The paused jobs. */
export function selectPaused(): Statement {
  return {sql: `SELECT code, paused_at, paused_by, ${PAUSE_NOTE} AS pause_note FROM cron_job WHERE paused_at IS NOT NULL`, bindings: []}
}

/**
 * A paused cron_job row's note: that of the first pause action since it was paused (the one that
 * paused it, recorded with it; later ones changed nothing). A lookup on cron_action's (code, id) index.
 */
export const PAUSE_NOTE =
  "(SELECT cron_action.note FROM cron_action WHERE cron_action.code = cron_job.code AND cron_action.action = 'pause' AND cron_action.at >= cron_job.paused_at ORDER BY cron_action.id LIMIT 1)"

/** Pause a job that is not paused, saying since when and by whom. */
export function pauseJob(dialect: Dialect, code: string, sinceMs: number, by: string | null): Statement {
  return {sql: 'UPDATE cron_job SET paused_at = ?, paused_by = ? WHERE code = ? AND paused_at IS NULL', bindings: [timeCodec(dialect).toDb(sinceMs), by, code]}
}

/** Resume a paused job. */
export function resumeJob(dialect: Dialect, code: string, atMs: number): Statement {
  return {sql: 'UPDATE cron_job SET paused_at = NULL, paused_by = NULL, resumed_at = ? WHERE code = ? AND paused_at IS NOT NULL', bindings: [timeCodec(dialect).toDb(atMs), code]}
}
