import os from 'node:os'
import type {ConnectionSource} from '../db/connection-source'
import type {Project} from '../project/project'
import {systemClock, type Clock} from '../time/clock'
import {listActions, recordAction, setPausedRecorded, type ActionRow} from './action-log'
import {RunNow, type JobStarter, type RunNowResult} from './run-now'
import {unlock, type UnlockResult} from './unlock'

/** Who acts from this machine's command line: `user@host`, as the CLI records it. */
export function localOperatorName(): string {
  return `${os.userInfo().username}@${os.hostname()}`
}

/** Words for a pause or resume's outcome, from whether anything changed: shown, and recorded with the action. */
export type OutcomeWords = (changed: boolean) => string

/**
 * What someone does to a job by hand, from the CLI (crons:pause, crons:resume, crons:unlock) or the
 * dashboard: pause, resume, unlock, run now, and the action log they are recorded in (cron_action).
 * It returns results, each front end words them; `clock` is the time recorded (MANAGE_NOW may pin
 * it), leases are judged by `leaseClock`, a real clock.
 */
export class Operator {
  private readonly runNow: RunNow | null

  /** `start`: how run now starts a job (only where run now is offered: the dashboard). */
  constructor(
    private readonly source: ConnectionSource,
    private readonly clock: Clock,
    private readonly leaseClock: Clock,
    start?: JobStarter,
  ) {
    this.runNow = start ? new RunNow(source, start, clock, leaseClock) : null
  }

  /** Pause a job on every server; the pause and its record are one transaction (a pause that could not be recorded is not made). */
  pause(code: string, by: string, note: string | null, words: OutcomeWords): Promise<{changed: boolean; outcome: string}> {
    return setPausedRecorded(this.source, {code, pause: true, by, note, atMs: this.clock()}, words)
  }

  /** Resume a paused job, recorded in the same transaction. */
  resume(code: string, by: string, words: OutcomeWords): Promise<{changed: boolean; outcome: string}> {
    return setPausedRecorded(this.source, {code, pause: false, by, note: null, atMs: this.clock()}, words)
  }

  /** Release a job's claim (see unlock); the caller records what it says of it (record). */
  unlock(code: string, options: {force: boolean}): Promise<UnlockResult> {
    return unlock(this.source, code, {force: options.force, nowMs: this.clock(), leaseNowMs: this.leaseClock()})
  }

  /**
   * Run the job now through the starter (see RunNow), recorded as a 'run' action by `by`. Run nows
   * of one job from one Operator never overlap: the dashboard keeps one for its life.
   */
  run(code: string, by: string, waitMs?: number): Promise<RunNowResult> {
    if (!this.runNow) throw new Error('run now needs a job starter: give one to the Operator')
    return this.runNow.run(code, (outcome) => this.record({code, action: 'run', by, note: null, outcome}), waitMs)
  }

  /** Record an action, now. */
  record(action: {code: string; action: string; by: string; note: string | null; outcome: string | null}): Promise<void> {
    return recordAction(this.source, {...action, atMs: this.clock()})
  }

  /** A job's latest actions, newest first. */
  actions(code: string, limit: number): Promise<ActionRow[]> {
    return listActions(this.source, code, limit)
  }
}

/** The operator of a project's command: its run log, its clock (MANAGE_NOW may pin it), leases by the system clock. */
export async function projectOperator(project: Project): Promise<Operator> {
  return new Operator(project.runLogSource(), await project.clock(), systemClock)
}
