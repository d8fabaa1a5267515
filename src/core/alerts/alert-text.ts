import type {RunStatus} from '../contract/run-types'
import {firstLine} from '../base/text'
import {formatDuration, isoTime} from '../time/format'
import {MINUTE_MS} from '../time/units'
import type {Alert, AlertKind} from './alert'
import type {IncidentAlert} from './incident'
import type {RunnerKind} from './silence'

/**
 * What an alert about a job says, made where the alert is written (pure). The first line is the
 * subject; then what an on-call person needs, and the command to look further.
 */

/** The job as its alerts name it: JSON-safe, so a spooled outcome still carries it. */
export interface AlertedJob {
  code: string
  className: string
  /** The schedule in words ("every 5 min"). */
  schedule: string
}

/** The run an alert is about, as recorded. */
export interface AlertedRun {
  runId: number
  status: RunStatus
  startMs: number
  endMs: number | null
  slot: string | null
  message: string | null
  host: string | null
  pid: number | null
}

const STACK_LINES = 8

const HEADLINES: Record<string, string> = {
  failed: 'failed',
  timed_out: 'timed out',
  interrupted: 'was interrupted (its process stopped renewing its lease)',
  missed: 'missed a run',
  stuck: 'looks stuck',
}

/** The alert for a run's end that opened, reminded of or closed an incident. */
export function runAlert(job: AlertedJob, run: AlertedRun, step: IncidentAlert, reporter: string): Alert {
  const where = run.host ?? reporter
  const since = isoTime(step.sinceMs)
  let subject: string
  if (step.kind === 'recovered') subject = `[manage] ${job.code} recovered on ${where} (${HEADLINES[step.incident] ?? step.incident} since ${since})`
  else if (step.reminder) subject = `[manage] ${job.code} still ${step.kind === 'missed' ? 'missing runs' : 'failing'} on ${where}: ${step.failuresInRow} failures in a row since ${since} (reminder ${step.reminder})`
  else subject = `[manage] ${job.code} ${HEADLINES[step.kind] ?? step.kind} on ${where}${step.failuresInRow > 1 ? ` (${step.failuresInRow} failures in a row)` : ''}`
  const lines = [subject, '', ...jobLines(job), `kind: ${step.kind}`, ...runLines(run)]
  if (step.kind === 'recovered') lines.push(`incident: ${step.incident} since ${since}`)
  else lines.push(`failures in a row: ${step.failuresInRow}, since ${since}`)
  lines.push(...messageLines(run.message), '', `look further: manage crons:history ${job.code}${step.kind === 'recovered' ? '' : ' --status failed'} --full`)
  return {
    kind: step.kind,
    code: job.code,
    runId: run.runId,
    host: where,
    text: lines.join('\n'),
    details: {
      className: job.className,
      schedule: job.schedule,
      incident: step.incident,
      status: run.status,
      pid: run.pid,
      slot: run.slot,
      startedAt: isoTime(run.startMs),
      durationMs: run.endMs === null ? null : run.endMs - run.startMs,
      message: firstLine(run.message) || null,
      failuresInRow: step.failuresInRow,
      since,
      reminder: step.reminder,
    },
  }
}

/** A due period that passed with no run started within the grace time. */
export function missedAlert(job: AlertedJob, dueMs: number, nowMs: number, graceMs: number, step: IncidentAlert | null, reporter: string): Alert {
  const late = Math.round((nowMs - dueMs) / MINUTE_MS)
  const subject = `[manage] ${job.code} missed its run due at ${isoTime(dueMs)}: none started within ${graceMs / MINUTE_MS} min`
  const lines = [subject, '', ...jobLines(job), 'kind: missed', `due at: ${isoTime(dueMs)}, ${late} min ago; noticed by the tick on ${reporter} at ${isoTime(nowMs)}, which runs it now if it can`]
  lines.push('', `look further: manage why ${job.code}; manage audit ${job.code} --since 1d`)
  return {kind: 'missed', code: job.code, runId: null, host: reporter, text: lines.join('\n'), details: {className: job.className, schedule: job.schedule, dueAt: isoTime(dueMs), lateMs: nowMs - dueMs, reminder: step?.reminder ?? 0}}
}

/**
 * A job that paused itself after `after` failures in a row (pauseAfterFailures): `note` is the
 * pause's ("paused after 3 failures: …"), `run` the last of them. Sent once, with the pause.
 */
