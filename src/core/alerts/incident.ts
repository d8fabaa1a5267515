import {isFailedStatus, type RunStatus} from '../contract/run-types'
import type {AlertKind} from './alert'

/**
 * A job's incident, as cron_job keeps it: the failures and successes in a row, and the open
 * incident (what opened it, since when, when it last alerted). Changed only by incidentStep, in the
 * transaction that records the run's end, so the alert it calls for is written with the outcome.
 */
export interface IncidentState {
  failureStreak: number
  /** When the current streak of failures began (its first failed run's start), or null. */
  failureSinceMs: number | null
  successStreak: number
  open: OpenIncident | null
}

export interface OpenIncident {
  kind: AlertKind
  sinceMs: number
  alertedMs: number
  /** Reminders sent so far (each waits twice as long as the one before). */
  reminders: number
}

export const NO_INCIDENT: IncidentState = {failureStreak: 0, failureSinceMs: null, successStreak: 0, open: null}

export interface IncidentPolicy {
  failureThreshold: number
  recoveryThreshold: number
  /** Remind after this long while the incident stays open and the job keeps failing (doubling each time), or null: no reminders. */
  remindAfterMs: number | null
}

/** What changes an incident: a run that ended (its start time), or a due period that passed with no run. */
export type IncidentEvent = {kind: 'run'; status: RunStatus; atMs: number} | {kind: 'missed'; atMs: number}

/** The alert an event calls for: opening an incident, reminding of it, or its recovery. */
export interface IncidentAlert {
  kind: AlertKind
  /** What kind of incident this is about (for a recovery: the one that closed). */
  incident: AlertKind
  failuresInRow: number
  sinceMs: number
  /** 0 for the alert that opened the incident, n for the n-th reminder; null for a recovery. */
  reminder: number | null
}

/**
 * One event's effect on the job's incident (pure; tested as a table). `failureThreshold` failed,
 * timed-out or interrupted runs in a row open an incident with one alert; while it is open, further
 * failures alert only as reminders (when `remindAfterMs` is set, with back-off); a missed period
 * opens one too. `recoveryThreshold` successes in a row close it with one recovery notice. The
 * success streak is kept only up to the threshold, so a job that keeps succeeding changes nothing.
 */
export function incidentStep(state: IncidentState, event: IncidentEvent, policy: IncidentPolicy): {state: IncidentState; alert: IncidentAlert | null} {
  if (event.kind === 'run' && event.status === 'succeeded') {
    const successStreak = Math.min(state.successStreak + 1, policy.recoveryThreshold)
    const next: IncidentState = {failureStreak: 0, failureSinceMs: null, successStreak, open: state.open}
    if (state.open === null || successStreak < policy.recoveryThreshold) return {state: next, alert: null}
    const alert: IncidentAlert = {kind: 'recovered', incident: state.open.kind, failuresInRow: state.failureStreak, sinceMs: state.open.sinceMs, reminder: null}
    return {state: {...next, open: null}, alert}
  }
  if (event.kind === 'run' && !isFailedStatus(event.status)) return {state, alert: null}

  const failed = event.kind === 'run'
  const failureStreak = failed ? state.failureStreak + 1 : state.failureStreak
  const failureSinceMs = failed ? (state.failureSinceMs ?? event.atMs) : state.failureSinceMs
  const kind: AlertKind = event.kind === 'run' ? (event.status as AlertKind) : 'missed'
  const next: IncidentState = {failureStreak, failureSinceMs, successStreak: 0, open: state.open}
  const open = state.open
  if (open === null) {
    if (failed && failureStreak < policy.failureThreshold) return {state: next, alert: null}
    const sinceMs = failed ? failureSinceMs! : event.atMs
    return {state: {...next, open: {kind, sinceMs, alertedMs: event.atMs, reminders: 0}}, alert: {kind, incident: kind, failuresInRow: failureStreak, sinceMs, reminder: 0}}
  }
  if (policy.remindAfterMs === null || event.atMs < open.alertedMs + policy.remindAfterMs * 2 ** open.reminders) return {state: next, alert: null}
  const reminders = open.reminders + 1
  return {state: {...next, open: {...open, alertedMs: event.atMs, reminders}}, alert: {kind, incident: open.kind, failuresInRow: failureStreak, sinceMs: open.sinceMs, reminder: reminders}}
}

/** Whether the state differs (so the row needs writing). */
export function incidentChanged(before: IncidentState, after: IncidentState): boolean {
  return JSON.stringify(before) !== JSON.stringify(after)
}
