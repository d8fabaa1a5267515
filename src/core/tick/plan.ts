import {loadJobs, type LoadedJob, type Problem} from '../jobs/load-jobs'
import {usesLedger} from '../jobs/run-policy'
import {withDefinedLimits} from '../project/limits'
import {decisionOptions, type Settings} from '../project/settings'
import type {AlertOutbox} from '../run-log/alert-outbox'
import type {LoopLagSeen, ServerTicks} from '../run-log/server-ticks'
import {verdictOf, type Verdict} from '../schedule/verdict'
import {notStarted, type Outcome} from './outcome'
import {historyOf, readSnapshot, trimRunLog, type Snapshot} from './snapshot'
import type {JobHistory, RunLogView} from '../contract/run-types'

/**
 * Every tick is one pipeline: the plan (load the jobs, see to the spool, read the snapshot, decide),
 * then one of two ends. The quiet end, when every job is simply not due: this server's tick
 * recorded and the log trimmed, each job reported not due. Running the plan (run-crons.ts): the
 * watch, each due job claimed and run, then the same writes as the quiet end, and the alerts'
 * delivery. The per-minute quick tick (quick-tick.ts) is this pipeline stopped early: after the
 * cheap watch it takes the quiet end, or hands over to the full tick having written nothing; the
 * full tick (by hand, or handed over) runs its plan whatever it holds. This file holds what both
 * share, and loads nothing of what running a job needs.
 */

/** A job's verdict on a history at a time, with its pause and the tick's --force. */
export type Decide = (job: LoadedJob, history: JobHistory, nowMs: number) => Verdict

export interface TickPlan {
  jobs: readonly LoadedJob[]
  problems: Problem[]
  /** Where the snapshot was read: where the tick writes its own rows too. */
  runLog: RunLogView
  outbox: AlertOutbox | undefined
  servers: ServerTicks | undefined
  snapshot: Snapshot
  /** Each job's verdict on the snapshot, by code. */
  verdicts: ReadonlyMap<string, Verdict>
  decide: Decide
}

/** What the snapshot is read from, opened once the plan gets there, and the time it is read at. */
export interface PlanSource {
  runLog: RunLogView
  outbox: AlertOutbox | undefined
  /** The servers' ticks, read with the pauses and the next alert's time (none: the pauses alone). */
  servers: ServerTicks | undefined
  /** The decisions' now (MANAGE_NOW pins it). */
  nowMs: number
  /** The leases' now: the real clock's. */
  leaseNowMs: number
}

export interface PlanSteps {
  settings: Settings
  /** The classes to consider: the settings' crons, or the ones named. */
  classes: readonly unknown[]
  /** The classes are some of the crons (a scheduler's partial wake): read only their histories. */
  some?: boolean
  /** Run whatever the schedule says; `forcePaused`: paused jobs too (when forced by name). */
  force?: boolean
  /** A resident scheduler plans: spreadSeconds jobs start their offset into their period. */
  spread?: boolean
  forcePaused?: boolean
  /** The classes loaded, with their problems. false: stop here (the quick tick leaves a class with an error to the full tick). */
  loaded(jobs: readonly LoadedJob[], problems: readonly Problem[]): boolean
  /** Outcomes the spool kept from a tick the database failed, before deciding. false: stop here (the quick tick's, when it holds any). */
  spooled(): Promise<boolean>
  open(): Promise<PlanSource>
}

/** The plan, or null when a step stopped it (nothing was written). */
export async function planTick(steps: PlanSteps): Promise<TickPlan | null> {
  const {settings} = steps
  // A job naming a limit the settings do not define is left out, with an error (project/limits.ts).
  const loaded = loadJobs(steps.classes)
  const {jobs, problems} = withDefinedLimits(loaded.jobs, loaded.problems, settings)
  if (!steps.loaded(jobs, problems) || !(await steps.spooled())) return null
  const {runLog, outbox, servers, nowMs, leaseNowMs} = await steps.open()
  const snapshot = await readSnapshot(runLog, jobs, nowMs, {leaseNowMs, skewMs: settings.clockSkewMs, servers, some: steps.some})
  const decide = decider(settings, snapshot, {force: steps.force ?? false, forcePaused: steps.forcePaused ?? false, spread: steps.spread ?? false})
  const verdicts = new Map<string, Verdict>()
  for (const job of jobs) verdicts.set(job.code, decide(job, historyOf(snapshot, job.code), snapshot.nowMs))
  return {jobs, problems, runLog, outbox, servers, snapshot, verdicts, decide}
}

/**
 * The jobs' outcomes when every one is simply not due, else null: a job due, paused (shown as
 * such) or running elsewhere (shown with who runs it) is for running the plan.
 */
export function quietOutcomes(plan: TickPlan): Outcome[] | null {
  const outcomes: Outcome[] = []
  for (const job of plan.jobs) {
    const verdict = plan.verdicts.get(job.code)!
    if (verdict.kind !== 'not-due') return null
    outcomes.push(notStarted(job, verdict))
  }
  return outcomes
}

/** This server's crontab tick (cron_tick, kind crontab): when each runner last ticked, for runner_silent. */
export interface ServerTick {
  host: string
  pid: number
  /** The version the server runs (cron_tick.version). */
  version: string
}

/** Record this server's crontab tick, at the plan's time (its since kept unless it was silent: alerts.silentAfterMinutes). */
export function recordServerTick(plan: TickPlan, server: ServerTick, settings: Pick<Settings, 'alerts'>): Promise<void> {
  return plan.servers ? plan.servers.record({...server, kind: 'crontab', atMs: plan.snapshot.nowMs, silentAfterMs: settings.alerts.silentAfterMs}) : Promise.resolve()
}

/** Record a resident scheduler's tick (cron_tick, kind scheduler) at `atMs` (a plan's time, or a refresh's): `sinceMs` is its start, `lag` its worst event-loop lag since its last tick. */
export function recordSchedulerTick(plan: Pick<TickPlan, 'servers'>, server: ServerTick, atMs: number, sinceMs: number, lag: LoopLagSeen | null = null): Promise<void> {
  return plan.servers ? plan.servers.record({...server, kind: 'scheduler', atMs, sinceMs, lag}) : Promise.resolve()
}

/** The quiet end of a plan (nothing to run): this server's tick recorded and the log trimmed, as running the plan ends. */
export async function quietEnd(plan: TickPlan, settings: Settings, server: ServerTick): Promise<void> {
  await recordServerTick(plan, server, settings)
  await trimRunLog(plan.runLog, settings, plan.snapshot.nowMs)
}

function decider(settings: Settings, snapshot: Snapshot, force: {force: boolean; forcePaused: boolean; spread: boolean}): Decide {
  const {paused} = snapshot
  const {held, resumed} = snapshot.state
  // One options object for every job that is not paused: a tick of 1,000 jobs makes one, not 1,000.
  const running = decisionOptions(settings, {...force, paused: null})
  return (job, history, nowMs) => {
    const pause = paused.get(job.code)
    // A catch-up job decides on its ledger's hold too: the fresh history read under its claim has it, the snapshot's is added here.
    const seen = !usesLedger(job.policy) || history.heldToMs !== undefined ? history : {...history, heldToMs: held.get(job.code) ?? null, resumedMs: resumed.get(job.code) ?? null}
    return verdictOf(job.schedule, job.policy, seen, nowMs, pause === undefined ? running : {...running, paused: pause})
  }
}