export function pausedAlert(job: AlertedJob, run: AlertedRun, after: number, note: string, reporter: string): Alert {
  const where = run.host ?? reporter
  const lines = [`[manage] ${job.code} ${note}`, '', ...jobLines(job), 'kind: paused', `pauseAfterFailures: ${after}; the last failure:`, ...runLines(run), ...messageLines(run.message)]
  lines.push('', `it runs again only once resumed: manage crons:resume ${job.code} (or Resume on the dashboard)`, `look further: manage crons:history ${job.code} --status failed --full`)
  const details = {className: job.className, schedule: job.schedule, pauseAfterFailures: after, note, status: run.status, pid: run.pid, startedAt: isoTime(run.startMs), message: firstLine(run.message) || null}
  return {kind: 'paused', code: job.code, runId: run.runId, host: where, text: lines.join('\n'), details}
}

/** A run still going well past its timeout or its usual duration. */
export function stuckAlert(job: AlertedJob, run: AlertedRun, nowMs: number, why: string, reporter: string): Alert {
  const where = run.host ?? reporter
  const subject = `[manage] ${job.code} looks stuck on ${where}: running for ${formatDuration(nowMs - run.startMs, {precision: 'min'})} (${why})`
  const lines = [subject, '', ...jobLines(job), 'kind: stuck', ...runLines(run), `noticed by the tick on ${reporter} at ${isoTime(nowMs)}`]
  lines.push('', `look further: manage crons:status; manage crons:unlock ${job.code} (refused while its lease is live)`)
  return {kind: 'stuck', code: job.code, runId: run.runId, host: where, text: lines.join('\n'), details: {className: job.className, schedule: job.schedule, pid: run.pid, startedAt: isoTime(run.startMs), runningMs: nowMs - run.startMs, why}}
}

/** No tick from `runner` (or from any runner: null) from lastTickMs until nowMs, and what the gap cost. */
export function silentAlert(runner: {host: string; kind: RunnerKind} | null, lastTickMs: number, nowMs: number, cost: ReadonlyArray<{code: string; due: number; first: number}>, reporter: string): Alert {
  const gap = formatDuration(nowMs - lastTickMs, {precision: 'min'})
  const host = runner?.host ?? null
  const scheduler = runner?.kind === 'scheduler'
  const subject =
    runner === null
      ? `[manage] no server ran manage runcrons for ${gap} (from ${isoTime(lastTickMs)} to ${isoTime(nowMs)})`
      : `[manage] ${scheduler ? `the scheduler on ${runner.host}` : runner.host} has not ticked since ${isoTime(lastTickMs)} (${gap}); other ${scheduler ? 'runners' : 'servers'} are ticking`
  const lines = [subject, '', `kind: runner_silent`, `noticed by the tick on ${reporter} at ${isoTime(nowMs)}`]
  if (runner === null) {
    lines.push(cost.length === 0 ? 'runs the gap cost: none' : 'runs the gap cost (each runs once now, if still due):')
    for (const job of cost) lines.push(`  ${job.code}: ${job.due} due, the first at ${isoTime(job.first)}`)
  } else lines.push(scheduler ? `check its service (systemctl status, its log); manage check on ${runner.host}` : `check its crontab (crontab -l) and its system log; manage check on ${runner.host}`)
  lines.push('', 'look further: manage audit --since 1d')
  return {kind: 'runner_silent', code: null, runId: null, host: host ?? reporter, text: lines.join('\n'), details: {silentHost: host, runner: runner?.kind ?? null, lastTickAt: isoTime(lastTickMs), gapMs: nowMs - lastTickMs, cost}}
}

function jobLines(job: AlertedJob): string[] {
  return [`job: ${job.code} (${job.className}), ${job.schedule}`]
}

function runLines(run: AlertedRun): string[] {
  const took = run.endMs === null ? 'still running' : `took ${formatDuration(run.endMs - run.startMs, {precision: 'min'})}`
  return [`host: ${run.host ?? '?'}, pid ${run.pid ?? '?'}`, `run: ${run.runId}${run.slot ? `, slot ${run.slot}` : ''}, started ${isoTime(run.startMs)}, ${took}`]
}

/** The message's first line, then its stack's tail (the frames nearest the throw are at its top; the tail says who called). */
function messageLines(message: string | null): string[] {
  if (!message) return []
  const [first, ...rest] = message.split('\n')
  const stack = rest.filter((line) => line.trim() !== '')
  if (stack.length === 0) return [`message: ${first}`]
  const shown = stack.length <= STACK_LINES ? stack : [...stack.slice(0, STACK_LINES / 2), '    …', ...stack.slice(-STACK_LINES / 2)]
  return [`message: ${first}`, 'stack:', ...shown]
}

export type {AlertKind}
