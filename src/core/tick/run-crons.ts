import {randomUUID} from 'node:crypto'
import os from 'node:os'
import type {Knex} from 'knex'
import type {Clock} from '../time/clock'
import type {CronContext, PastRun, RunStatus} from '../jobs/cron-job-base'
import type {Dialect} from '../db/database'
import {isDue} from '../schedule/is-due'
import {EMPTY_HISTORY, isLive, type JobHistory, type PauseInfo, type RunSummary} from '../schedule/history'
import {knexSource, type ConnectionSource} from '../db/connection-source'
import {SqlJobLock, type JobLock, type LockHolder} from '../run-log/job-lock'
import {luxon} from '../time/luxon'
import type {Settings} from '../project/settings'
import {messageFromError, messageFromResult, truncateMessage} from '../jobs/message'
import {selectByName} from '../jobs/select-jobs'
import {firstLine} from '../text'
import {DAY_MS, MINUTE_MS} from '../time/units'
import {SqlRunRecorder, type RunRecorder} from '../run-log/recorder'
import {runLogView, SqlRunStore, type RunRow, type RunStore} from '../run-log/run-store'
import {loadJobs, type LoadedJob, type Problem} from '../jobs/load-jobs'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** A run's claim on its job: its token, and whether this process still holds it (a parallel job's is let go at once). */
interface Claim {
  token: string
  held: boolean
}

interface OutcomeBase {
  code: string
  className: string
}

/** What happened to one job in a tick. */
export type Outcome =
  | (OutcomeBase & {kind: 'succeeded'; runId: number; message: string | null; startMs: number; endMs: number; slot: string | null})
  | (OutcomeBase & {kind: 'failed'; runId: number; error: unknown; message: string; startMs: number; endMs: number; slot: string | null})
  /** Stopped by SIGTERM/SIGINT (interrupted) or by its timeoutMins (timed_out); recorded so, claim released. */
  | (OutcomeBase & {kind: 'interrupted' | 'timed_out'; runId: number; message: string; startMs: number; endMs: number; slot: string | null; abandoned: boolean})
  | (OutcomeBase & {kind: 'not-due'; reason: string})
  | (OutcomeBase & {kind: 'paused'; reason: string})
  | (OutcomeBase & {kind: 'would-run'; reason: string; slot: string | null})
  | (OutcomeBase & {kind: 'running-elsewhere'; sinceMs: number | null; host: string | null; pid: number | null})
  /** A parallel job whose short decision claim another process held: that process decides this period. */
  | (OutcomeBase & {kind: 'claimed-elsewhere'; host: string | null; pid: number | null})

export interface TickEvents {
  /** Each job's outcome, as soon as it is known (completion order when --concurrency > 1). */
  onOutcome?(outcome: Outcome): void
  /** A class that cannot run (and is skipped), or a warning about one. */
  onProblem?(problem: Problem): void
  /** A line a job wrote through ctx.logger, or a note from the runner. */
  onLog?(code: string, level: LogLevel, message: string): void
}

export interface RunCronsOptions extends TickEvents {
  /** The project's knex instance (ctx.db), or how to make it the first time a job asks for it. */
  db: Knex | (() => Knex)
  dialect: Dialect
  /** Where the tick's own SQL goes (default: knex's connections): the CLI gives a driver connection of its own, so a tick whose jobs do not use ctx.db never loads knex. */
  source?: ConnectionSource
  settings: Settings
  clock: Clock
  /** Class names or codes: run only these (they need not be in the settings' crons). */
  names?: readonly string[]
  /** Run whatever the schedule says (the lock still applies). */
  force?: boolean
  /** Decide and report, but write nothing and run nothing. */
  dryRun?: boolean
  /** How many due jobs may run at once (default 1: one after another, in crons order). */
  concurrency?: number
  host?: string
  pid?: number
  /** Aborting it stops the tick from starting more jobs and is passed on to running ones. */
  signal?: AbortSignal
  store?: RunStore
  lock?: JobLock
  /** Each run's two transactions (claim and start; finish and release). */
  recorder?: RunRecorder
  /** How often a running job's lease is renewed (default: a quarter of the lease). */
  renewEveryMs?: number
  /** Timers for timeouts and grace periods (tests pass their own to drive time). */
  timers?: Timers
}

/** A cancellable wait: timeouts and grace periods go through it, so tests can drive them. */
export interface Timers {
  sleep(ms: number): {done: Promise<void>; cancel(): void}
}

