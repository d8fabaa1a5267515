import {OperationError} from '../base/errors'
import {messageFromError} from '../jobs/message'
import {firstLine} from '../base/text'
import {loadJobs, type LoadedJob} from '../jobs/load-jobs'
import {selectByName} from '../jobs/select-jobs'
import {EMPTY_HISTORY} from '../schedule/history'
import {systemClock} from '../time/clock'
import {settleStrayWork} from './stray-work'
import {realTimers} from './timers'
import {runJob} from './job-run'
import {exitCodeOf, notStarted, wouldRun, type Outcome, type TickReport} from './outcome'
import {lateCrashes, recordSpooled} from './recording'
import {retrying} from './retry'
import {historyOf, readSnapshot, trimRunLog, type Snapshot} from './snapshot'
import {tickParts, tickScope, type RunCronsOptions, type TickScope} from './tick-scope'

export type {Outcome, RunOutcome, TickReport} from './outcome'
export type {LogLevel, RunCronsOptions, TickEvents} from './tick-scope'
export type {Timers} from './timers'

/**
 * One tick of `manage runcrons`: pick the jobs, read every job's history in one query, decide,
 * and run what is due, `concurrency` at a time, in crons order. Each due job is claimed
 * atomically, decided again on fresh history while the claim is held (so two processes never run
 * it for the same period), recorded as 'running' before do() and finished after it (runJob). One
 * job's failure never stops the others; a database error stops new jobs from starting, lets the
 * running ones finish, and is raised at the end.
 */
export async function runCrons(options: RunCronsOptions): Promise<TickReport> {
  const {settings} = options
  const parts = tickParts(options)
  const classes = options.names?.length ? selectByName(options.names, settings.crons, settings.cronsDir) : settings.crons
  const {jobs, problems} = loadJobs(classes)
  for (const problem of problems) options.onProblem?.(problem)

  // An outcome the spool could not hand over fails this tick (once: its file is set aside).
  const setAside = options.spool?.hasPending() ? await recordSpooled(options.spool, parts.recorder, (code, level, message) => options.onLog?.(code, level, message)) : 0
  const snapshot = await readSnapshot(parts.store, jobs, options.clock(), {leaseNowMs: (options.leaseClock ?? systemClock)(), skewMs: settings.clockSkewSeconds * 1000, servers: parts.servers})
  const tick = tickScope(options, parts, snapshot.paused, jobs)
  const writes = !options.dryRun
  if (writes && options.heartbeat) await aside(tick, 'watching for missed runs and silent servers', () => tick.alerts.watch(jobs, snapshot.state, snapshot.histories, snapshot.nowMs))
  // Jobs due for the first time get their cron_job rows in one statement, so each claim is one UPDATE.
  if (writes && !tick.stopping()) await written(tick, 'creating the claim rows of jobs that never ran', () => parts.store.ensureJobs(firstRuns(tick, jobs, snapshot)))

  const outcomes: Outcome[] = []
  const report = (outcome: Outcome) => {
    outcomes.push(outcome)
    late.ran(outcome)
    options.onOutcome?.(outcome)
  }
  const late = lateCrashes(tick, report)
  try {
    await inTurns(jobs, options.concurrency ?? 1, tick.stopping, async (job) => report(await consider(tick, job, snapshot, options.dryRun ?? false)))
    await late.settle()
    if (writes && !tick.stopping()) await written(tick, 'trimming the run log (deleteLogsOlderThanDays)', () => trimRunLog(parts.store, settings, options.clock()))
    if (writes && options.heartbeat && tick.servers) await aside(tick, "recording this server's tick (cron_tick)", () => heartbeat(tick, snapshot.nowMs, options.heartbeat!.version))
    if (writes) await aside(tick, 'delivering alerts', () => tick.alerts.deliver())
    await tick.pings.settled()
    if (options.strayWork) {
      await strayWorkSettled(tick, options.strayWork, jobs, outcomes)
      await late.settle() // the late failures it brought
    }
  } finally {
    late.close()
  }
  return {
    outcomes,
    problems,
    exitCode: setAside > 0 ? 1 : exitCodeOf(outcomes, problems),
    stoppedBy: tick.stopping() ? String(options.signal?.reason) : null,
    abandoned: outcomes.some((outcome) => 'abandoned' in outcome && outcome.abandoned),
  }
}

