import type {Alert} from '../alerts/alert'
import {missedAlert, runAlert, type AlertedJob, type AlertedRun} from '../alerts/alert-text'
import {incidentChanged, incidentStep, type IncidentEvent, type IncidentPolicy, type IncidentState} from '../alerts/incident'
import {read, write, type SqlConnection} from '../db/sql-connection'
import * as sql from './alert-statements'
import {timeCodec} from './time-codec'

/**
 * How a job's alerts are decided where its runs are recorded (given only for a job some channel
 * takes alerts of). Plain data: an outcome kept in the spool carries it, and the alert is written
 * when the outcome finally is.
 */
export interface Alerting {
  job: AlertedJob
  policy: IncidentPolicy
  /** The host whose tick records it. */
  reporter: string
}

/** For a missed period: when it was due, the grace time it had, and when it was noticed. */
export interface MissedPeriod {
  dueMs: number
  graceMs: number
  nowMs: number
}

/**
 * Apply one event to the job's incident, on a connection inside the transaction that records it:
 * the state row is read (locked), changed when the step changes it, and the alert the step calls
 * for goes to the outbox in the same transaction. Returns that alert, or null.
 */
export async function recordIncidentOn(connection: SqlConnection, alerting: Alerting, event: IncidentEvent, about: {run: AlertedRun} | {missed: MissedPeriod}): Promise<Alert | null> {
  const {dialect} = connection
  const code = alerting.job.code
  const [row] = await read(connection, sql.selectIncident(dialect, code))
  if (row === undefined) return null
  const before = incidentOf(row, dialect)
  const {state, alert: step} = incidentStep(before, event, alerting.policy)
  if (incidentChanged(before, state)) await write(connection, sql.updateIncident(dialect, code, columnsOf(state)))
  if (step === null) return null
  const alert = 'run' in about ? runAlert(alerting.job, about.run, step, alerting.reporter) : missedAlert(alerting.job, about.missed.dueMs, about.missed.nowMs, about.missed.graceMs, step, alerting.reporter)
  const key = 'run' in about ? `run:${about.run.runId}:${alert.kind}` : `missed:${code}:${about.missed.dueMs}`
  const inserted = await write(connection, sql.insertAlert(dialect, newAlert(alert, key, 'run' in about ? (about.run.endMs ?? about.run.startMs) : about.missed.nowMs)))
  return inserted.changes > 0 ? alert : null
}

/** An alert as an outbox row. */
export function newAlert(alert: Alert, dedupeKey: string, createdMs: number): sql.NewAlert {
  return {dedupeKey, kind: alert.kind, code: alert.code, runId: alert.runId, host: alert.host, text: alert.text, details: alert.details ? JSON.stringify(alert.details) : null, createdMs}
}

function incidentOf(row: Record<string, unknown>, dialect: SqlConnection['dialect']): IncidentState {
  const time = timeCodec(dialect)
  const kind = (row.incident_kind as string | null) ?? null
  return {
    failureStreak: Number(row.failure_streak ?? 0),
    failureSinceMs: time.fromDb(row.failure_since),
    successStreak: Number(row.success_streak ?? 0),
    open: kind === null ? null : {kind: kind as Alert['kind'], sinceMs: time.fromDb(row.incident_since) ?? 0, alertedMs: time.fromDb(row.incident_alerted_at) ?? 0, reminders: Number(row.incident_reminders ?? 0)},
  }
}

function columnsOf(state: IncidentState): sql.IncidentColumns {
  const open = state.open
  return {
    failureStreak: state.failureStreak,
    failureSinceMs: state.failureSinceMs,
    successStreak: state.successStreak,
    kind: open?.kind ?? null,
    sinceMs: open?.sinceMs ?? null,
    alertedMs: open?.alertedMs ?? null,
    reminders: open?.reminders ?? 0,
  }
}
