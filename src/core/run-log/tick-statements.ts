import type {Dialect} from '../db/database'
import type {Statement} from '../db/sql-connection'
import {PAUSE_NOTE} from './statements'
import {timeCodec} from './time-codec'

/**
 * The statements of the servers' ticks (cron_tick: each server's last tick) and of
 * what a tick reads with them. Plain SQL with `?` placeholders, as statements.ts.
 */

/**
 * What a tick needs to know beside the histories, in one statement: the paused (and resumed)
 * jobs (with the pause's note), each server's last tick, and when the next pending alert is due (an index lookup; null for none).
 */
export function selectTickState(): Statement {
  return {
    sql:
      `SELECT 'job' AS what, code AS name, paused_at AS at, paused_by AS who, resumed_at AS since, ${PAUSE_NOTE} AS note FROM cron_job WHERE paused_at IS NOT NULL OR resumed_at IS NOT NULL` +
      " UNION ALL SELECT 'tick', host, tick_at, version, NULL, NULL FROM cron_tick" +
      " UNION ALL SELECT 'alert', NULL, MIN(next_attempt_at), NULL, NULL, NULL FROM cron_alert WHERE status = 'pending'",
    bindings: [],
  }
}

/** This server's last tick (by the decisions' clock), pid and version. */
export function upsertTick(dialect: Dialect, tick: {host: string; pid: number; version: string; atMs: number}): Statement {
  const at = timeCodec(dialect).toDb(tick.atMs)
  const bindings = [tick.host, tick.pid, tick.version, at, at]
  if (dialect === 'mysql') {
    return {sql: 'INSERT INTO cron_tick (host, pid, version, tick_at, first_tick_at) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE pid = VALUES(pid), version = VALUES(version), tick_at = VALUES(tick_at)', bindings}
  }
  return {
    sql: 'INSERT INTO cron_tick (host, pid, version, tick_at, first_tick_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (host) DO UPDATE SET pid = excluded.pid, version = excluded.version, tick_at = excluded.tick_at',
    bindings,
  }
}

/** Forget a server's last tick (a server taken out of service). */
export function deleteTick(host: string): Statement {
  return {sql: 'DELETE FROM cron_tick WHERE host = ?', bindings: [host]}
}

/** Every server's last tick (manage runners, the dashboard's runners page). */
export function selectServerTicks(): Statement {
  return {sql: 'SELECT host, tick_at, version FROM cron_tick', bindings: []}
}
