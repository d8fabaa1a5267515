import type {ConnectionSource} from '../core/db/connection-source'
import {Operator} from '../core/operate/operator'
import {RUN_NOW_WAIT_MS, type JobStarter, type RunNowResult} from '../core/operate/run-now'
import {unlockRefusal} from '../core/operate/unlock'
import type {Clock} from '../core/time/clock'
import type {Identity} from './auth'

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

const RUN_NOW_STATUS = {ran: 200, started: 202, refused: 409, 'no-run': 500} as const

/** How the dashboard says a held claim can be forced: on a server, with the CLI (never from here). */
const DASHBOARD_FORCE_HINT = ' (manage crons:unlock --force on a server, if you are sure it is gone)'

/**
 * The dashboard's actions: the operator's (core/operate), each recorded in cron_action with the
 * signed-in name, answered as HTTP-like results. Unlock is refused as the CLI refuses it, and
 * never forced from here.
 */
export class DashboardActions {
  private readonly operator: Operator

  constructor(source: ConnectionSource, start: JobStarter, clock: Clock, leaseClock: Clock) {
    this.operator = new Operator(source, clock, leaseClock, start)
  }

  async runNow(code: string, who: Identity, waitMs = RUN_NOW_WAIT_MS): Promise<ActionResult> {
    const {outcome, ...said}: RunNowResult = await this.operator.run(code, who.name, waitMs)
    return {status: RUN_NOW_STATUS[outcome], ...said}
  }

  async pause(code: string, who: Identity, note: string | null): Promise<ActionResult> {
    const {changed, outcome} = await this.operator.pause(code, who.name, note, (changed) => (changed ? `${code} paused` : `${code} was already paused`))
    return {status: changed ? 200 : 409, message: outcome}
  }

  async resume(code: string, who: Identity): Promise<ActionResult> {
    const {changed, outcome} = await this.operator.resume(code, who.name, (changed) => (changed ? `${code} resumed` : `${code} was not paused`))
    return {status: changed ? 200 : 409, message: outcome}
  }

  /** Release a claim whose holder is gone; a live lease is refused. Every answer is recorded, a refusal as "refused: …". */
  async unlock(code: string, who: Identity): Promise<ActionResult> {
    const result = await this.operator.unlock(code, {force: false})
    const released = result.kind === 'released'
    const message =
      result.kind === 'released'
        ? `${code} unlocked (held by pid ${result.holder.pid ?? '?'} on ${result.holder.host ?? '?'}; ${result.interrupted} run(s) recorded interrupted)`
        : result.kind === 'not-locked'
          ? `${code} was not locked`
          : unlockRefusal(result, DASHBOARD_FORCE_HINT)
    const refused = result.kind === 'unknown-job' || result.kind === 'held'
    await this.operator.record({code, action: 'unlock', by: who.name, note: null, outcome: refused ? `refused: ${message}` : message})
    return {status: released ? 200 : 409, message}
  }
}
