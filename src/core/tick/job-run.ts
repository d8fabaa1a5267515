import {OperationError} from '../base/errors'
import {newToken} from '../base/token'
import type {LoadedJob} from '../jobs/load-jobs'
import {limitReason, usesLedger} from '../jobs/run-policy'
import {messageFromError, messageFromResult, truncateMessage} from '../jobs/message'
import type {LockHolder} from '../run-log/job-lock'
import {firstLine} from '../base/text'
import type {JobHistory, LogLevel, PauseInfo} from '../contract/run-types'
import type {BeginRequest, BeginResult, EndResult, Limit} from '../run-log/recorder'
import type {Skip} from '../schedule/catch-up'
import type {Decision} from '../schedule/is-due'
import {isSubMinute} from '../schedule/period'
import {minuteOf} from '../schedule/periods'
import {DAY_MS, SECOND_MS} from '../time/units'
import type {Crashed} from './containment'
import {cronContext, type ContextRun, type StartedRun} from './context'
import {renewWhileRunning, type Claim} from './lease-renewal'
import {notStarted, runningElsewhere, type Outcome, type RunOutcome} from './outcome'
import {crashMessage, endRequestOf, pausedLine, recordedAs, recordOutcome} from './recording'
import {retrying} from './retry'
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
 * record could not be written. `waitedMs`: how long it waited for a runner's slot before its claim.
 */
export async function runDueJob(scope: TickScope, job: LoadedJob, waitedMs = 0): Promise<Outcome> {
  const begun = await beginRun(scope, job, waitedMs, null)
  return 'outcome' in begun ? begun.outcome : finishRun(scope, await endRun(scope, job, begun))
}

/**
 * A run in a lane of the crontab tick, whose runs follow one another: as runDueJob, but the run
 * before it in the lane (`previous`, ended, not yet recorded) is recorded in the same transaction
 * as this one's begin (one commit for both; it is reported through `report` once recorded), and
 * this run is returned ended but not recorded, for the lane's next begin or for finishRun.
 */
export async function runInLane(scope: TickScope, job: LoadedJob, previous: EndedRun | null, report: (outcome: Outcome) => void): Promise<Outcome | EndedRun> {
  const begun = await beginRun(scope, job, 0, previous && {previous, report})
  return 'outcome' in begun ? begun.outcome : endRun(scope, job, begun)
}

/** A run whose do() has ended, its outcome not yet recorded: its claim (and the slot of its limit) still held. */
export interface EndedRun {
  job: LoadedJob
  outcome: RunOutcome
  claim: Claim
}

/** Record an ended run's outcome (releasing its claim), and let go of the claim in `finally` if that record could not be written. */
export async function finishRun(scope: TickScope, ended: EndedRun): Promise<Outcome> {
  const {job, outcome, claim} = ended
  try {
    return await recordOutcome(scope, job, outcome, claim)
  } finally {
    // If recording the end failed, let go of the claim (and the limit's slot) at least.
    await letGo(scope, job.code, claim)
  }
}

/** The claim and the slot of its limit, if still held: released (else they expire with their lease). */
async function letGo(scope: TickScope, code: string, claim: Claim): Promise<void> {
  if (claim.held) await scope.lock.release(code, claim.token).catch((error: unknown) => scope.log(code, 'warn', `could not release the lock (it will expire): ${firstLine(messageFromError(error))}`))
  const {slot} = claim
  if (slot !== null) await scope.lock.releaseSlot(slot, claim.token).catch((error: unknown) => scope.log(code, 'warn', `could not free its slot of limit '${slot}' (it will expire): ${firstLine(messageFromError(error))}`))
}

/** A run begun: recorded as 'running' under its claim. */
interface BegunRun {
  run: StartedRun
  claim: Claim
}

/**
 * Claim, decide again on fresh history, and record the run as 'running', in one transaction:
 * another process may have run the job since the tick's snapshot. With `after`, the lane's run
 * before it is recorded in that transaction too, or on its own first if that transaction fails.
 */
