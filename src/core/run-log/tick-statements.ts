import type {Dialect} from '../db/database'
import type {Statement} from '../db/sql-connection'
import {PAUSE_NOTE} from './statements'
import {timeCodec} from './time-codec'
import type {RunnerKind} from '../alerts/silence'
import {FAILED_STATUSES} from '../contract/run-types'

/**
 * A runner's heartbeat: the crontab tick's (its `since` kept while its ticks come less than
 * silentAfterMs apart) or a resident scheduler's (its since its process start).
 */
export type RunnerTick = {host: string; pid: number; version: string; atMs: number} & ({kind: 'crontab'; silentAfterMs: number} | {kind: 'scheduler'; sinceMs: number; lag?: LoopLagSeen | null})

/**
 * A scheduler's worst event-loop lag since its previous heartbeat, and the jobs that ran in its
 * process then (cron_tick.lag_ms, lag_jobs); null when none ran there (the lag is measured only then).
 */
export interface LoopLagSeen {
  lagMs: number
  codes: string[]
}

/**
 * The statements of the runners' ticks (cron_tick: each runner's last tick, by host and kind) and of
 * what a tick reads with them. Plain SQL with `?` placeholders, as statements.ts.
 */

/**
 * What a tick needs to know beside the histories, in one statement: the paused (and resumed)
 * jobs (with the pause's note), the catch-up jobs' holds (cron_job.held_to), each runner's last tick (its since and kind in the columns a job's resume and note take), and when the next pending alert is due (an index lookup; null for none).
 */
export function selectTickState(): Statement {
  return {
    sql:
      `SELECT 'job' AS what, code AS name, paused_at AS at, paused_by AS who, resumed_at AS since, ${PAUSE_NOTE} AS note, held_to AS held FROM cron_job WHERE paused_at IS NOT NULL OR resumed_at IS NOT NULL OR held_to IS NOT NULL` +
      " UNION ALL SELECT 'tick', host, tick_at, version, since, kind, NULL FROM cron_tick" +
      " UNION ALL SELECT 'alert', NULL, MIN(next_attempt_at), NULL, NULL, NULL, NULL FROM cron_alert WHERE status = 'pending'",
    bindings: [],
  }
}

/**
 * A runner's heartbeat (by the decisions' clock), with its pid and version: one upsert on its
 * (host, kind) row. The last tick only moves forward (a long tick writes its start time at its end,
 * after shorter ones). `since`: a scheduler's is its process start, always taken; a crontab tick's
 * is kept while the ticks come less than `silentAfterMs` apart, so it is the first tick after the
 * runner was last silent (or its first ever).
 */
export function upsertTick(dialect: Dialect, tick: RunnerTick): Statement {
  const time = timeCodec(dialect)
  const at = time.toDb(tick.atMs)
  const crontab = tick.kind === 'crontab'
  const since = crontab ? at : time.toDb(tick.sinceMs)
  // Ticks from after this cutoff continue the run; a scheduler's since is taken whatever the last tick was.
  const cutoff = crontab ? [time.toDb(tick.atMs - tick.silentAfterMs)] : []
  // A scheduler's heartbeat says its lag (null: none measured since the last one); the crontab tick's names no lag column.
  const seen = crontab ? null : tick.lag ?? null
  const lag = crontab ? [] : [seen && Math.round(seen.lagMs), seen && JSON.stringify(seen.codes)]
  const insert = `INSERT INTO cron_tick (host, kind, pid, version, tick_at, since${crontab ? '' : ', lag_ms, lag_jobs'}) VALUES (?, ?, ?, ?, ?, ?${crontab ? '' : ', ?, ?'})`
  const values = [tick.host, tick.kind, tick.pid, tick.version, at, since, ...lag]
  if (dialect === 'mysql') {
    // MySQL assigns left to right, each seeing the ones before: since is set while tick_at is still the last one.
    const sinceRule = crontab ? 'IF(tick_at > ?, since, VALUES(since))' : 'VALUES(since)'
    const lagRule = crontab ? '' : ', lag_ms = VALUES(lag_ms), lag_jobs = VALUES(lag_jobs)'
    return {sql: `${insert} ON DUPLICATE KEY UPDATE since = ${sinceRule}, pid = VALUES(pid), version = VALUES(version)${lagRule}, tick_at = GREATEST(tick_at, VALUES(tick_at))`, bindings: [...values, ...cutoff]}
  }
  const sinceRule = crontab ? 'CASE WHEN cron_tick.tick_at > ? THEN cron_tick.since ELSE excluded.since END' : 'excluded.since'
  const lagRule = crontab ? '' : ', lag_ms = excluded.lag_ms, lag_jobs = excluded.lag_jobs'
  const later = dialect === 'sqlite' ? 'MAX(cron_tick.tick_at, excluded.tick_at)' : 'GREATEST(cron_tick.tick_at, excluded.tick_at)'
  return {sql: `${insert} ON CONFLICT (host, kind) DO UPDATE SET since = ${sinceRule}, pid = excluded.pid, version = excluded.version${lagRule}, tick_at = ${later}`, bindings: [...values, ...cutoff]}
}

/** Forget a server's runners (taken out of service), or only its runner of this kind. */
export function deleteTick(host: string, kind?: RunnerKind): Statement {
  return kind === undefined ? {sql: 'DELETE FROM cron_tick WHERE host = ?', bindings: [host]} : {sql: 'DELETE FROM cron_tick WHERE host = ? AND kind = ?', bindings: [host, kind]}
}

/** Every runner's last tick (manage runners, the dashboard's runners page). */
export function selectServerTicks(): Statement {
  return {sql: 'SELECT host, kind, pid, version, tick_at, since, lag_ms, lag_jobs FROM cron_tick', bindings: []}
}

/**
 * A mark of the run log that changes whenever what a plan reads from it does (a scheduler's
 * refresh compares two): a row added (the last id) or trimmed (the first), a run's status set or
 * changed (the count of each status but 'succeeded': a run ends, is interrupted, finishes past its
 * lease, is charged a late failure), a job paused or resumed. Index lookups and counts over the
 * status index; 'succeeded', the bulk of the log, is left uncounted.
 */
export function selectLogMark(): Statement {
  const count = (status: string) => `(SELECT COUNT(*) FROM cron_job_log WHERE status = '${status}') AS ${status}`
  return {
    sql:
      'SELECT (SELECT MIN(id) FROM cron_job_log) AS first_id, (SELECT MAX(id) FROM cron_job_log) AS last_id, ' +
      `${['running', ...FAILED_STATUSES].map(count).join(', ')}, ` +
      '(SELECT COUNT(*) FROM cron_job WHERE paused_at IS NOT NULL) AS paused, (SELECT MAX(paused_at) FROM cron_job) AS last_pause, (SELECT MAX(resumed_at) FROM cron_job) AS last_resume',
    bindings: [],
  }
}
