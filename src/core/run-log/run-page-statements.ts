import type {Dialect} from '../db/database'
import type {Statement} from '../db/sql-connection'
import type {RunStatus} from '../contract/run-types'
import {timeCodec} from './time-codec'

/**
 * The run log read a page at a time (the dashboard): a job's runs filtered and paged by a cursor,
 * and its latest outcomes. Each goes through the (code, start_time) or (code, status, start_time)
 * index. Plain SQL with `?` placeholders, as statements.ts.
 */

export interface RunPageQuery {
  status?: RunStatus
  fromMs?: number
  toMs?: number
  /** Text the message contains. */
  text?: string
  limit: number
}

/** Where a page starts: the run it follows (its start_time as the database returned it, and its id). */
export interface RunCursor {
  startTime: unknown
  id: number
}

/** A run's start_time as the database stores it (the cursor of the page after it). */
export function selectRunStart(id: number): Statement {
  return {sql: 'SELECT start_time FROM cron_job_log WHERE id = ?', bindings: [id]}
}

/** A job's runs, newest first, filtered, older than `cursor` when given. */
export function selectRunPage(dialect: Dialect, code: string, query: RunPageQuery, cursor: RunCursor | null): Statement {
  const where = ['code = ?']
  const bindings: unknown[] = [code]
  const time = timeCodec(dialect)
  if (query.status) {
    where.push('status = ?')
    bindings.push(query.status)
  }
  if (query.fromMs !== undefined) {
    where.push('start_time >= ?')
    bindings.push(time.toDb(query.fromMs))
  }
  if (query.toMs !== undefined) {
    where.push('start_time <= ?')
    bindings.push(time.toDb(query.toMs))
  }
  if (query.text) {
    where.push("message LIKE ? ESCAPE '!'")
    bindings.push(`%${query.text.replace(/[!%_]/g, '!$&')}%`)
  }
  if (cursor) {
    where.push('(start_time < ? OR (start_time = ? AND id < ?))')
    bindings.push(cursor.startTime, cursor.startTime, cursor.id)
  }
  return {sql: `SELECT * FROM cron_job_log WHERE ${where.join(' AND ')} ORDER BY start_time DESC, id DESC LIMIT ?`, bindings: [...bindings, query.limit]}
}

/** The statuses of a job's latest ended runs, newest first (its failing streak). */
export function selectEndedStatuses(code: string, limit: number): Statement {
  return {sql: "SELECT status FROM cron_job_log WHERE code = ? AND status <> 'running' ORDER BY start_time DESC, id DESC LIMIT ?", bindings: [code, limit]}
}
