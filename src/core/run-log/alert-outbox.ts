import type {Alert, SentAlert} from '../alerts/alert'
import {rowsOf, type ConnectionSource} from '../db/connection-source'
import type {Dialect} from '../db/database'
import {inTransaction, read, write} from '../db/sql-connection'
import * as sql from './alert-statements'
import {newAlert, recordIncidentOn, type Alerting, type MissedPeriod} from './incidents'
import {timeCodec} from './time-codec'

/** An alert in the outbox, claimed for delivery. */
export interface ClaimedAlert {
  id: number
  /** With its public id, the same at every claim. */
  alert: SentAlert
  createdMs: number
  /** Delivery attempts so far. */
  attempts: number
  /** The channels (by key) it has already reached. */
  delivered: Set<string>
}

export interface AlertRow {
  id: number
  kind: string
  code: string | null
  runId: number | null
  host: string
  text: string
  status: string
  attempts: number
  createdMs: number
  nextAttemptMs: number
  deliveredMs: number | null
}

/**
 * The alert outbox (Laravel's EventMutex, for alerts): alerts are raised with a unique dedupe
 * key, claimed for delivery with a lease as jobs are, and each attempt is recorded.
 */
export interface AlertOutbox {
  /** Add an alert unless one with its key is there; true when added. */
  raise(alert: Alert, dedupeKey: string, createdMs: number): Promise<boolean>
  /** A missed period, applied to the job's incident: the alert it calls for, if any, is raised in the same transaction. */
  raiseMissed(alerting: Alerting, missed: MissedPeriod): Promise<Alert | null>
  /** The ids of the pending alerts due by `nowMs`. */
  due(nowMs: number, limit: number): Promise<number[]>
  /** Take an alert to deliver: null when another process has it, or it is no longer pending. Its first claim gives it `publicId` (a fresh UUID), every later one keeps it. */
  claim(id: number, token: string, leaseNowMs: number, leaseMs: number, publicId: string): Promise<ClaimedAlert | null>
  attempted(attempt: {alertId: number; channel: string; ok: boolean; detail: string; atMs: number; ms: number; host: string; pid: number}): Promise<void>
  finish(id: number, token: string, status: 'pending' | 'delivered' | 'abandoned', atMs: number, nextMs: number): Promise<void>
  recent(limit: number): Promise<AlertRow[]>
  /** Delete the alerts done with (delivered or abandoned) raised before `cutoffMs`, and their attempts; with dryRun, only count them. */
  deleteBefore(cutoffMs: number, options?: {dryRun?: boolean}): Promise<number>
}

export class SqlAlertOutbox implements AlertOutbox {
  private readonly dialect: Dialect

  constructor(private readonly source: ConnectionSource) {
    this.dialect = source.dialect
  }

  raise(alert: Alert, dedupeKey: string, createdMs: number): Promise<boolean> {
    return this.source.use(async (connection) => (await write(connection, sql.insertAlert(this.dialect, newAlert(alert, dedupeKey, createdMs)))).changes > 0)
  }

  raiseMissed(alerting: Alerting, missed: MissedPeriod): Promise<Alert | null> {
    return this.source.use((connection) =>
      inTransaction(connection, async () => ({commit: true, value: await recordIncidentOn(connection, alerting, {kind: 'missed', atMs: missed.nowMs}, {missed})})),
    )
  }

  async due(nowMs: number, limit: number): Promise<number[]> {
    return (await rowsOf(this.source, sql.selectDueAlerts(this.dialect, nowMs, limit))).map((row) => Number(row.id))
  }

  claim(id: number, token: string, leaseNowMs: number, leaseMs: number, publicId: string): Promise<ClaimedAlert | null> {
    return this.source.use(async (connection) => {
      if ((await write(connection, sql.claimAlert(this.dialect, id, token, leaseNowMs, leaseMs, publicId))).changes !== 1) return null
      const [row] = await read(connection, sql.selectAlert(id))
      const delivered = new Set((await read(connection, sql.selectDeliveredChannels(id))).map((channel) => String(channel.channel)))
      const details = row.details === null || row.details === undefined ? undefined : (JSON.parse(String(row.details)) as Record<string, unknown>)
      const alert: SentAlert = {
        id: String(row.public_id),
        kind: row.kind as Alert['kind'],
        code: (row.code as string | null) ?? null,
        runId: row.run_id === null ? null : Number(row.run_id),
        host: String(row.host),
        text: String(row.text),
        details,
      }
      return {id, alert, createdMs: timeCodec(this.dialect).fromDb(row.created_at)!, attempts: Number(row.attempts), delivered}
    })
  }

  async attempted(attempt: {alertId: number; channel: string; ok: boolean; detail: string; atMs: number; ms: number; host: string; pid: number}): Promise<void> {
    await this.source.use((connection) => write(connection, sql.insertAttempt(this.dialect, attempt)))
  }

  async finish(id: number, token: string, status: 'pending' | 'delivered' | 'abandoned', atMs: number, nextMs: number): Promise<void> {
    await this.source.use((connection) => write(connection, sql.finishAlert(this.dialect, id, token, status, atMs, nextMs)))
  }

  deleteBefore(cutoffMs: number, options: {dryRun?: boolean} = {}): Promise<number> {
    return this.source.use(async (connection) => {
      if (options.dryRun) return Number((await read(connection, sql.oldAlerts(this.dialect, cutoffMs, {count: true})))[0].n)
      return inTransaction(connection, async () => {
        await write(connection, sql.oldAlerts(this.dialect, cutoffMs, {attempts: true}))
        return {commit: true, value: (await write(connection, sql.oldAlerts(this.dialect, cutoffMs, {}))).changes}
      })
    })
  }

  async recent(limit: number): Promise<AlertRow[]> {
    const time = timeCodec(this.dialect)
    return (await rowsOf(this.source, sql.selectRecentAlerts(limit))).map((row) => ({
      id: Number(row.id),
      kind: String(row.kind),
      code: (row.code as string | null) ?? null,
      runId: row.run_id === null ? null : Number(row.run_id),
      host: String(row.host),
      text: String(row.text),
      status: String(row.status),
      attempts: Number(row.attempts),
      createdMs: time.fromDb(row.created_at)!,
      nextAttemptMs: time.fromDb(row.next_attempt_at)!,
      deliveredMs: time.fromDb(row.delivered_at),
    }))
  }
}
