import type {Dialect} from '../db/database'
import type {Statement} from '../db/sql-connection'

/**
 * The statements of pauseAfterFailures (failure-pause.ts), beside statements.ts: what the rule
 * reads inside the transaction that records a failure. The pause itself is statements.ts' pauseJob,
 * its record action-statements.ts' insertAction, its alert alert-statements.ts' insertAlert.
 */

/**
 * The job's pause and last resume, its row locked for the transaction where the database can
 * (sqlite's transaction holds the file already): two processes recording failures of the job at
 * once then read its runs one after the other, each seeing the other's outcome.
 */
export function selectPauseState(dialect: Dialect, code: string): Statement {
  return {sql: `SELECT paused_at, resumed_at FROM cron_job WHERE code = ?${dialect === 'sqlite' ? '' : ' FOR UPDATE'}`, bindings: [code]}
}

/** The job's latest `limit` runs that ended, by start time, newest first (the (code, start_time) index). */
export function selectLatestEnded(code: string, limit: number): Statement {
  return {sql: "SELECT * FROM cron_job_log WHERE code = ? AND status <> 'running' ORDER BY start_time DESC, id DESC LIMIT ?", bindings: [code, limit]}
}
