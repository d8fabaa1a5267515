import {randomUUID} from 'node:crypto'
import type {LoadedJob} from '../jobs/load-jobs'
import {messageFromError, messageFromResult, truncateMessage} from '../jobs/message'
import type {JobHistory} from '../schedule/history'
import {firstLine} from '../text'
import {isTransient} from '../db/database'
import {OperationError} from '../errors'
import type {EndRequest, RunRecorder} from '../run-log/recorder'
import type {OutcomeSpool} from '../run-log/spool'
import {cronContext, type StartedRun} from './context'
import {retrying} from './retry'
import {crashDescription, type Crash, type Crashed} from './containment'
import {renewWhileRunning, type Claim} from './lease-renewal'
import {notStarted, runningElsewhere, type Outcome, type RunOutcome} from './outcome'
import {RunStop, type StopRequest} from './stopping'
import type {TickScope} from './tick-scope'

/** How do() ended: a value, a throw, a crash the containment charged to it, or nothing within the grace period after it was asked to stop. */
type Settled = {ok: true; value: unknown} | {ok: false; error: unknown} | Crashed | {abandoned: StopRequest}

interface Ended {
  settled: Settled
  /** The request it was asked to stop by (tick's signal, timeout), or null. */
  stop: StopRequest | null
  endMs: number
}

/**
 * One job's run in a tick (Laravel's Event): claim the job and decide again on fresh history,
 * record the run as 'running', call do() under its lease, its timeout and the tick's signal,
 * record how it ended (which releases the claim), and release the claim in `finally` if that
 * record could not be written.
 */
export async function runJob(scope: TickScope, job: LoadedJob): Promise<Outcome> {
  const {code} = job
  const token = randomUUID()
  const startMs = scope.clock()
  // Claim, decide again on fresh history, and record the run as 'running', in one transaction:
  // another process may have run the job since the tick's snapshot.
  const doing = `${code}: claiming it and recording its start`
  const begin = () =>
    scope.recorder.begin<Outcome>({
      code,
      holder: {token, host: scope.host, pid: scope.pid},
      nowMs: startMs,
      leaseNowMs: scope.leaseClock(),
      leaseMs: scope.leaseMs,
      skewMs: scope.skewMs,
      parallel: job.schedule.allowParallelRuns,
      decide: (fresh) => decideAgain(scope, job, fresh, startMs),
    })
  const begun = await retrying(begin, scope.retry(code, doing)).catch((error: unknown) => {
    throw new OperationError(doing, error)
  })
  if (begun.kind === 'claimed-elsewhere') return claimedElsewhere(scope, job)
  for (const run of begun.interrupted) {
    scope.log(code, 'warn', `run ${run.id} (started ${new Date(run.startMs).toISOString()} by pid ${run.pid ?? '?'} on ${run.host ?? '?'}) was recorded as interrupted: its lease ran out`)
  }
  if (begun.kind === 'declined') return begun.why

  // A parallel job's claim only guarded the decision (it is gone); its running row holds the period.
  const claim: Claim = {token, held: !job.schedule.allowParallelRuns}
  const run: StartedRun = {runId: begun.runId, startMs, slot: begun.slot, previousSuccess: begun.previousSuccess}
  try {
    const outcome = outcomeOf(job, run, await execute(scope, job, run, claim), scope)
    return await recordOutcome(scope, job, outcome, claim)
  } finally {
    // If recording the end failed, let go of the claim at least.
    if (claim.held) await scope.lock.release(code, token).catch((error: unknown) => scope.log(code, 'warn', `could not release the lock (it will expire): ${firstLine(messageFromError(error))}`))
  }
}

/**
 * Record the outcome and release the claim, in one transaction, trying again while the database is
 * away or busy. If it stays away, the outcome is kept in the spool for the next tick (the run is
 * then reported as not recorded, and the tick fails); any other failure names the job and the step.
 */
