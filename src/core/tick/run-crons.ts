import {OperationError} from '../base/errors'
import {messageFromError} from '../jobs/message'
import {firstLine} from '../base/text'
import type {LoadedJob} from '../jobs/load-jobs'
import {selectByName, unlistedNote} from '../jobs/select-jobs'
import {usesLedger} from '../jobs/run-policy'
import {periodsBetween} from '../schedule/periods'
import type {Verdict} from '../schedule/verdict'
import {systemClock} from '../time/clock'
import {settleStrayWork} from './stray-work'
import {realTimers} from './timers'
import {FreshVerdicts} from './fresh-verdicts'
import {finishRun, runDueJob, runInLane, type EndedRun} from './job-run'
import {exitCodeOf, notStarted, wouldRun, type Outcome, type TickReport} from './outcome'
import {lateCrashes, recordSpooled} from './recording'
import {retrying} from './retry'
import {planTick, recordServerTick, type TickPlan} from './plan'
import {trimRunLog} from './snapshot'
import {tickParts, tickScope, type RunCronsOptions, type TickParts, type TickScope} from './tick-scope'

export type {Outcome, RunOutcome, TickReport} from './outcome'
export type {Admission, RunCronsOptions, TickEvents} from './tick-scope'
export type {Timers} from './timers'

/**
 * One tick of `manage runcrons`: the plan (plan.ts: pick the jobs, record what the spool kept,
 * read every job's history in one query, decide), then running it: what is due runs,
 * `concurrency` at a time, in crons order. Each due job is claimed atomically, decided again on
 * fresh history while the claim is held (so two processes never run it for the same period),
 * recorded as 'running' before do() and finished after it (runDueJob). One job's failure never
 * stops the others; a database error stops new jobs from starting, lets the running ones finish,
 * and is raised at the end.
 */
export async function runCrons(options: RunCronsOptions): Promise<TickReport> {
  const {settings} = options
  const parts = tickParts(options)
  let setAside = 0
  const named = Boolean(options.names?.length)
  const {partial} = options
  const plan = handedPlan(options) ?? await planTick({
    settings,
    classes: named ? selectByName(options.names!, settings.crons, settings.cronsDir, {sourceDir: settings.cronsSourceDir, unlisted: (name, file) => options.onLog?.(name, 'warn', unlistedNote(name, file, true))}) : partial ? partial.jobs.map((job) => job.jobClass) : settings.crons,
    some: !named && partial !== undefined,
    force: options.force,
    // A runner that gives slots is resident: it starts a spread job its offset into its period.
    spread: options.admit !== undefined,
    // A paused job runs only when forced by name (runcrons NAME --force), never by a plain --force.
    forcePaused: named,
    loaded: (_jobs, problems) => {
      for (const problem of problems) options.onProblem?.(problem)
      return true
    },
    // An outcome the spool could not hand over fails this tick (once: its file is set aside).
    spooled: async () => {
      if (options.spool?.hasPending()) setAside = await recordSpooled(options.spool, parts.recorder, (code, level, message) => options.onLog?.(code, level, message))
      return true
    },
    open: async () => ({runLog: parts.store, outbox: parts.outbox, servers: parts.servers, nowMs: options.clock(), leaseNowMs: (options.leaseClock ?? systemClock)()}),
  })
  // The full tick's steps never stop its plan.
  options.onPlan?.(plan!)
  const report = await runPlan(options, parts, plan!)
  return setAside > 0 ? {...report, exitCode: 1} : report
}

/** options.planned, when this tick would plan as it was planned (see RunCronsOptions.planned), its problems reported; else null. */
function handedPlan(options: RunCronsOptions): TickPlan | null {
  const {planned} = options
  if (!planned || options.names?.length || options.partial || options.force || options.dryRun || options.admit) return null
  for (const problem of planned.problems) options.onProblem?.(problem)
  return planned
}

