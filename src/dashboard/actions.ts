import type {ConnectionSource} from '../core/db/connection-source'
import {CommandError} from '../core/base/errors'
import {messageFromError} from '../core/jobs/message'
import {setPausedRecorded} from '../core/operate/action-log'
import {SqlRunStore} from '../core/run-log/run-store'
import {unlockJob} from '../core/operate/unlock'
import {isLive} from '../core/schedule/history'
import {firstLine} from '../core/base/text'
import type {Clock} from '../core/time/clock'
import type {Identity} from './auth'
import type {DashboardData} from './data'

/**
 * Starts `manage runcrons CODE --force` in a process of its own (the CLI's): its pid (which a run
 * it claims records) and when it ends.
 */
export type JobStarter = (code: string) => {pid: number | undefined; ended: Promise<{exitCode: number | null}>}

/**
 * The environment of run now's child: the dashboard's, less its own secrets (MANAGE_DASHBOARD_*, the
 * token above all), which a job could otherwise read and print into its message.
 */
export function childEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !/^MANAGE_DASHBOARD_/i.test(name)))
}

export interface ActionResult {
  /** HTTP-like: 200 done, 202 started (still running), 409 refused (running, not paused, held), 500 runcrons failed before running it. */
  status: 200 | 202 | 409 | 500
  message: string
  runId?: number | null
}

/** How long run now holds its request before answering "started": the page then polls the job. */
export const RUN_NOW_WAIT_MS = 5_000

/**
 * The dashboard's actions, each recorded in cron_action with who and when. Run now goes through
 * the same claim as every tick (it is `runcrons CODE --force` in a process of its own), so it never
 * starts a second run beside one in progress; unlock is refused as the CLI refuses it.
 */
export class DashboardActions {
  /** Jobs whose run now's child is alive. */
  private readonly inFlight = new Set<string>()

  constructor(
    private readonly source: ConnectionSource,
    private readonly data: DashboardData,
    private readonly start: JobStarter,
    private readonly clock: Clock,
    private readonly leaseClock: Clock,
  ) {}

  /**
   * Only the request whose own child claimed the job says it ran: its run is the one with the
   * child's pid. A child that found the job claimed by another process (a tick, another dashboard)
   * ran nothing, and its request is refused (409) naming where the job runs. A second run now of
   * the same job from this dashboard, while the first one's child lives, is refused at once.
   */
  async runNow(code: string, who: Identity, waitMs = RUN_NOW_WAIT_MS): Promise<ActionResult> {
    if (this.inFlight.has(code)) {
      const refused = (await this.runningElsewhere(code, null)) ?? {status: 409, message: `${code} is already being run from this dashboard: not started again`}
      await this.record(code, 'run', who, null, refused.message)
      return refused
    }
    this.inFlight.add(code)
    let finished: Promise<ActionResult> | null = null
    try {
      const refused = await this.runningElsewhere(code, null)
      if (refused) {
        await this.record(code, 'run', who, null, refused.message)
        return refused
      }
      const before = (await this.data.runs(code, {limit: 1}))[0]?.id ?? 0
      const {pid, ended} = this.start(code)
      const ours = async () => (await this.data.runs(code, {limit: 5})).find((run) => run.id > before && pid !== undefined && run.pid === pid) ?? null
      finished = ended.then(async ({exitCode}): Promise<ActionResult> => {
        const ran = await ours()
        const result: ActionResult = ran
          ? {status: 200, message: `run ${ran.id} ${ran.status}${ran.message ? `: ${firstLine(ran.message)}` : ''}`, runId: ran.id}
          : ((await this.runningElsewhere(code, before)) ?? {status: 500, message: `no run recorded (runcrons exited ${exitCode ?? 'by a signal'})`, runId: null})
        await this.record(code, 'run', who, null, result.message)
        return result
      })
      const done = await Promise.race([finished, new Promise<null>((resolve) => setTimeout(() => resolve(null), waitMs).unref())])
      if (done !== null) return done
      finished.catch(() => undefined)
      const running = await ours()
      return {status: 202, message: `${code} started${running ? ` (run ${running.id})` : ''}; its outcome shows on the job's page when it ends`, runId: running?.id ?? null}
    } finally {
      // Held until the child ends (not when a 202 is answered), so a second run now waits for it.
      if (finished) void finished.then(() => undefined, () => undefined).then(() => this.inFlight.delete(code))
      else this.inFlight.delete(code)
    }
  }

  /** A 409 naming the live run of the job, or a run another process made after run `afterId`; null when there is none. */
  private async runningElsewhere(code: string, afterId: number | null): Promise<ActionResult | null> {
    const store = new SqlRunStore(this.source)
    const history = (await store.histories(this.clock(), {codes: [code], leaseNowMs: this.leaseClock()})).get(code)
    const running = history?.running.find((run) => isLive(run, this.clock()))
    if (running) return {status: 409, message: `${code} is already running (run ${running.id} on ${running.host ?? '?'}, pid ${running.pid ?? '?'}): not started again`, runId: running.id}
    if (afterId === null) return null
    const other = (await this.data.runs(code, {limit: 1}))[0]
    if (other && other.id > afterId) return {status: 409, message: `${code} was run meanwhile by another process (run ${other.id} on ${other.host ?? '?'}, pid ${other.pid ?? '?'}, ${other.status}): not started again`, runId: other.id}
    return null
  }

  /** The pause and its record are one transaction: a pause that could not be recorded is not made. */
  async pause(code: string, who: Identity, note: string | null): Promise<ActionResult> {
    const {changed, outcome} = await setPausedRecorded(this.source, {code, pause: true, by: who.name, note, atMs: this.clock()}, (changed) => (changed ? `${code} paused` : `${code} was already paused`))
    return {status: changed ? 200 : 409, message: outcome}
  }

  async resume(code: string, who: Identity): Promise<ActionResult> {
    const {changed, outcome} = await setPausedRecorded(this.source, {code, pause: false, by: who.name, note: null, atMs: this.clock()}, (changed) => (changed ? `${code} resumed` : `${code} was not paused`))
    return {status: changed ? 200 : 409, message: outcome}
  }

  /** Release a claim whose holder is gone; a live lease is refused (never forced from here). */
  async unlock(code: string, who: Identity): Promise<ActionResult> {
    try {
      const report = await unlockJob(this.source, code, {force: false, nowMs: this.clock(), leaseNowMs: this.leaseClock()})
      const message = report.released ? `${code} unlocked (held by pid ${report.holder?.pid ?? '?'} on ${report.holder?.host ?? '?'}; ${report.interrupted} run(s) recorded interrupted)` : `${code} was not locked`
      await this.record(code, 'unlock', who, null, message)
      return {status: report.released ? 200 : 409, message}
    } catch (error) {
      if (!(error instanceof CommandError)) throw error
      const message = firstLine(messageFromError(error)).replace(/^CommandError: /, '').replace(/, or pass --force if you are sure it is gone$/, ' (manage crons:unlock --force on a server, if you are sure it is gone)')
      await this.record(code, 'unlock', who, null, `refused: ${message}`)
      return {status: 409, message}
    }
  }

  private record(code: string, action: string, who: Identity, note: string | null, outcome: string): Promise<void> {
    return this.data.recordAction({code, action, by: who.name, note, outcome, atMs: this.clock()})
  }
}