async function recordOutcome(scope: TickScope, job: LoadedJob, outcome: RunOutcome, claim: Claim): Promise<RunOutcome> {
  const {code} = job
  const request: EndRequest = {
    runId: outcome.runId,
    code,
    status: outcome.kind,
    endMs: outcome.endMs,
    message: outcome.message,
    releaseToken: claim.held ? claim.token : null,
    removeOtherSuccesses: job.schedule.removeSuccessfulCronLogs,
  }
  const doing = `${code}: recording its outcome (${outcome.kind})`
  let overran: boolean
  try {
    ;({overran} = await retrying(() => scope.recorder.end(request), scope.retry(code, doing)))
  } catch (error) {
    if (!scope.spool || !isTransient(error)) throw new OperationError(doing, error)
    const where = keep(scope.spool, request, doing, error)
    claim.held = false // the database is away: the spooled outcome releases the claim when it is recorded
    scope.log(code, 'error', `${doing} failed (${firstLine(messageFromError(error))}): kept in ${where}; the next tick on this machine records it before it decides`)
    return {...outcome, spooled: where}
  }
  claim.held = false
  if (overran) {
    scope.log(code, 'warn', `run ${outcome.runId} overran its lease: another process recorded it interrupted meanwhile and may have run the job again; its outcome (${outcome.kind}) is kept, marked lease_overrun`)
  }
  return outcome
}

/** Into the spool; if even that fails, the outcome is lost, and the error says both. */
function keep(spool: OutcomeSpool, request: EndRequest, doing: string, error: unknown): string {
  try {
    return spool.add(request)
  } catch (spoolError) {
    throw new OperationError(`${doing}, then keeping it in the spool (${firstLine(messageFromError(spoolError))})`, error)
  }
}

/**
 * Before a tick decides: record the outcomes the spool keeps (from a tick the database failed), so
 * the decision sees those runs as they ended. One the database refuses outright is set aside.
 */
export async function recordSpooled(spool: OutcomeSpool, recorder: RunRecorder, log: TickScope['log']): Promise<void> {
  for (const kept of spool.pending()) {
    const {code, runId, status} = kept.request
    try {
      const {overran} = await recorder.end(kept.request)
      kept.remove()
      log(code, 'warn', `recorded the outcome (${status}) of run ${runId} kept in ${kept.where}${overran ? '; it had overrun its lease meanwhile (marked lease_overrun)' : ''}`)
    } catch (error) {
      if (isTransient(error)) throw new OperationError(`${code}: recording the outcome of run ${runId} kept in ${kept.where}`, error)
      kept.setAside()
      log(code, 'error', `the outcome of run ${runId} kept in ${kept.where} cannot be recorded (${firstLine(messageFromError(error))}): set aside as ${kept.where}.failed`)
    }
  }
}

/** The decision made again under the claim; a tick that is stopping starts nothing. */
function decideAgain(scope: TickScope, job: LoadedJob, fresh: JobHistory, nowMs: number): {start: true; slot: string | null} | {start: false; why: Outcome} {
  const verdict = scope.verdict(job, fresh, nowMs)
  if (verdict.kind !== 'due') return {start: false, why: notStarted(job, verdict)}
  if (scope.stopping()) {
    return {start: false, why: {kind: 'not-due', code: job.code, className: job.className, reason: `not started: the tick is stopping (${String(scope.signal?.reason)})`}}
  }
  return {start: true, slot: verdict.decision.slot}
}

/** Another process holds the claim: it runs the job (or, for a parallel job, decides this period). */
async function claimedElsewhere(scope: TickScope, job: LoadedJob): Promise<Outcome> {
  const holder = await scope.lock.holder(job.code)
  if (!job.schedule.allowParallelRuns) return runningElsewhere(job, null, holder)
  return {kind: 'claimed-elsewhere', code: job.code, className: job.className, host: holder?.host ?? null, pid: holder?.pid ?? null}
}

