import {randomUUID} from 'node:crypto'
import os from 'node:os'
import type {Knex} from 'knex'
import {DateTime} from 'luxon'
import type {Clock} from './clock'
import type {CronContext, PastRun, RunStatus} from './cron-job-base'
import type {Dialect} from './database'
import {EMPTY_HISTORY, isDue, isLive, type JobHistory, type RunSummary} from './is-due'
import {KnexJobLock, type JobLock, type LockHolder} from './job-lock'
import type {Settings} from './load-settings'
import {messageFromError, messageFromResult} from './message'
import {selectByName} from './registry'
import {KnexRunStore, type RunRow, type RunStore} from './run-store'
import {loadJobs, type LoadedJob, type Problem} from './schedule'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

interface OutcomeBase {
  code: string
  className: string
}

/** What happened to one job in a tick. */
export type Outcome =
  | (OutcomeBase & {kind: 'succeeded'; runId: number; message: string | null; startMs: number; endMs: number; slot: string | null})
  | (OutcomeBase & {kind: 'failed'; runId: number; error: unknown; message: string; startMs: number; endMs: number; slot: string | null})
  | (OutcomeBase & {kind: 'not-due'; reason: string})
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
  db: Knex
  dialect: Dialect
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
  /** How often a running job's lease is renewed (default: a quarter of the lease). */
  renewEveryMs?: number
}

export interface TickReport {
  outcomes: Outcome[]
  problems: Problem[]
  /** 0 when nothing failed; 1 when a job failed or a class could not run. */
  exitCode: number
}

/**
 * One tick of `manage runcrons`: pick the jobs, read every job's history in one query, decide,
 * and run what is due. Each due job is claimed atomically, decided again on fresh history while
 * the claim is held (so two processes never run it for the same period), recorded as 'running'
 * before do() and finished after it. One job's failure never stops the others.
 */
