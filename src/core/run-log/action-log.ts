import {rowsOf, type ConnectionSource} from '../db/connection-source'
import {timeCodec} from './time-codec'

/** What someone did to a job by hand (dashboard or CLI: run now, pause, resume, unlock), in cron_action. */
export interface ActionRow {
  id: number
  code: string
  action: string
  by: string
  note: string | null
  outcome: string | null
  atMs: number
}

export async function recordAction(source: ConnectionSource, action: Omit<ActionRow, 'id'>): Promise<void> {
  await source.use((connection) =>
    connection.run('INSERT INTO cron_action (code, action, by_user, note, outcome, at) VALUES (?, ?, ?, ?, ?, ?)', [
      action.code,
      action.action,
      action.by,
      action.note,
      action.outcome,
      timeCodec(source.dialect).toDb(action.atMs),
    ]),
  )
}

/** A job's latest actions, newest first. */
export async function listActions(source: ConnectionSource, code: string, limit: number): Promise<ActionRow[]> {
  const rows = await rowsOf(source, {sql: 'SELECT * FROM cron_action WHERE code = ? ORDER BY id DESC LIMIT ?', bindings: [code, limit]})
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
