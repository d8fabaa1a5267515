import type {Dialect} from '../db/database'
import type {Statement} from '../db/sql-connection'
import {leaseAfter, leaseNow, storable} from './statements'
import {timeCodec} from './time-codec'

/**
 * The statements of alerting: a job's incident state (on cron_job), the alert outbox
 * (cron_alert) and its delivery attempts (cron_alert_attempt). Plain SQL with `?` placeholders,
 * as statements.ts.
 */

/** The job's incident state, locked for the transaction where the database can (sqlite's transaction already holds the file). */
export function selectIncident(dialect: Dialect, code: string): Statement {
  const columns = 'failure_streak, failure_since, success_streak, incident_kind, incident_since, incident_alerted_at, incident_reminders, resumed_at'
  return {sql: `SELECT ${columns} FROM cron_job WHERE code = ?${dialect === 'sqlite' ? '' : ' FOR UPDATE'}`, bindings: [code]}
}

export interface IncidentColumns {
  failureStreak: number
  failureSinceMs: number | null
  successStreak: number
  kind: string | null
  sinceMs: number | null
  alertedMs: number | null
  reminders: number
}

export function updateIncident(dialect: Dialect, code: string, state: IncidentColumns): Statement {
  const at = (ms: number | null) => (ms === null ? null : timeCodec(dialect).toDb(ms))
  return {
    sql: 'UPDATE cron_job SET failure_streak = ?, failure_since = ?, success_streak = ?, incident_kind = ?, incident_since = ?, incident_alerted_at = ?, incident_reminders = ? WHERE code = ?',
    bindings: [state.failureStreak, at(state.failureSinceMs), state.successStreak, state.kind, at(state.sinceMs), at(state.alertedMs), state.reminders, code],
  }
}

export interface NewAlert {
  dedupeKey: string
  kind: string
  code: string | null
  runId: number | null
  host: string
  text: string
  details: string | null
  createdMs: number
}

/** Add an alert to the outbox, due at once; one with the same dedupe_key already there wins (changes 0). */
export function insertAlert(dialect: Dialect, alert: NewAlert): Statement {
  const time = timeCodec(dialect)
  const columns = '(dedupe_key, kind, code, run_id, host, text, details, created_at, next_attempt_at)'
  const bindings = [alert.dedupeKey, alert.kind, alert.code, alert.runId, alert.host, storable(alert.text), storable(alert.details), time.toDb(alert.createdMs), time.toDb(alert.createdMs)]
  const values = 'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'
  return dialect === 'mysql'
    ? {sql: `INSERT IGNORE INTO cron_alert ${columns} ${values}`, bindings}
    : {sql: `INSERT INTO cron_alert ${columns} ${values} ON CONFLICT (dedupe_key) DO NOTHING`, bindings}
}

/** The pending alerts due by `nowMs`, oldest first. */
export function selectDueAlerts(dialect: Dialect, nowMs: number, limit: number): Statement {
  return {sql: "SELECT id FROM cron_alert WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?", bindings: [timeCodec(dialect).toDb(nowMs), limit]}
}

/**
 * Take an alert to deliver, as a job is claimed: one UPDATE, won by whoever changes the row. The
 * first claim gives the alert its public id (`publicId`, a fresh UUID), which every later claim
 * keeps: the id a receiver drops a second copy by.
 */
export function claimAlert(dialect: Dialect, id: number, token: string, leaseNowMs: number, leaseMs: number, publicId: string): Statement {
  const [now, nowBindings] = leaseNow(dialect, leaseNowMs)
  const [until, untilBindings] = leaseAfter(dialect, leaseNowMs, leaseMs)
  return {
    sql: `UPDATE cron_alert SET lease_token = ?, lease_expires_at = ${until}, public_id = COALESCE(public_id, ?) WHERE id = ? AND status = 'pending' AND (lease_expires_at IS NULL OR lease_expires_at <= ${now})`,
    bindings: [token, ...untilBindings, publicId, id, ...nowBindings],
  }
}

export function selectAlert(id: number): Statement {
  return {sql: 'SELECT * FROM cron_alert WHERE id = ?', bindings: [id]}
}

/** The channels an alert has already reached (a retry sends only to the others). */
export function selectDeliveredChannels(id: number): Statement {
  return {sql: 'SELECT channel FROM cron_alert_attempt WHERE alert_id = ? AND ok = ?', bindings: [id, true]}
}

export function insertAttempt(dialect: Dialect, attempt: {alertId: number; channel: string; ok: boolean; detail: string; atMs: number; ms: number; host: string; pid: number}): Statement {
  return {
    sql: 'INSERT INTO cron_alert_attempt (alert_id, channel, ok, detail, attempted_at, duration_ms, host, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    bindings: [attempt.alertId, attempt.channel, attempt.ok, storable(attempt.detail), timeCodec(dialect).toDb(attempt.atMs), Math.round(attempt.ms), attempt.host, attempt.pid],
  }
}

/** How a delivery ended, while the lease is still ours: delivered, abandoned, or pending again from `nextMs`. */
export function finishAlert(dialect: Dialect, id: number, token: string, status: 'pending' | 'delivered' | 'abandoned', atMs: number, nextMs: number): Statement {
  const time = timeCodec(dialect)
  return {
    sql: 'UPDATE cron_alert SET status = ?, attempts = attempts + 1, next_attempt_at = ?, delivered_at = ?, lease_token = NULL, lease_expires_at = NULL WHERE id = ? AND lease_token = ?',
    bindings: [status, time.toDb(nextMs), status === 'delivered' ? time.toDb(atMs) : null, id, token],
  }
}

/** The latest alerts, newest first (manage alerts). */
export function selectRecentAlerts(limit: number): Statement {
  return {sql: 'SELECT * FROM cron_alert ORDER BY id DESC LIMIT ?', bindings: [limit]}
}

/** Alerts done with (delivered or abandoned) raised before `cutoffMs`, to delete or (count) to count; `attempts`: their attempts instead. */
export function oldAlerts(dialect: Dialect, cutoffMs: number, options: {count?: boolean; attempts?: boolean}): Statement {
  const where = "status <> 'pending' AND created_at < ?"
  const bindings = [timeCodec(dialect).toDb(cutoffMs)]
  if (options.attempts) {
    // MySQL refuses a DELETE whose subquery reads the same table; this one reads cron_alert.
    return {sql: `DELETE FROM cron_alert_attempt WHERE alert_id IN (SELECT id FROM cron_alert WHERE ${where})`, bindings}
  }
  return {sql: options.count ? `SELECT COUNT(*) AS n FROM cron_alert WHERE ${where}` : `DELETE FROM cron_alert WHERE ${where}`, bindings}
}
