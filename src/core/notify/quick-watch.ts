import type {LoadedJob} from '../jobs/load-jobs'
import {decisionOptions, type Settings} from '../project/settings'
import type {AlertOutbox} from '../run-log/alert-outbox'
import type {RunnerKind, TickState} from '../run-log/server-ticks'
import {describeSchedule} from '../schedule/describe'
import {hasOwnChannels, jobAlerts} from '../alerts/alert-settings'
import {silentAlert, stuckAlert, type AlertedJob} from '../alerts/alert-text'
import {watchCheaply, type Watch, type WatchInput} from './watch'
import type {JobHistory} from '../contract/run-types'

/**
 * The part of a tick's alerting the per-minute quick tick runs too: nothing here loads the
 * delivery (channels, crypto) or anything the full tick alone needs.
 */

export interface WatchOptions {
  settings: Settings
  host: string
  /** Which runner of the host watches (default crontab). */
  runner?: RunnerKind
}

export function watchInput(options: WatchOptions, jobs: readonly LoadedJob[], state: TickState, histories: ReadonlyMap<string, JobHistory>, nowMs: number): WatchInput {
  const {alerts} = options.settings
  return {nowMs, host: options.host, runner: options.runner ?? 'crontab', jobs, histories, paused: state.paused, resumed: state.resumed, held: state.held, ticks: state.ticks, decisions: decisionOptions(options.settings), missedAfterMs: alerts.missedAfterMs, silentAfterMs: alerts.silentAfterMs, graceMs: options.settings.graceMs}
}

/**
 * What the quick tick can settle alone: the alerts for stuck runs and silent servers (each raised
 * once, by its key). True when the full tick is needed: a silence to report, or alerts to deliver.
 */
export async function quickWatch(options: WatchOptions, outbox: AlertOutbox, jobs: readonly LoadedJob[], state: TickState, histories: ReadonlyMap<string, JobHistory>, nowMs: number): Promise<boolean> {
  const input = watchInput(options, jobs, state, histories, nowMs)
  const {silent, silentHosts, stuck} = watchCheaply(input)
  if (silent) return true
  const alerting = (job: LoadedJob) => jobAlerts(options.settings.alerts, job.alerts, []).channels.length > 0
  const raised = (await raiseCheap(outbox, {silentHosts, stuck}, nowMs, options.host, alerting, options.settings.alerts.channels.length > 0))
  return raised || (state.nextAlertMs !== null && state.nextAlertMs <= nowMs)
}

export async function raiseCheap(outbox: AlertOutbox, watch: Pick<Watch, 'silentHosts' | 'stuck'>, nowMs: number, host: string, alerting: (job: LoadedJob) => boolean, runnerAlerts: boolean): Promise<boolean> {
  let raised = false
  if (runnerAlerts) for (const runner of watch.silentHosts) raised = (await outbox.raise(silentAlert(runner, runner.atMs, nowMs, [], host), silentKey(runner), nowMs)) || raised
  for (const {job, run, why} of watch.stuck) {
    if (!alerting(job)) continue
    const alert = stuckAlert(alertedJob(job), {runId: run.id, status: run.status, startMs: run.startMs, endMs: null, slot: run.ranAtTime, message: null, host: run.host, pid: run.pid}, nowMs, why, host)
    raised = (await outbox.raise(alert, `stuck:${run.id}`, nowMs)) || raised
  }
  return raised
}

/** A silent runner's alert is raised once per last tick (the crontab's key is the one from before runners had kinds). */
function silentKey(runner: {host: string; kind: RunnerKind; atMs: number}): string {
  return runner.kind === 'crontab' ? `runner_silent:${runner.host}:${runner.atMs}` : `runner_silent:${runner.host}:${runner.kind}:${runner.atMs}`
}

/** Whether any alert could go anywhere: the settings' channels, or a job's own. */
export function alertsConfigured(settings: Settings, jobs: readonly LoadedJob[]): boolean {
  return settings.alerts.channels.length > 0 || jobs.some((job) => hasOwnChannels(job.alerts))
}

/** The job as its alerts name it; its schedule in words is made only if an alert is (cron expressions load cronstrue). */
export function alertedJob(job: LoadedJob): AlertedJob {
  let words: string | undefined
  return {
    code: job.code,
    className: job.className,
    get schedule() {
      return (words ??= describeSchedule(job.schedule, job.policy))
    },
  }
}
