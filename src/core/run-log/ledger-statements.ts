import type {Dialect} from '../db/database'
import type {Statement} from '../db/sql-connection'
import {storable} from './statements'
import {timeCodec} from './time-codec'

/**
 * The statements of the period ledger's skips (cron_skip) and of the hold they leave on the job
 * (cron_job.held_to): see the migration manage_period_ledger. Plain SQL with `?` placeholders, as statements.ts.
 */

/** A skipped period as it is recorded. */
export interface NewSkip {
  code: string
  periodMs: number
  reason: string
}

/**
 * Record skipped periods, many at a time; a period already recorded (by another server, or an
 * earlier attempt) is left as it is: one record per (code, period).
 */
export function insertSkips(dialect: Dialect, skips: readonly NewSkip[], where: {host: string; pid: number; atMs: number}): Statement {
  const time = timeCodec(dialect)
  const values = skips.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')
  const bindings = skips.flatMap((skip) => [skip.code, time.toDb(skip.periodMs), storable(skip.reason), time.toDb(where.atMs), where.host, where.pid])
  const columns = 'cron_skip (code, period_at, reason, recorded_at, host, pid)'
  if (dialect === 'mysql') return {sql: `INSERT IGNORE INTO ${columns} VALUES ${values}`, bindings}
  return {sql: `INSERT INTO ${columns} VALUES ${values} ON CONFLICT (code, period_at) DO NOTHING`, bindings}
}

/** Move the job's hold forward to `periodMs` (never back): the periods up to it are accounted for. */
export function holdJob(dialect: Dialect, code: string, periodMs: number): Statement {
  const at = timeCodec(dialect).toDb(periodMs)
  return {sql: 'UPDATE cron_job SET held_to = ? WHERE code = ? AND (held_to IS NULL OR held_to < ?)', bindings: [at, code, at]}
}

/** The skips, newest period first, optionally of one job and from a time on. */
export function selectSkips(dialect: Dialect, query: {code?: string; sinceMs?: number; limit: number}): Statement {
  const where: string[] = []
  const bindings: unknown[] = []
  if (query.code !== undefined) {
    where.push('code = ?')
    bindings.push(query.code)
  }
  if (query.sinceMs !== undefined) {
    where.push('period_at >= ?')
    bindings.push(timeCodec(dialect).toDb(query.sinceMs))
  }
  return {sql: `SELECT * FROM cron_skip${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY period_at DESC, id DESC LIMIT ?`, bindings: [...bindings, query.limit]}
}

/** overlap = 'cancelOther': ask the job's live run to stop for the period at `periodMs` (once: a later ask keeps the first). */
export function requestCancel(dialect: Dialect, code: string, periodMs: number): Statement {
  return {sql: 'UPDATE cron_job SET cancel_for = ? WHERE code = ? AND lock_token IS NOT NULL AND cancel_for IS NULL', bindings: [timeCodec(dialect).toDb(periodMs), code]}
}

/** The period that asks the run holding this claim to stop, if any. */
export function selectCancel(code: string, token: string): Statement {
  return {sql: 'SELECT cancel_for FROM cron_job WHERE code = ? AND lock_token = ?', bindings: [code, token]}
}