export async function runCrons(options: RunCronsOptions): Promise<TickReport> {
  const {settings, clock} = options
  const store = options.store ?? new KnexRunStore(options.db, options.dialect)
  const lock = options.lock ?? new KnexJobLock(options.db, options.dialect)
  const host = options.host ?? os.hostname()
  const pid = options.pid ?? process.pid
  const leaseMs = settings.leaseSeconds * 1000
  const zone = settings.timeZone
  const force = options.force ?? false

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
    const decision = isDue(job.schedule, history, tickNow, {timeZone: zone, force})
    if (!decision.due) return {kind: 'not-due', code: job.code, className: job.className, reason: decision.reason}
    if (options.dryRun) return {kind: 'would-run', code: job.code, className: job.className, reason: decision.reason, slot: decision.slot}
    return claimAndRun(job)
  }

  async function claimAndRun(job: LoadedJob): Promise<Outcome> {
    const {code, className, schedule} = job
    const token = randomUUID()
    const claimMs = clock()
    if (!(await lock.claim(code, {token, host, pid}, claimMs, leaseMs))) {
      const holder = await lock.holder(code)
      if (!schedule.allowParallelRuns) return elsewhere(job, null, holder)
      return {kind: 'claimed-elsewhere', code, className, host: holder?.host ?? null, pid: holder?.pid ?? null}
    }

    let held = true
    const release = async () => {
      if (!held) return
      held = false
      await lock.release(code, token)
    }
    try {
      for (const run of await store.interruptStaleRuns(code, claimMs)) {
        log(code, 'warn', `run ${run.id} (started ${new Date(run.startMs).toISOString()} by pid ${run.pid ?? '?'} on ${run.host ?? '?'}) was recorded as interrupted: its lease ran out`)
      }
      // Decide again on fresh history while holding the claim: another process may have run it since the snapshot.
      const fresh = (await store.histories(claimMs, [code])).get(code) ?? EMPTY_HISTORY
      const running = liveRun(job, fresh, claimMs)
      if (running) return elsewhere(job, running, null)
      const decision = isDue(schedule, fresh, claimMs, {timeZone: zone, force})
      if (!decision.due) return {kind: 'not-due', code, className, reason: decision.reason}

      const previous = fresh.lastSuccess ? await store.getRun(fresh.lastSuccess.id) : null
      const runId = await store.insertRun(
        {code, status: 'running', startMs: claimMs, ranAtTime: decision.slot, host, pid, leaseExpiresMs: claimMs + leaseMs},
        {ensureJob: false},
      )
      // A parallel job's claim only guards the decision; its running row (with its own lease) holds the period.
      if (schedule.allowParallelRuns) await release()
      return await execute(job, runId, claimMs, decision.slot, previous, token, () => held)
    } finally {
      await release().catch((error: unknown) => log(code, 'warn', `could not release the lock (it will expire): ${messageFromError(error).split('\n')[0]}`))
    }
  }

  async function execute(job: LoadedJob, runId: number, startMs: number, slot: string | null, previous: RunRow | null, token: string, holdingLock: () => boolean): Promise<Outcome> {
    const {code, className} = job
    const controller = new AbortController()
    const onAbort = () => controller.abort(options.signal?.reason)
    options.signal?.addEventListener('abort', onAbort, {once: true})

    // Keep the claim alive while do() runs, so only a dead process loses it.
    let renewing: Promise<unknown> = Promise.resolve()
    const renew = () => {
      const nowMs = clock()
      renewing = Promise.all([
        store.renewRun(runId, nowMs, nowMs + leaseMs),
        holdingLock() ? lock.renew(code, token, nowMs, leaseMs) : true,
      ]).then(
        ([row, locked]) => {
          if (!row || !locked) log(code, 'warn', 'lost the claim while running (its lease ran out); another process may start this job')
        },
        (error: unknown) => log(code, 'warn', `could not renew the lease: ${messageFromError(error).split('\n')[0]}`),
      )
    }
    const timer = setInterval(renew, options.renewEveryMs ?? Math.floor(leaseMs / 4))
    timer.unref()

    const ctx: CronContext = {
      code,
      runId,
      now: DateTime.fromMillis(startMs, {zone}),
      slot,
      previousSuccess: previous ? pastRun(previous, zone) : null,
      forced: force,
      logger: {
        debug: (message) => log(code, 'debug', message),
        info: (message) => log(code, 'info', message),
        warn: (message) => log(code, 'warn', message),
        error: (message) => log(code, 'error', message),
      },
      signal: controller.signal,
      db: options.db,
      runLog: store,
      settings: settings.values,
    }

    let status: RunStatus
    let message: string | null
    let error: unknown
    try {
      const result = await job.job.do(ctx)
      status = 'succeeded'
      message = messageFromResult(result)
    } catch (caught) {
      status = 'failed'
      error = caught
      message = messageFromError(caught)
    } finally {
      clearInterval(timer)
      options.signal?.removeEventListener('abort', onAbort)
      await renewing
    }

    const endMs = clock()
    await store.finishRun(runId, status, endMs, message)
    if (status === 'succeeded') {
      if (job.schedule.removeSuccessfulCronLogs) await store.removeSuccessfulRuns(code, runId)
      return {kind: 'succeeded', code, className, runId, message, startMs, endMs, slot}
    }
    return {kind: 'failed', code, className, runId, error, message: message ?? '', startMs, endMs, slot}
  }

  // A pool of `concurrency` workers takes the jobs in crons order. A database error stops new
  // jobs from starting, lets the running ones finish, and is raised at the end.
  const queue = [...jobs]
  let fatal: unknown = null
  const worker = async () => {
    while (queue.length > 0 && fatal === null && !options.signal?.aborted) {
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

  const failed = outcomes.some((outcome) => outcome.kind === 'failed') || problems.some((problem) => problem.level === 'error')
  return {outcomes, problems, exitCode: failed ? 1 : 0}
}

function pastRun(row: RunRow, zone: string): PastRun {
  return {
    id: row.id,
    status: row.status,
    startTime: DateTime.fromMillis(row.startMs, {zone}),
    endTime: row.endMs === null ? null : DateTime.fromMillis(row.endMs, {zone}),
    ranAtTime: row.ranAtTime,
    message: row.message,
  }
}