async function beginRun(scope: TickScope, job: LoadedJob, waitedMs: number, after: {previous: EndedRun; report: (outcome: Outcome) => void} | null): Promise<{outcome: Outcome} | BegunRun> {
  const {code} = job
  const token = newToken()
  let startMs = scope.clock()
  const doing = `${code}: claiming it and recording its start`
  let request = beginRequestOf(scope, job, token, startMs, waitedMs)
  let begun: BeginResult<Outcome> | undefined
  if (after !== null) {
    const {previous, report} = after
    const chained = await chainedBegin(scope, previous, request)
    if (chained === null) {
      report(await finishRun(scope, previous))
      // Its start (and its lease) from now: recording the previous run on its own may have waited out the database.
      startMs = scope.clock()
      request = beginRequestOf(scope, job, token, startMs, waitedMs)
    } else {
      report(recordedAs(scope, previous.outcome, previous.claim, chained.ended))
      begun = chained.begun
    }
  }
  begun ??= await retrying(() => scope.recorder.begin(request), scope.retry(code, doing)).catch((error: unknown) => {
    throw new OperationError(doing, error)
  })
  if (begun.kind === 'claimed-elsewhere') return {outcome: claimedElsewhere(job, begun.holder, startMs - scope.leaseClock())}
  for (const run of begun.interrupted) {
    scope.log(code, 'warn', `run ${run.id} (started ${new Date(run.startMs).toISOString()} by pid ${run.pid ?? '?'} on ${run.host ?? '?'}) was recorded as interrupted: its lease ran out`)
  }
  if (begun.kind === 'declined') return {outcome: begun.why}
  if (begun.kind === 'limited') return {outcome: {kind: 'limited', code, className: job.className, group: begun.group, running: begun.running, reason: limitReason(begun.group, begun.running)}}
  // A long-lived runner's slots were all taken when it fell due (its row records it: started_late_ms).
  if (waitedMs > 0) scope.log(code, 'warn', `run ${begun.runId} started ${waitedMs} ms late: it waited for a free slot (every slot of --concurrency was taken)`)
  // A parallel job's claim only guarded the decision (it is gone); its running row holds the period.
  const claim: Claim = {token, held: !job.policy.allowParallelRuns, slot: job.policy.limit}
  return {claim, run: {runId: begun.runId, startMs, slot: begun.slot, previousSuccess: begun.previousSuccess, periodMs: begun.periodMs}}
}

/**
 * The previous run's end and this begin in one transaction, tried once: null if the recorder cannot
 * chain them or the transaction failed (nothing was written; each is then written on its own, with
 * its retries and the spool).
 */
async function chainedBegin(scope: TickScope, previous: EndedRun, request: BeginRequest<Outcome>): Promise<{ended: EndResult; begun: BeginResult<Outcome>} | null> {
  if (!scope.recorder.chain || request.limit) return null
  return scope.recorder.chain(endRequestOf(scope, previous.job, previous.outcome, previous.claim), request).catch(() => null)
}

function beginRequestOf(scope: TickScope, job: LoadedJob, token: string, startMs: number, waitedMs: number): BeginRequest<Outcome> {
  return {
    code: job.code,
    holder: {token, host: scope.host, pid: scope.pid},
    nowMs: startMs,
    leaseNowMs: scope.leaseClock(),
    leaseMs: scope.leaseMs,
    skewMs: scope.skewMs,
    parallel: job.policy.allowParallelRuns,
    decide: (fresh, paused) => decideAgain(scope, job, fresh, startMs, paused),
    ledger: usesLedger(job.policy),
    trimSkipsBeforeMs: scope.settings.deleteLogsOlderThanDays === null ? undefined : startMs - scope.settings.deleteLogsOlderThanDays * DAY_MS,
    alerting: scope.alerts.alertingFor(job),
    forced: scope.force,
    version: scope.codeVersion(),
    startedLateMs: waitedMs > 0 ? waitedMs : null,
    pauseAfterFailures: job.policy.pauseAfterFailures,
    limit: limitOf(scope, job),
  }
}

/** do() of a begun run, under watch; its ping told how it ended; its outcome not yet recorded. */
async function endRun(scope: TickScope, job: LoadedJob, begun: BegunRun): Promise<EndedRun> {
  const {run, claim} = begun
  const pinged = job.pingUrl === null ? null : scope.pings.started(job.code, job.pingUrl, run.runId)
  try {
    const outcome = outcomeOf(job, run, await execute(scope, job, run, claim), scope)
    pinged?.(outcome.kind === 'succeeded', outcome.message)
    return {job, outcome, claim}
  } catch (error) {
    await letGo(scope, job.code, claim)
    throw error
  }
}

/** The job's limit and its group's slots in the settings (the plan left out a job whose group they do not define). */
function limitOf(scope: TickScope, job: LoadedJob): Limit | null {
  const group = job.policy.limit
  return group === null ? null : {group, slots: scope.settings.limits.get(group) ?? 0}
}