/** do() under its lease renewal, its timeout and the tick's signal, until it settles or is abandoned. */
async function execute(scope: TickScope, job: LoadedJob, run: StartedRun, claim: Claim): Promise<Ended> {
  const renewal = renewWhileRunning(scope, job.code, run.runId, claim)
  const stop = new RunStop(scope, job.code, job.schedule.timeoutMins)
  const ctx = cronContext(scope, job, run, stop.signal)
  // Under watch, do() runs in the run's own async context: what it leaves behind is charged to it.
  const watch = scope.containment?.watch(job.code, run.runId)
  const call = () => job.job.do(ctx)
  const done = Promise.resolve()
    .then(() => (watch ? watch.run(call) : call()))
    .then(
      (value): Settled => ({ok: true, value}),
      (error: unknown): Settled => ({ok: false, error}),
    )
  const settled = await Promise.race([done, stop.abandoned, ...(watch ? [watch.crashed] : [])])
  watch?.end()
  const renewed = renewal.stop()
  stop.dispose()
  await renewed
  return {settled, stop: stop.requested, endMs: scope.clock()}
}

/** How the run is recorded: what do() returned or threw, or why it was stopped. */
function outcomeOf(job: LoadedJob, run: StartedRun, ended: Ended, scope: Pick<TickScope, 'graceMs' | 'scrub'>): RunOutcome {
  const {settled, stop} = ended
  const {graceMs, scrub} = scope
  const base = {code: job.code, className: job.className, runId: run.runId, startMs: run.startMs, endMs: ended.endMs, slot: run.slot}
  if ('crashed' in settled) return {...base, kind: 'failed', error: settled.crashed.error, message: scrub(crashMessage(settled.crashed))}
  if ('abandoned' in settled) {
    const {status, why} = settled.abandoned
    return {...base, kind: status, message: `${why}; it did not stop within the ${graceMs / 1000} s grace period and was abandoned`, abandoned: true}
  }
  if (settled.ok) {
    const message = messageFromResult(settled.value)
    return {...base, kind: 'succeeded', message: message === null ? null : scrub(message)}
  }
  if (stop === null) return {...base, kind: 'failed', error: settled.error, message: scrub(messageFromError(settled.error))}
  return {...base, kind: stop.status, message: scrub(truncateMessage(`${stop.why}; it stopped with: ${messageFromError(settled.error)}`)), abandoned: false}
}

/** A crash as the run's message: what the job did, then the error and its stack. */
function crashMessage(crash: Crash, after = ''): string {
  return truncateMessage(`${crashDescription(crash)}${after}: ${messageFromError(crash.error)}`)
}

/**
 * Runs already recorded whose job crashed afterwards (a promise it left behind rejected): each such
 * run is recorded again as failed, with that error, and reported through `report`. A crash may come
 * before its run's outcome is known; it then waits for it. `settle` waits for the records under way.
 */
export function lateCrashes(scope: TickScope, report: (outcome: Outcome) => void): {ran(outcome: Outcome): void; settle(): Promise<void>; close(): void} {
  const outcomes = new Map<number, RunOutcome>()
  const waiting = new Map<number, Crash>()
  const writes: Array<Promise<void>> = []
  const record = (outcome: RunOutcome, crash: Crash) => {
    const message = scope.scrub(crashMessage(crash, ' after its do() had returned'))
    const write = scope.store.finishRun(outcome.runId, 'failed', outcome.endMs, message).then(
      () => report({...outcome, kind: 'failed', error: crash.error, message}),
      (error: unknown) => scope.log(outcome.code, 'warn', `could not record that run ${outcome.runId} crashed after it returned: ${firstLine(messageFromError(error))}`),
    )
    writes.push(write)
  }
  const containment = scope.containment
  if (containment) {
    containment.onLateCrash = (_code, runId, crash) => {
      const outcome = outcomes.get(runId)
      if (outcome === undefined) {
        if (!waiting.has(runId)) waiting.set(runId, crash)
      } else if (outcome.kind !== 'failed') record(outcome, crash)
    }
  }
  return {
    ran(outcome) {
      if (!('runId' in outcome) || outcomes.has(outcome.runId)) return
      outcomes.set(outcome.runId, outcome)
      const crash = waiting.get(outcome.runId)
      if (crash && outcome.kind !== 'failed') record(outcome, crash)
    },
    async settle() {
      for (let seen = 0; seen < writes.length; seen = writes.length) await Promise.all(writes.slice(seen))
    },
    close() {
      if (containment) containment.onLateCrash = undefined
    },
  }
}
