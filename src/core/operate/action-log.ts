import {rowsOf, type ConnectionSource} from '../db/connection-source'
import {inTransaction, write, type SqlConnection} from '../db/sql-connection'
import {insertAction, selectActions, type NewAction} from '../run-log/action-statements'
import {setPausedOn} from '../run-log/run-store'
import {timeCodec} from '../run-log/time-codec'

/** What someone did to a job by hand (dashboard or CLI: run now, pause, resume, unlock), in cron_action. */
export interface ActionRow extends NewAction {
  id: number
}

/** The longest note kept, in characters. */
export const MAX_NOTE_LENGTH = 500

/** A note as it is stored: trimmed, at most MAX_NOTE_LENGTH characters (never half of one), null when empty. */
export function cleanNote(note: string | null | undefined): string | null {
  const characters = [...(note ?? '').trim()]
  return characters.length === 0 ? null : characters.slice(0, MAX_NOTE_LENGTH).join('').trim() || null
}

export async function recordAction(source: ConnectionSource, action: NewAction): Promise<void> {
  await source.use((connection) => recordActionOn(connection, action))
}

/**
 * Pause (with who and when) or resume a job, and record it in cron_action, in one transaction: a
 * pause that could not be recorded is not made either. `outcome` words the record from whether
 * anything changed. Returns whether it did.
 */
export function setPausedRecorded(
  source: ConnectionSource,
  change: {code: string; pause: boolean; by: string; note: string | null; atMs: number},
  outcome: (changed: boolean) => string,
): Promise<{changed: boolean; outcome: string}> {
  return source.use((connection) =>
    inTransaction(connection, async () => {
      const changed = await setPausedOn(connection, change.code, change.pause ? {sinceMs: change.atMs, by: change.by} : null, change.atMs)
      const said = outcome(changed)
      await recordActionOn(connection, {code: change.code, action: change.pause ? 'pause' : 'resume', by: change.by, note: change.note, outcome: said, atMs: change.atMs})
      return {commit: true, value: {changed, outcome: said}}
    }),
  )
}

/** The record, on a connection (inside the caller's transaction). */
function recordActionOn(connection: SqlConnection, action: NewAction): Promise<unknown> {
  return write(connection, insertAction(connection.dialect, action))
}

/** A job's latest actions, newest first. */
export async function listActions(source: ConnectionSource, code: string, limit: number): Promise<ActionRow[]> {
  const rows = await rowsOf(source, selectActions(code, limit))
  return rows.map((row) => ({
    id: Number(row.id),
    code: String(row.code),
    action: String(row.action),
    by: String(row.by_user),
    note: (row.note as string | null) ?? null,
    outcome: (row.outcome as string | null) ?? null,
    atMs: timeCodec(source.dialect).fromDb(row.at)!,
  }))
}