/**
 * The decision made again under the claim; a tick that is stopping starts nothing, nor does a job
 * its claim has just paused (`paused`: pauseAfterFailures). A run serves a period (the one its
 * decision names, or the minute it starts in), unless it was started by hand.
 */
function decideAgain(scope: TickScope, job: LoadedJob, fresh: JobHistory, nowMs: number, paused: PauseInfo | null): ReturnType<BeginRequest<Outcome>['decide']> {
  if (paused) return {start: false, why: {kind: 'paused', code: job.code, className: job.className, reason: pausedLine(job.code, paused)}}
  const verdict = scope.verdict(job, fresh, nowMs)
  if (verdict.kind === 'skip') return {start: false, why: skipped(job, verdict.decision, verdict.skips), skips: verdict.skips}
  if (verdict.kind !== 'due') return {start: false, why: notStarted(job, verdict)}
  if (scope.stopping()) {
    return {start: false, why: {kind: 'not-due', code: job.code, className: job.className, reason: `not started: the tick is stopping (${String(scope.signal?.reason)})`}}
  }
  const {decision} = verdict
  const periodMs = scope.force ? null : (verdict.period?.ms ?? Math.min(decision.dueSinceMs ?? firstPeriod(job, nowMs), nowMs))
  return {start: true, slot: verdict.period?.slot ?? decision.slot, periodMs, skips: verdict.skips}
}

/** The period of a run no earlier one anchors (a first run): the minute it starts in, or for a sub-minute job its second. */
function firstPeriod(job: LoadedJob, nowMs: number): number {
  return isSubMinute(job.schedule) ? Math.floor(nowMs / SECOND_MS) * SECOND_MS : minuteOf(nowMs)
}

/** Periods recorded as skipped, with nothing run. */
function skipped(job: LoadedJob, decision: Decision, skips: readonly Skip[]): Outcome {
  return {kind: 'skipped', code: job.code, className: job.className, periods: skips.length, get reason() {return decision.reason}}
}

/**
 * Another process holds the claim: it runs the job (or, for a parallel job, decides this period).
 * Its claim's time is on the lease clock: shown on the decisions' clock (`offsetMs` apart), as the
 * rest of the tick's lines are (MANAGE_NOW pins those).
 */
function claimedElsewhere(job: LoadedJob, holder: LockHolder | null, offsetMs: number): Outcome {
  const onDecisionClock = holder && {...holder, lockedMs: holder.lockedMs === null ? null : holder.lockedMs + offsetMs}
  if (!job.policy.allowParallelRuns) return runningElsewhere(job, null, onDecisionClock)
  return {kind: 'claimed-elsewhere', code: job.code, className: job.className, host: holder?.host ?? null, pid: holder?.pid ?? null}
}

/** do() under its lease renewal, its timeout and the tick's signal, until it settles or is abandoned. */
async function execute(scope: TickScope, job: LoadedJob, run: StartedRun, claim: Claim): Promise<Ended> {
  const renewal = renewWhileRunning(scope, job.code, run.runId, claim)
  const stop = new RunStop(scope, job.code, job.policy.timeoutMins)
  const cancelWatch = job.policy.overlap === 'cancelOther' && claim.held ? watchForCancel(scope, job.code, claim.token, stop) : null
  const settled = job.policy.isolate ? await inItsOwnProcess(scope, job, run, stop) : await inThisProcess(scope, job, run, stop)
  if (cancelWatch !== null) clearInterval(cancelWatch)
  const renewed = renewal.stop()
  stop.dispose()
  await renewed
  return {settled, stop: stop.requested, endMs: scope.clock()}
}

/** overlap = 'cancelOther': while the run holds its claim, a newer period's request (cron_job.cancel_for) stops it. */
function watchForCancel(scope: TickScope, code: string, token: string, stop: RunStop): NodeJS.Timeout {
  let asking = false
  const timer = setInterval(() => {
    if (asking || stop.requested !== null) return
    asking = true
    scope.lock
      .cancelRequested(code, token)
      .then((periodMs) => {
        if (periodMs !== null) stop.cancel(`cancelled for the period of ${new Date(periodMs).toISOString()} (overlap: cancelOther)`)
      })
      .catch((error: unknown) => scope.log(code, 'warn', `could not look for a cancel request: ${firstLine(messageFromError(error))}`))
      .finally(() => (asking = false))
  }, scope.cancelPollMs)
  timer.unref()
  return timer
}

