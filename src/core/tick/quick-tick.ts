import os from 'node:os'
import {alertsConfigured, quickWatch} from '../notify/quick-watch'
import {loadJobs} from '../jobs/load-jobs'
import {PACKAGE_VERSION} from '../project/package-name'
import {SqlAlertOutbox} from '../run-log/alert-outbox'
import {SqlServerTicks} from '../run-log/server-ticks'
import type {Project} from '../project/project'
import {SqlRunStore} from '../run-log/run-store'
import {verdictOf} from '../schedule/verdict'
import {systemClock} from '../time/clock'
import {notStarted, type Outcome} from './outcome'
import {historyOf, readSnapshot, trimRunLog} from './snapshot'

/**
 * The per-minute tick's quick answer. Most ticks run nothing, so this decides with the database
 * driver alone (no oclif, no knex, and no luxon for interval jobs in UTC), with the same snapshot
 * and verdict as the tick. When every job is simply not due, it records this server's heartbeat,
 * trims the log as the tick would at its end, and returns their outcomes. When anything is due,
 * running elsewhere, paused or misconfigured, it returns null having written nothing, and the tick
 * runs from the start (deciding again), so this can only ever save time, never change an outcome.
 * With alerts configured, it also hands over when there is an alert to deliver or a silence to
 * report (a stuck run or a silent server it raises first, once, by the alert's key).
 */
export async function quickTick(project: Project): Promise<Outcome[] | null> {
  const settings = await project.settings()
  const {jobs, problems} = loadJobs(settings.crons)
  if (problems.some((problem) => problem.level === 'error')) return null
  if (jobs.length === 0) return []
  // Outcomes kept from a tick the database failed are the tick's to record, before it decides.
  if (project.spool(settings).hasPending()) return null

  // A connection that never creates the sqlite file: a missing file is the tick's to report.
  const source = await project.tickSource({create: false})
  const store = new SqlRunStore(source)
  const outbox = new SqlAlertOutbox(source)
  const servers = new SqlServerTicks(source)
  const skewMs = settings.clockSkewSeconds * 1000
  const snapshot = await readSnapshot(store, jobs, (await project.clock())(), {leaseNowMs: systemClock(), skewMs, servers})
  const outcomes: Outcome[] = []
  for (const job of jobs) {
    const verdict = verdictOf(job.schedule, job.policy, historyOf(snapshot, job.code), snapshot.nowMs, {timeZone: settings.timeZone, paused: snapshot.paused.get(job.code) ?? null, clockSkewMs: skewMs})
    if (verdict.kind !== 'not-due') return null
    outcomes.push(notStarted(job, verdict))
  }
  const host = os.hostname()
  // Silent servers, stuck runs and alerts to deliver: the full tick's work (each alert raised once, by its key).
  if (alertsConfigured(settings, jobs) && (await quickWatch({settings, host, graceMs: settings.graceSeconds * 1000}, outbox, jobs, snapshot.state, snapshot.histories, snapshot.nowMs))) return null
  await servers.record({host, pid: process.pid, version: PACKAGE_VERSION, atMs: snapshot.nowMs})
  await trimRunLog(store, settings, snapshot.nowMs)
  return outcomes
}