export const realTimers: Timers = {
  sleep(ms) {
    let timer: NodeJS.Timeout | undefined
    const done = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))
    return {done, cancel: () => clearTimeout(timer)}
  },
}

export interface TickReport {
  outcomes: Outcome[]
  problems: Problem[]
  /** 0 when nothing failed; 1 when a job failed, timed out or was interrupted, or a class could not run. */
  exitCode: number
  /** Set when options.signal stopped the tick: its reason (e.g. 'SIGTERM'). */
  stoppedBy: string | null
  /** True when a job was abandoned (it ignored its AbortSignal past the grace period) and may still be running in this process. */
  abandoned: boolean
}

/**
 * One tick of `manage runcrons`: pick the jobs, read every job's history in one query, decide,
 * and run what is due. Each due job is claimed atomically, decided again on fresh history while
 * the claim is held (so two processes never run it for the same period), recorded as 'running'
 * before do() and finished after it. One job's failure never stops the others.
 */
export async function runCrons(options: RunCronsOptions): Promise<TickReport> {
  const {settings, clock} = options
  let db: Knex | undefined = typeof options.db === 'function' ? undefined : options.db
  const knex = () => (db ??= (options.db as () => Knex)())
  const source = options.source ?? knexSource(knex(), options.dialect)
  const store = options.store ?? new SqlRunStore(source)
  const lock = options.lock ?? new SqlJobLock(source)
  const recorder = options.recorder ?? new SqlRunRecorder(source)
  const host = options.host ?? os.hostname()
  const pid = options.pid ?? process.pid
  const leaseMs = settings.leaseSeconds * 1000
  const graceMs = settings.graceSeconds * 1000
  const zone = settings.timeZone
  const force = options.force ?? false
  const timers = options.timers ?? realTimers
  const stopping = () => options.signal?.aborted ?? false

  const classes = options.names && options.names.length > 0 ? selectByName(options.names, settings.crons, settings.cronsDir) : settings.crons
  const {jobs, problems} = loadJobs(classes)
  for (const problem of problems) options.onProblem?.(problem)

  const outcomes: Outcome[] = []
  const emit = (outcome: Outcome) => {
    outcomes.push(outcome)
    options.onOutcome?.(outcome)
  }
  const log = (code: string, level: LogLevel, message: string) => options.onLog?.(code, level, message)

  const tickNow = clock()
  const histories = jobs.length > 0 ? await store.histories(tickNow) : new Map<string, JobHistory>()
  const paused = jobs.length > 0 ? await store.pausedJobs() : new Map<string, PauseInfo>()
  // A paused job runs only when forced by name (runcrons NAME --force), never by a plain --force.
  const decide = (job: LoadedJob, history: JobHistory, nowMs: number) =>
    isDue(job.schedule, history, nowMs, {timeZone: zone, force, paused: paused.get(job.code) ?? null, forcePaused: Boolean(options.names?.length)})

  const elsewhere = (job: LoadedJob, run: RunSummary | null, holder: LockHolder | null): Outcome => ({
    kind: 'running-elsewhere',
    code: job.code,
    className: job.className,
    sinceMs: run?.startMs ?? holder?.lockedMs ?? null,
    host: run?.host ?? holder?.host ?? null,
    pid: run?.pid ?? holder?.pid ?? null,
  })
  const liveRun = (job: LoadedJob, history: JobHistory, nowMs: number) =>
    job.schedule.allowParallelRuns ? undefined : history.running.find((run) => isLive(run, nowMs))

  /** Decide on the tick's snapshot; only a job that looks due pays for a claim. */
  async function consider(job: LoadedJob): Promise<Outcome> {
    const history = histories.get(job.code) ?? EMPTY_HISTORY
    const running = liveRun(job, history, tickNow)
    if (running) return elsewhere(job, running, null)
    const decision = decide(job, history, tickNow)
    if (!decision.due) return {kind: decision.rule === 'paused' ? 'paused' : 'not-due', code: job.code, className: job.className, reason: decision.reason}
    if (options.dryRun) return {kind: 'would-run', code: job.code, className: job.className, reason: decision.reason, slot: decision.slot}
    return claimAndRun(job)
  }

  async function claimAndRun(job: LoadedJob): Promise<Outcome> {
    const {code, className, schedule} = job
    const token = randomUUID()
    const claimMs = clock()
    // Claim, decide again on fresh history, and record the run as 'running', in one transaction:
    // another process may have run the job since the tick's snapshot.
    const begun = await recorder.begin<Outcome>({
      code,
      holder: {token, host, pid},
      nowMs: claimMs,
      leaseMs,
      parallel: schedule.allowParallelRuns,
      decide(fresh) {
        const running = liveRun(job, fresh, claimMs)
        if (running) return {start: false, why: elsewhere(job, running, null)}
        const decision = decide(job, fresh, claimMs)
        if (!decision.due) return {start: false, why: {kind: 'not-due', code, className, reason: decision.reason}}
        if (stopping()) return {start: false, why: {kind: 'not-due', code, className, reason: `not started: the tick is stopping (${String(options.signal?.reason)})`}}
        return {start: true, slot: decision.slot}
      },
    })
    if (begun.kind === 'claimed-elsewhere') {
      const holder = await lock.holder(code)
      if (!schedule.allowParallelRuns) return elsewhere(job, null, holder)
      return {kind: 'claimed-elsewhere', code, className, host: holder?.host ?? null, pid: holder?.pid ?? null}
    }
    for (const run of begun.interrupted) {
      log(code, 'warn', `run ${run.id} (started ${new Date(run.startMs).toISOString()} by pid ${run.pid ?? '?'} on ${run.host ?? '?'}) was recorded as interrupted: its lease ran out`)
    }
    if (begun.kind === 'declined') return begun.why

    // A parallel job's claim only guarded the decision (it is gone); its running row holds the period.
    const claim: Claim = {token, held: !schedule.allowParallelRuns}
    try {
      return await execute(job, begun, claimMs, claim)
    } finally {
      // The run's end releases the claim; if recording it failed, let go of the claim at least.
      if (claim.held) await lock.release(code, token).catch((error: unknown) => log(code, 'warn', `could not release the lock (it will expire): ${firstLine(messageFromError(error))}`))
    }
  }

  async function execute(job: LoadedJob, started: {runId: number; slot: string | null; previousSuccess: RunRow | null}, startMs: number, claim: Claim): Promise<Outcome> {
    const {runId, slot, previousSuccess: previous} = started
    const {code, className} = job
    const controller = new AbortController()

    // Keep the claim alive while do() runs, so only a dead process loses it.
    let renewing: Promise<unknown> = Promise.resolve()
    const renew = () => {
      const nowMs = clock()
      renewing = Promise.all([store.renewRun(runId, nowMs, leaseMs), claim.held ? lock.renew(code, claim.token, nowMs, leaseMs) : true]).then(
        ([row, locked]) => {
          if (!row || !locked) log(code, 'warn', 'lost the claim while running (its lease ran out); another process may start this job')
        },
        (error: unknown) => log(code, 'warn', `could not renew the lease: ${firstLine(messageFromError(error))}`),
      )
    }
    const renewal = setInterval(renew, options.renewEveryMs ?? Math.floor(leaseMs / 4))
    renewal.unref()

    // Stopping: SIGTERM/SIGINT for the tick, or the job's own timeout. Either fires ctx.signal and
    // starts the grace period; a job still going after it is abandoned (recorded, claim released).
    let stop: {status: 'interrupted' | 'timed_out'; why: string} | null = null
    let graceWait: {done: Promise<void>; cancel(): void} | null = null
    let abandon!: () => void
    const abandoned = new Promise<'abandoned'>((resolve) => (abandon = () => resolve('abandoned')))
    const requestStop = (status: 'interrupted' | 'timed_out', why: string) => {
      if (stop) return
      stop = {status, why}
      controller.abort(new Error(why))
      log(code, 'warn', `${why}: asked the job to stop (ctx.signal); waiting up to ${graceMs / 1000} s`)
      graceWait = timers.sleep(graceMs)
      void graceWait.done.then(abandon)
    }
    const onShutdown = () => requestStop('interrupted', `interrupted by ${String(options.signal?.reason ?? 'a signal')}`)
    if (options.signal?.aborted) onShutdown()
    options.signal?.addEventListener('abort', onShutdown, {once: true})
    const timeoutMins = job.schedule.timeoutMins
    const timeoutWait = timeoutMins === null ? null : timers.sleep(timeoutMins * MINUTE_MS)
    void timeoutWait?.done.then(() => requestStop('timed_out', `timed out after ${timeoutMins} min`))

    // The times are made when read: luxon is loaded only for a job that reads them.
    let now: CronContext['now'] | undefined
    let previousSuccess: PastRun | null | undefined
    const ctx: CronContext = {
      code,
      runId,
      get now() {
        return (now ??= luxon().DateTime.fromMillis(startMs, {zone}))
      },
      slot,
      get previousSuccess() {
        if (previousSuccess === undefined) previousSuccess = previous ? pastRun(previous, zone) : null
        return previousSuccess
      },
      forced: force,
      logger: {
        debug: (message) => log(code, 'debug', message),
        info: (message) => log(code, 'info', message),
        warn: (message) => log(code, 'warn', message),
        error: (message) => log(code, 'error', message),
      },
      signal: controller.signal,
      get db() {
        return knex()
      },
      runLog: runLogView(store),
      settings: settings.values,
    }

    const running = Promise.resolve()
      .then(() => job.job.do(ctx))
      .then(
        (value) => ({ok: true as const, value}),
        (error: unknown) => ({ok: false as const, error}),
      )
    const result = await Promise.race([running, abandoned])
    clearInterval(renewal)
    timeoutWait?.cancel()
    ;(graceWait as {cancel(): void} | null)?.cancel()
    options.signal?.removeEventListener('abort', onShutdown)
    await renewing

    const endMs = clock()
    const base = {code, className, runId, startMs, endMs, slot}
    // The outcome is recorded and the claim released in one transaction.
    const end = async (status: RunStatus, message: string | null) => {
      const releaseToken = claim.held ? claim.token : null
      await recorder.end({runId, code, status, endMs, message, releaseToken, removeOtherSuccesses: job.schedule.removeSuccessfulCronLogs})
      claim.held = false
    }
    const stopped = stop as {status: 'interrupted' | 'timed_out'; why: string} | null
    if (result !== 'abandoned' && result.ok) {
      const message = messageFromResult(result.value)
      await end('succeeded', message)
      return {...base, kind: 'succeeded', message}
    }
    if (stopped === null && result !== 'abandoned') {
      const message = messageFromError(result.error)
      await end('failed', message)
      return {...base, kind: 'failed', error: result.error, message}
    }
    const why = stopped!.why
    const message =
      result === 'abandoned'
        ? `${why}; it did not stop within the ${graceMs / 1000} s grace period and was abandoned`
        : truncateMessage(`${why}; it stopped with: ${messageFromError(result.error)}`)
    await end(stopped!.status, message)
    if (result === 'abandoned') anyAbandoned = true
    return {...base, kind: stopped!.status, message, abandoned: result === 'abandoned'}
  }

  // Jobs due for the first time get their cron_job rows in one statement, so each claim is one UPDATE.
  if (!options.dryRun && !stopping()) {
    await store.ensureJobs(jobs.filter((job) => !histories.has(job.code) && decide(job, EMPTY_HISTORY, tickNow).due).map((job) => job.code))
  }

  // A pool of `concurrency` workers takes the jobs in crons order. A database error stops new
  // jobs from starting, lets the running ones finish, and is raised at the end.
  const queue = [...jobs]
  let fatal: unknown = null
  let anyAbandoned = false
  const worker = async () => {
    while (queue.length > 0 && fatal === null && !stopping()) {
      const job = queue.shift()!
      try {
        emit(await consider(job))
      } catch (error) {
        fatal ??= error
      }
    }
  }
  const width = Math.max(1, Math.min(options.concurrency ?? 1, jobs.length))
  await Promise.all(Array.from({length: width}, worker))
  if (fatal !== null) throw fatal

  // django-cron's DJANGO_CRON_DELETE_LOGS_OLDER_THAN, once per tick.
  if (settings.deleteLogsOlderThanDays !== null && !options.dryRun && !stopping()) {
    await store.deleteRunsBefore(clock() - settings.deleteLogsOlderThanDays * DAY_MS)
  }

  const bad = new Set<Outcome['kind']>(['failed', 'interrupted', 'timed_out'])
  const failed = outcomes.some((outcome) => bad.has(outcome.kind)) || problems.some((problem) => problem.level === 'error')
  return {outcomes, problems, exitCode: failed ? 1 : 0, stoppedBy: stopping() ? String(options.signal?.reason) : null, abandoned: anyAbandoned}
}

function pastRun(row: RunRow, zone: string): PastRun {
  return {
    id: row.id,
    status: row.status,
    startTime: luxon().DateTime.fromMillis(row.startMs, {zone}),
    endTime: row.endMs === null ? null : luxon().DateTime.fromMillis(row.endMs, {zone}),
    ranAtTime: row.ranAtTime,
    message: row.message,
  }
}
