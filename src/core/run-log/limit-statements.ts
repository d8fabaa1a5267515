import type {Dialect} from '../db/database'
import type {Statement} from '../db/sql-connection'
import {leaseAfter, leaseNow, type Holder} from './statements'
import {timeCodec} from './time-codec'

/**
 * The statements of the shared limits (see the migration manage_limits): a group's slots in
 * cron_limit_slot, taken and freed as the jobs' claims are (one conditional UPDATE, leases on the
 * lease clock), and the job's held-back mark (cron_job.held_back_at). Plain SQL with `?`
 * placeholders, as statements.ts. Only a job with a limit ever sends one.
 */

/** Make the group's slots 1..`count` that do not exist yet (a slot above the count is left alone, and never taken). */
export function ensureSlots(dialect: Dialect, name: string, count: number): Statement {
  const slots = Array.from({length: count}, (_, index) => index + 1)
  const values = slots.map(() => '(?, ?)').join(', ')
  const bindings = slots.flatMap((slot) => [name, slot])
  if (dialect === 'mysql') return {sql: `INSERT IGNORE INTO cron_limit_slot (name, slot) VALUES ${values}`, bindings}
  return {sql: `INSERT INTO cron_limit_slot (name, slot) VALUES ${values} ON CONFLICT (name, slot) DO NOTHING`, bindings}
}

/** Take one slot of the group if it is free or its lease has run out: one UPDATE, won by whoever changes the row. */
export function takeSlot(dialect: Dialect, name: string, slot: number, holder: Holder & {code: string}, leaseNowMs: number, leaseMs: number): Statement {
  const [now, nowBindings] = leaseNow(dialect, leaseNowMs)
  const [until, untilBindings] = leaseAfter(dialect, leaseNowMs, leaseMs)
  return {
    sql:
      `UPDATE cron_limit_slot SET code = ?, lock_token = ?, lock_host = ?, lock_pid = ?, locked_at = ${now}, lease_expires_at = ${until}` +
      ` WHERE name = ? AND slot = ? AND (lease_expires_at IS NULL OR lease_expires_at <= ${now})`,
    bindings: [holder.code, holder.token, holder.host, holder.pid, ...nowBindings, ...untilBindings, name, slot, ...nowBindings],
  }
}

/** Extend the lease of the slot a run holds (by its claim's token), while it is still its own. */
export function renewSlot(dialect: Dialect, name: string, token: string, leaseNowMs: number, leaseMs: number): Statement {
  const [until, untilBindings] = leaseAfter(dialect, leaseNowMs, leaseMs)
  return {sql: `UPDATE cron_limit_slot SET lease_expires_at = ${until} WHERE name = ? AND lock_token = ?`, bindings: [...untilBindings, name, token]}
}

const FREE = 'code = NULL, lock_token = NULL, lock_host = NULL, lock_pid = NULL, locked_at = NULL, lease_expires_at = NULL'

/** Free the slot a run holds, if it is still its own. */
export function releaseSlot(name: string, token: string): Statement {
  return {sql: `UPDATE cron_limit_slot SET ${FREE} WHERE name = ? AND lock_token = ?`, bindings: [name, token]}
}

/** Free every slot the job's runs hold (manage crons:unlock: its claim's holder is taken for gone). */
export function releaseSlotsOf(code: string): Statement {
  return {sql: `UPDATE cron_limit_slot SET ${FREE} WHERE code = ?`, bindings: [code]}
}

/** Since when the job has been held back by its limit (null: it is not). */
export function markHeldBack(dialect: Dialect, code: string, sinceMs: number | null): Statement {
  return {sql: 'UPDATE cron_job SET held_back_at = ? WHERE code = ?', bindings: [sinceMs === null ? null : timeCodec(dialect).toDb(sinceMs), code]}
}
