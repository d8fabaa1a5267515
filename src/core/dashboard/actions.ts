import type {ConnectionSource} from '../db/connection-source'
import {CommandError} from '../errors'
import {messageFromError} from '../jobs/message'
import {SqlRunStore} from '../run-log/run-store'
import {unlockJob} from '../run-log/unlock'
import {isLive} from '../schedule/history'
import {firstLine} from '../text'
import type {Clock} from '../time/clock'
import type {Identity} from './auth'
import type {DashboardData} from './data'

/** Starts `manage runcrons CODE --force` in a process of its own (the CLI's), and tells when it ends. */
export type JobStarter = (code: string) => {ended: Promise<{exitCode: number | null}>}

export interface ActionResult {
  /** HTTP-like: 200 done, 202 started (still running), 409 refused (running, not paused, held). */
  status: 200 | 202 | 409
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
  constructor(
    private readonly source: ConnectionSource,
    private readonly data: DashboardData,
    private readonly start: JobStarter,
    private readonly clock: Clock,
    private readonly leaseClock: Clock,
  ) {}

  async runNow(code: string, who: Identity, waitMs = RUN_NOW_WAIT_MS): Promise<ActionResult> {
    const store = new SqlRunStore(this.source)
    const history = (await store.histories(this.clock(), {codes: [code], leaseNowMs: this.leaseClock()})).get(code)
    const running = history?.running.find((run) => isLive(run, this.clock()))
    if (running) {
      const message = `${code} is already running (run ${running.id} on ${running.host ?? '?'}, pid ${running.pid ?? '?'}): not started again`
      await this.record(code, 'run', who, null, message)
      return {status: 409, message, runId: running.id}
    }
    const before = (await this.data.runs(code, {limit: 1}))[0]?.id ?? 0
    const {ended} = this.start(code)
    const finished = ended.then(async ({exitCode}) => {
      const latest = (await this.data.runs(code, {limit: 1}))[0]
      const ran = latest && latest.id > before ? latest : null
      const message = ran ? `run ${ran.id} ${ran.status}${ran.message ? `: ${firstLine(ran.message)}` : ''}` : `no run recorded (runcrons exited ${exitCode ?? 'by a signal'})`
      await this.record(code, 'run', who, null, message)
      return {message, runId: ran?.id ?? null}
    })
    const done = await Promise.race([finished, new Promise<null>((resolve) => setTimeout(() => resolve(null), waitMs).unref())])
    if (done === null) {
      finished.catch(() => undefined)
      return {status: 202, message: `${code} started; its outcome shows on the job's page when it ends`}
    }
    return {status: 200, ...done}
  }

  async pause(code: string, who: Identity, note: string | null): Promise<ActionResult> {
    const changed = await new SqlRunStore(this.source).setPaused(code, {sinceMs: this.clock(), by: who.name}, this.clock())
    const message = changed ? `${code} paused` : `${code} was already paused`
    await this.record(code, 'pause', who, note, message)
    return {status: changed ? 200 : 409, message}
  }

  async resume(code: string, who: Identity): Promise<ActionResult> {
    const changed = await new SqlRunStore(this.source).setPaused(code, null, this.clock())
    const message = changed ? `${code} resumed` : `${code} was not paused`
    await this.record(code, 'resume', who, null, message)
    return {status: changed ? 200 : 409, message}
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
