import type {Dialect} from '../db/database'
import type {Statement} from '../db/sql-connection'
import {storable} from './statements'
import {timeCodec} from './time-codec'

/**
 * The statements of the action log (cron_action): what someone did to a job by hand (run now,
 * pause, resume, unlock), from the dashboard or the CLI. Plain SQL with `?` placeholders, as statements.ts.
 */

/** One action as it is recorded. */
export interface NewAction {
  code: string
  action: string
  by: string
  note: string | null
  outcome: string | null
  atMs: number
}

/** Record an action. Text is made storable as a run's message is (a NUL, which PostgreSQL refuses, becomes U+FFFD). */
export function insertAction(dialect: Dialect, action: NewAction): Statement {
  return {
    sql: 'INSERT INTO cron_action (code, action, by_user, note, outcome, at) VALUES (?, ?, ?, ?, ?, ?)',
    bindings: [action.code, action.action, storable(action.by), storable(action.note), storable(action.outcome), timeCodec(dialect).toDb(action.atMs)],
  }
}

/** A job's latest actions, newest first. */
export function selectActions(code: string, limit: number): Statement {
  return {sql: 'SELECT * FROM cron_action WHERE code = ? ORDER BY id DESC LIMIT ?', bindings: [code, limit]}
}