/** do() here: under watch, it runs in the run's own async context, so what it leaves behind is charged to it. */
async function inThisProcess(scope: TickScope, job: LoadedJob, run: StartedRun, stop: RunStop): Promise<Settled> {
  const reach = {log: (level: LogLevel, message: string) => scope.log(job.code, level, message), db: scope.knex, runLog: () => scope.runLog, settings: scope.settings.values}
  const ctx = cronContext(job.code, contextRun(scope, job, run), stop.signal, reach)
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
  return settled
}

/** do() in a process of its own (isolate = true): asked to stop as ctx.signal would be, killed past the grace period. */
async function inItsOwnProcess(scope: TickScope, job: LoadedJob, run: StartedRun, stop: RunStop): Promise<Settled> {
  if (!scope.isolation) return {ok: false, error: new Error('isolate = true needs the manage CLI, which runs an isolated job in a process of its own')}
  const {runner, root, settingsFile} = scope.isolation
  const request = {type: 'start' as const, root, settingsFile, code: job.code, run: contextRun(scope, job, run)}
  const child = runner.start(request, (level, message) => scope.log(job.code, level, message))
  const onStop = () => child.stop(String((stop.signal.reason as Error | undefined)?.message ?? 'stop'))
  stop.signal.addEventListener('abort', onStop, {once: true})
  try {
    const ended = await Promise.race([child.done, stop.abandoned])
    if ('abandoned' in ended) return ended
    if (ended.type === 'exited') return {crashed: {kind: 'isolated-exit', error: new Error(`its process ended (${ended.signal ? `signal ${ended.signal}` : `exit code ${ended.code}`}) before do() settled`)}}
    if (ended.ok) return {ok: true, value: ended.message}
    return {ok: false, error: Object.assign(new Error(ended.error.message), {name: ended.error.name, stack: ended.error.stack})}
  } finally {
    stop.signal.removeEventListener('abort', onStop)
    child.kill()
  }
}

/** The run as ctx shows it, in this process or sent to an isolated job's. */
function contextRun(scope: TickScope, job: LoadedJob, run: StartedRun): ContextRun {
  // A policy job's ctx.now is the period it serves, which may be long past (a catch-up, a buffered period).
  const nowMs = usesLedger(job.policy) && run.periodMs !== null && run.periodMs !== undefined ? run.periodMs : run.startMs
  return {...run, nowMs, zone: scope.settings.timeZone, forced: scope.force}
}

/** How the run is recorded: what do() returned or threw, or why it was stopped. */
function outcomeOf(job: LoadedJob, run: StartedRun, ended: Ended, scope: Pick<TickScope, 'graceMs' | 'scrub'>): RunOutcome {
  const {settled, stop} = ended
  const {graceMs, scrub} = scope
  const base: {code: string; className: string; runId: number; startMs: number; endMs: number; slot: string | null; periodMs?: number} = {code: job.code, className: job.className, runId: run.runId, startMs: run.startMs, endMs: ended.endMs, slot: run.slot}
  // The period a ledger job's run served: its catch-up turns go on only while a later one has come.
  if (usesLedger(job.policy) && typeof run.periodMs === 'number') base.periodMs = run.periodMs
  if ('crashed' in settled) return {...base, kind: 'failed', error: settled.crashed.error, message: scrub(crashMessage(settled.crashed))}
  if ('abandoned' in settled) {
    const {status, why} = settled.abandoned
    const isolated = job.policy.isolate
    return {...base, kind: status, message: `${why}; it did not stop within the ${graceMs / 1000} s grace period and ${isolated ? 'its process was killed' : 'was abandoned'}`, abandoned: !isolated}
  }
  // Cancelled by a newer period: so recorded however do() ended.
  if (stop?.status === 'cancelled') {
    const ended = settled.ok ? messageFromResult(settled.value) : messageFromError(settled.error)
    return {...base, kind: 'cancelled', message: scrub(truncateMessage(`${stop.why}${ended === null ? '' : `; it ${settled.ok ? 'returned' : 'stopped with'}: ${ended}`}`)), abandoned: false}
  }
  if (settled.ok) {
    const message = messageFromResult(settled.value)
    return {...base, kind: 'succeeded', message: message === null ? null : scrub(message)}
  }
  if (stop === null) return {...base, kind: 'failed', error: settled.error, message: scrub(messageFromError(settled.error))}
  return {...base, kind: stop.status, message: scrub(truncateMessage(`${stop.why}; it stopped with: ${messageFromError(settled.error)}`)), abandoned: false}
}
