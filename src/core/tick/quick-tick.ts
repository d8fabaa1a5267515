import os from 'node:os'
import {alertsConfigured, quickWatch} from '../notify/quick-watch'
import {PACKAGE_VERSION} from '../project/package-name'
import type {Project} from '../project/project'
import {SqlAlertOutbox} from '../run-log/alert-outbox'
import {SqlServerTicks} from '../run-log/server-ticks'
import {SqlRunStore} from '../run-log/run-store'
import {systemClock} from '../time/clock'
import type {Outcome} from './outcome'
import {planTick, quietEnd, quietOutcomes, type TickPlan} from './plan'

/** The quick answer: every job's outcome (the quiet end taken), or the tick must run, on this plan when it got that far (null: it plans again). */
export type QuickAnswer = {outcomes: Outcome[]} | {handOver: TickPlan | null}

/**
 * The per-minute tick's quick answer: the tick's pipeline (plan.ts) stopped early. Most ticks run
 * nothing, so this plans with the database driver alone (no oclif, no knex, and no luxon for
 * interval jobs in UTC) and, when every job is simply not due, takes the quiet end: this server's
 * tick recorded, the log trimmed, their outcomes returned. When anything is due, running
 * elsewhere or paused, it hands the tick its plan having written nothing: the tick runs it as its
 * own (run-crons.ts), and every due job is still claimed and decided again on fresh history. When a
 * class has an error, the alerts are misconfigured or the spool holds outcomes, it hands over no
 * plan, and the tick plans from the start and reports them. So this can only ever save time,
 * never change an outcome. With alerts configured, it also hands over when there is an alert to
 * deliver or a silence to report (a stuck run or a silent server it raises first, once, by the
 * alert's key: the cheap watch).
 */
export async function quickTick(project: Project): Promise<QuickAnswer> {
  const settings = await project.settings()
  // No job: nothing to decide or record, and no connection opened.
  if (settings.crons.length === 0) return {outcomes: []}
  // A mistake in the alerts is the full tick's to report.
  if (settings.alertProblems.length > 0) return {handOver: null}
  const plan = await planTick({
    settings,
    classes: settings.crons,
    // A class's problem and the spool's outcomes are the full tick's to report and record.
    loaded: (_jobs, problems) => !problems.some((problem) => problem.level === 'error'),
    spooled: async () => !project.spool(settings).hasPending(),
    open: async () => {
      // A connection that never creates the sqlite file: a missing file is the tick's to report.
      const source = await project.tickSource({create: false})
      return {runLog: new SqlRunStore(source), outbox: new SqlAlertOutbox(source), servers: new SqlServerTicks(source), nowMs: (await project.clock())(), leaseNowMs: systemClock()}
    },
  })
  if (plan === null) return {handOver: null}
  const outcomes = quietOutcomes(plan)
  if (outcomes === null) return {handOver: plan}
  const host = os.hostname()
  const {outbox, jobs, snapshot} = plan
  // Silent servers, stuck runs and alerts to deliver: the full tick's work (each alert raised once, by its key).
  if (outbox && alertsConfigured(settings, jobs) && (await quickWatch({settings, host}, outbox, jobs, snapshot.state, snapshot.histories, snapshot.nowMs))) return {handOver: plan}
  await quietEnd(plan, settings, {host, pid: process.pid, version: PACKAGE_VERSION})
  return {outcomes}
}