/** Running the plan: the watch, the claim rows, each job in its turn, then the tick's own writes and what its jobs left pending. */
async function runPlan(options: RunCronsOptions, parts: TickParts, plan: TickPlan): Promise<TickReport> {
  const {jobs, snapshot} = plan
  const tick = tickScope(options, parts, plan.decide, options.partial?.known ?? jobs)
  const writes = !options.dryRun
  if (writes && options.watch) await aside(tick, 'watching for missed runs and silent servers', () => tick.alerts.watch(jobs, snapshot.state, snapshot.histories, snapshot.nowMs))
  // Jobs due for the first time get their cron_job rows in one statement, so each claim is one UPDATE.
  if (writes && !tick.stopping()) await written(tick, 'creating the claim rows of jobs that never ran', () => parts.store.ensureJobs(firstRuns(plan)))

  const outcomes: Outcome[] = []
  const report = (outcome: Outcome) => {
    outcomes.push(outcome)
    late.ran(outcome)
    options.onOutcome?.(outcome)
  }
  const late = lateCrashes(tick, report, jobs)
  try {
    const fresh = new FreshVerdicts(plan, async (codes) => ({histories: await parts.store.histories(options.clock(), {leaseNowMs: tick.leaseClock(), skewMs: tick.skewMs, codes}), nowMs: options.clock()}))
    const recorded = async (lane: Lane) => {
      const ended = lane.ended
      lane.ended = null
      if (ended !== null) report(await finishRun(tick, ended))
    }
    await inTurns(
      jobs,
      options.concurrency ?? 1,
      tick.stopping,
      (): Lane => ({ended: null}),
      async (job, lane) => consider(tick, job, options.force || options.dryRun ? plan.verdicts.get(job.code)! : await fresh.of(job), options, {report, fresh, lane, recorded}),
      recorded,
    )
    await late.settle()
    if (writes && !tick.stopping()) await written(tick, 'trimming the run log (deleteLogsOlderThanDays)', () => trimRunLog(parts.store, options.settings, options.clock()))
    if (writes && options.serverTick && tick.servers) await aside(tick, "recording this server's tick (cron_tick)", () => serverTickRecorded(tick, plan, options.serverTick!.version))
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
    problems: plan.problems,
    exitCode: exitCodeOf(outcomes, plan.problems),
    stoppedBy: tick.stopping() ? String(options.signal?.reason) : null,
    abandoned: outcomes.some((outcome) => 'abandoned' in outcome && outcome.abandoned),
  }
}

/**
 * A lane of the crontab tick: its jobs run one after another, and the run it has ended waits here
 * to be recorded with the next one's claim (one transaction; see runInLane), or on its own.
 */
interface Lane {
  ended: EndedRun | null
}

/** What consider() reports to, and the lane it runs in. */
interface Considering {
  report: (outcome: Outcome) => void
  fresh: FreshVerdicts
  lane: Lane
  /** The lane's ended run, recorded on its own and reported. */
  recorded: (lane: Lane) => Promise<void>
}

/**
 * The verdict on the tick's snapshot; only a job that looks due (or has periods to record as
 * skipped) pays for a claim, after its slot when the runner gives slots. A ledger job goes on
 * while its ledger has more to do (the next chunk of a long gap, the next missed period of 'all', a
 * buffered period): in this tick, or, under a runner that gives slots, at the plan its slot's release makes.
 */
async function consider(tick: TickScope, job: LoadedJob, verdict: Verdict, options: Pick<RunCronsOptions, 'dryRun' | 'admit'>, {report, fresh, lane, recorded}: Considering): Promise<void> {
  if (chains(tick, job, verdict, options)) {
    const previous = lane.ended
    lane.ended = null
    const ran = await runInLane(tick, job, previous, report)
    if ('claim' in ran) lane.ended = ran
    else reportBegun(ran, report, fresh)
    return
  }
  // Reported in the lane's order: the run it has ended first.
  await recorded(lane)
  if (verdict.kind === 'running-elsewhere' && verdict.cancelFor !== undefined && !options.dryRun) await askToCancel(tick, job, verdict.cancelFor)
  if (verdict.kind !== 'due' && verdict.kind !== 'skip') return report(notStarted(job, verdict))
  if (options.dryRun) return report(verdict.kind === 'due' ? wouldRun(job, verdict.decision) : notStarted(job, verdict))
  // A spread job's periods are fixed instants: the runner holds it to the end of the one it serves, not a period after its (later) start.
  const slot = options.admit ? await options.admit(job, verdict.kind === 'due' && job.schedule.spreadMs !== undefined ? (verdict.decision.dueSinceMs ?? null) : null) : null
  if (slot !== null && 'refused' in slot) return report({kind: 'not-due', code: job.code, className: job.className, reason: slot.refused})
  let outcome: Outcome | undefined
  try {
    outcome = await runDueJob(tick, job, slot?.waitedMs)
    reportBegun(outcome, report, fresh)
    // A resident runner plans the job again when its slot is freed; a tick goes on here.
    for (let turn = 1; !options.admit && turn < CATCH_UP_TURNS && catchingUp(job, outcome, tick.clock(), tick.settings.timeZone) && !tick.stopping(); turn++) {
      outcome = await runDueJob(tick, job)
      // Nothing more to do: said by the turn before.
      if (outcome.kind === 'not-due') break
      report(outcome)
    }
  } finally {
    slot?.release(outcome)
  }
}