/** Decide on the tick's snapshot; only a job that looks due pays for a claim. */
async function consider(tick: TickScope, job: LoadedJob, snapshot: Snapshot, dryRun: boolean): Promise<Outcome> {
  const verdict = tick.verdict(job, historyOf(snapshot, job.code), snapshot.nowMs)
  if (verdict.kind !== 'due') return notStarted(job, verdict)
  if (dryRun) return wouldRun(job, verdict.decision)
  return runJob(tick, job)
}

/**
 * The process ends after this tick: give what the jobs that ran here left pending (a timer, a
 * request) up to graceSeconds to finish, so that a failure it raises is charged to its run however
 * late that job came in the tick; what is still going then is cut, and said so. Not after a job was
 * abandoned (it is still running: the tick said so already).
 */
async function strayWorkSettled(tick: TickScope, strayWork: NonNullable<RunCronsOptions['strayWork']>, jobs: readonly LoadedJob[], outcomes: readonly Outcome[]): Promise<void> {
  const inProcess = new Set(jobs.filter((job) => !job.policy.isolate).map((job) => job.code))
  const ran = outcomes.filter((outcome) => 'runId' in outcome && inProcess.has(outcome.code)).map((outcome) => outcome.code)
  if (ran.length === 0 || outcomes.some((outcome) => 'abandoned' in outcome && outcome.abandoned)) return
  await aside(tick, "closing the jobs' database connections (ctx.db)", () => strayWork.release())
  const left = await settleStrayWork(strayWork.before, tick.graceMs, realTimers)
  if (left !== null) {
    tick.log('manage', 'warn', `work left pending after do() returned by ${[...new Set(ran)].join(', ')} (${left}) was still going ${tick.graceMs / 1000} s after the jobs ended: cut as the tick ends, and a failure it raises is not recorded; end (or unref) what a job starts before its do() returns`)
  }
}

/** This server's heartbeat (cron_tick), written at the tick's end, tried again while the database is busy. */
function heartbeat(tick: TickScope, nowMs: number, version: string): Promise<void> {
  return retrying(() => tick.servers!.record({host: tick.host, pid: tick.pid, version, atMs: nowMs}), tick.retry('manage', "recording this server's tick"))
}

/** Alerting's work: a failure is a warning, never the tick's exit status, and never keeps a job from running. */
async function aside(tick: TickScope, doing: string, work: () => Promise<unknown>): Promise<void> {
  await work().catch((error: unknown) => tick.log('manage', 'warn', `${doing} failed: ${firstLine(messageFromError(error))}`))
}

/** A write of the tick's own, tried again while the database is away or busy; failing, it says what it was. */
async function written(tick: TickScope, doing: string, write: () => Promise<void>): Promise<void> {
  await retrying(write, tick.retry('manage', doing)).catch((error: unknown) => {
    throw new OperationError(doing, error)
  })
}

/** The codes of the jobs that have never run and are due now. */
function firstRuns(tick: TickScope, jobs: readonly LoadedJob[], snapshot: Snapshot): string[] {
  return jobs.filter((job) => !snapshot.histories.has(job.code) && tick.verdict(job, EMPTY_HISTORY, snapshot.nowMs).kind === 'due').map((job) => job.code)
}

/**
 * `work` on each item in order, at most `width` at a time. No item is started once `stopped()`
 * or after one has thrown; the first error is raised when the started ones have finished.
 */
async function inTurns<T>(items: readonly T[], width: number, stopped: () => boolean, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items]
  const errors: unknown[] = []
  const worker = async () => {
    while (queue.length > 0 && errors.length === 0 && !stopped()) {
      const item = queue.shift()!
      try {
        await work(item)
      } catch (error) {
        errors.push(error)
      }
    }
  }
  await Promise.all(Array.from({length: Math.max(1, Math.min(width, items.length))}, worker))
  if (errors.length > 0) throw errors[0]
}
