import type {LoadedJob} from '../jobs/load-jobs'
import type {Settings} from '../project/settings'
import type {AlertOutbox} from '../run-log/alert-outbox'
import type {RunnerKind, TickState} from '../run-log/server-ticks'
import type {Alerting} from '../run-log/incidents'
import type {Clock} from '../time/clock'
import {jobAlerts, type JobAlerts} from '../alerts/alert-settings'
import {silentAlert} from '../alerts/alert-text'
import type {Channel} from '../alerts/channels/registry'
import {deliverPending, type DeliveryReport} from './delivery'
import {alertedJob, alertsConfigured, raiseCheap, watchInput} from './quick-watch'
import {watchTick, type Watch} from './watch'
import type {JobHistory} from '../contract/run-types'

/**
 * A tick's part in alerting: how each job's runs feed its incident (`alertingFor`, handed to the
 * recorder), what the tick notices before its jobs run (`watch`), and delivering the outbox after
 * them (`deliver`). A project with no channel configured pays for none of it.
 */
export interface TickAlerts {
  alertingFor(job: LoadedJob): Alerting | undefined
  /** The same, for a job of this tick known by its code. */
  alertingOf(code: string): Alerting | undefined
  watch(jobs: readonly LoadedJob[], state: TickState, histories: ReadonlyMap<string, JobHistory>, nowMs: number): Promise<void>
  deliver(): Promise<DeliveryReport | null>
}

export interface TickAlertsOptions {
  settings: Settings
  outbox: AlertOutbox | undefined
  clock: Clock
  leaseClock: Clock
  host: string
  /** Which runner of the host runs the tick (default crontab): the watch leaves its own heartbeat alone. */
  runner?: RunnerKind
  pid: number
  log(level: 'info' | 'warn', message: string): void
}

export function tickAlerts(options: TickAlertsOptions, loaded: readonly LoadedJob[]): TickAlerts {
  const {settings, outbox} = options
  const alerts = settings.alerts
  const own = new Map<string, JobAlerts>()
  const ofJob = (job: LoadedJob) => {
    let resolved = own.get(job.code)
    if (!resolved) own.set(job.code, (resolved = jobAlerts(alerts, job.alerts, [])))
    return resolved
  }
  const {jobsByCode, configured} = knownJobs(settings, loaded)
  const enabled = outbox !== undefined && configured
  const channelsFor = (code: string | null): readonly Channel[] => {
    if (code === null) return alerts.channels
    const job = jobsByCode.get(code)
    return job ? ofJob(job).channels : alerts.channels
  }
  return {
    alertingFor(job) {
      if (!enabled) return undefined
      const resolved = ofJob(job)
      if (resolved.channels.length === 0) return undefined
      return {
        job: alertedJob(job),
        policy: {failureThreshold: resolved.failureThreshold, recoveryThreshold: resolved.recoveryThreshold, remindAfterMs: alerts.remindAfterMs},
        reporter: options.host,
      }
    },
    alertingOf(code) {
      const job = jobsByCode.get(code)
      return job ? this.alertingFor(job) : undefined
    },
    async watch(jobs, state, histories, nowMs) {
      if (!enabled || !outbox) return
      const watch = watchTick(watchInput(options, jobs, state, histories, nowMs))
      await raiseWatched(options, outbox, watch, nowMs, (job) => this.alertingFor(job))
    },
    async deliver() {
      if (!enabled || !outbox) return null
      const {clock, leaseClock, host, pid, log} = options
      return deliverPending({outbox, channelsFor, clock, leaseClock, host, pid, log})
    },
  }
}

/**
 * The jobs by code, and whether any alert could go anywhere: worked out once per list of jobs (a
 * scheduler hands every wake the same list of the jobs it knows, 1,000 maybe, and plans few).
 */
const known = new WeakMap<readonly LoadedJob[], {jobsByCode: Map<string, LoadedJob>; configured: boolean}>()
function knownJobs(settings: Settings, loaded: readonly LoadedJob[]): {jobsByCode: Map<string, LoadedJob>; configured: boolean} {
  let jobs = known.get(loaded)
  if (!jobs) known.set(loaded, (jobs = {jobsByCode: new Map(loaded.map((job) => [job.code, job])), configured: alertsConfigured(settings, loaded)}))
  return jobs
}

async function raiseWatched(options: TickAlertsOptions, outbox: AlertOutbox, watch: Watch, nowMs: number, alertingFor: (job: LoadedJob) => Alerting | undefined): Promise<void> {
  const {host} = options
  if (watch.silence && options.settings.alerts.channels.length > 0) {
    const {lastTickMs, cost} = watch.silence
    await outbox.raise(silentAlert(null, lastTickMs, nowMs, cost, host), `runner_silent:*:${lastTickMs}`, nowMs)
  }
  await raiseCheap(outbox, watch, nowMs, host, (job) => alertingFor(job) !== undefined, options.settings.alerts.channels.length > 0)
  for (const {job, dueMs} of watch.missed) {
    const alerting = alertingFor(job)
    // Periods that fell due in a silence are the silence's to report.
    if (alerting && !(watch.silence && dueMs > watch.silence.lastTickMs)) await outbox.raiseMissed(alerting, {dueMs, graceMs: options.settings.alerts.missedAfterMs, nowMs})
  }
}