/**
 * A due job of the crontab tick with no catch-up turns, no limit and no runner's slot: its claim
 * is chained to its lane's last run's end, and its own end waits for the lane's next claim.
 */
function chains(tick: TickScope, job: LoadedJob, verdict: Verdict, options: Pick<RunCronsOptions, 'dryRun' | 'admit'>): boolean {
  return verdict.kind === 'due' && !options.dryRun && !options.admit && tick.recorder.chain !== undefined && !usesLedger(job.policy) && job.policy.limit === null
}

/** A due job's first outcome; held or run elsewhere since the plan: another server is at work, and the jobs still to come are read again. */
function reportBegun(outcome: Outcome, report: (outcome: Outcome) => void, fresh: FreshVerdicts): void {
  if (outcome.kind === 'claimed-elsewhere' || outcome.kind === 'running-elsewhere' || outcome.kind === 'not-due') fresh.lost()
  report(outcome)
}

/** overlap = 'cancelOther': a newer period asks the live run (on any server) to stop; it starts once that run has ended. */
async function askToCancel(tick: TickScope, job: LoadedJob, periodMs: number): Promise<void> {
  await aside(tick, `${job.code}: asking its live run to stop (overlap: cancelOther)`, async () => {
    if (await tick.lock.requestCancel(job.code, periodMs)) tick.log(job.code, 'info', `asked its live run to stop for the period of ${new Date(periodMs).toISOString()} (overlap: cancelOther)`)
  })
}

/** The most turns a catch-up job takes in one tick: its 100 missed periods of 'all', and a long gap's chunks. */
const CATCH_UP_TURNS = 120

/**
 * A ledger job may have more to do now: it recorded skips; 'all' ran a missed period; a buffered
 * (or cancelled) overlap ran, and a period that fell due meanwhile starts right after it. After a
 * run, only if a period after the one it served has come (an on-time run has nothing left: no claim
 * to find that out).
 */
function catchingUp(job: LoadedJob, outcome: Outcome, nowMs: number, zone: string): boolean {
  if (outcome.kind === 'skipped') return true
  if (!('runId' in outcome) || outcome.spooled !== undefined) return false
  const {catchUp, overlap} = job.policy
  if (!(catchUp === 'all' || overlap === 'bufferOne' || overlap === 'bufferAll' || overlap === 'cancelOther')) return false
  return outcome.periodMs === undefined || periodsBetween(job.schedule, outcome.periodMs, nowMs, zone, 1).periods.length > 0
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

/** This server's tick (cron_tick), written at the tick's end, tried again while the database is busy. */
function serverTickRecorded(tick: TickScope, plan: TickPlan, version: string): Promise<void> {
  return retrying(() => recordServerTick(plan, {host: tick.host, pid: tick.pid, version}, tick.settings), tick.retry('manage', "recording this server's tick"))
}

/** Alerting's work: a failure is a warning, never the tick's exit status, and never keeps a job from running. */
export async function aside(tick: TickScope, doing: string, work: () => Promise<unknown>): Promise<void> {
  await work().catch((error: unknown) => tick.log('manage', 'warn', `${doing} failed: ${firstLine(messageFromError(error))}`))
}

/** A write of the tick's own, tried again while the database is away or busy; failing, it says what it was. */
async function written(tick: TickScope, doing: string, write: () => Promise<void>): Promise<void> {
  await retrying(write, tick.retry('manage', doing)).catch((error: unknown) => {
    throw new OperationError(doing, error)
  })
}

/** The codes of the jobs that have never run and are due now. */
function firstRuns(plan: TickPlan): string[] {
  return plan.jobs.filter((job) => !plan.snapshot.histories.has(job.code) && plan.verdicts.get(job.code)!.kind === 'due').map((job) => job.code)
}

/**
 * `work` on each item in order, at most `width` at a time, each worker with a lane of its own
 * (`lane()`), `drain`ed when it has no more to take. No item is started once `stopped()` or after
 * one has thrown; the first error is raised when the started ones have finished.
 */
async function inTurns<T, L>(items: readonly T[], width: number, stopped: () => boolean, lane: () => L, work: (item: T, lane: L) => Promise<void>, drain: (lane: L) => Promise<void>): Promise<void> {
  const queue = [...items]
  const errors: unknown[] = []
  const worker = async () => {
    const own = lane()
    while (queue.length > 0 && errors.length === 0 && !stopped()) {
      const item = queue.shift()!
      try {
        await work(item, own)
      } catch (error) {
        errors.push(error)
      }
    }
    await drain(own).catch((error: unknown) => errors.push(error))
  }
  await Promise.all(Array.from({length: Math.max(1, Math.min(width, items.length))}, worker))
  if (errors.length > 0) throw errors[0]
}
