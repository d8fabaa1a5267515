import {isTransient} from '../db/database'
import {OperationError} from '../base/errors'
import type {LoadedJob} from '../jobs/load-jobs'
import {messageFromError, truncateMessage} from '../jobs/message'
import type {PauseInfo} from '../contract/run-types'
import type {EndRequest, EndResult, RunRecorder} from '../run-log/recorder'
import type {OutcomeSpool} from '../run-log/spool'
import {firstLine, shown} from '../base/text'
import {crashDescription, type Crash} from './containment'
import {renewWhileRunning, type Claim} from './lease-renewal'
import type {Outcome, RunOutcome} from './outcome'
import {retrying} from './retry'
import type {TickScope} from './tick-scope'

/**
 * How a run's end gets into the run log, whatever the database does: the outcome recorded with the
 * claim's release (tried again while the database is away, else kept in the spool for the next
 * tick), the spool recorded before a tick decides, and runs turned into failures by a crash that
 * came after they were recorded.
 */

/**
 * Record the outcome and release the claim, in one transaction, trying again while the database is
 * away or busy. If it stays away, the outcome is kept in the spool for the next tick (the run is
 * then reported as not recorded, and the tick fails). If the spool cannot take it either (a full
 * disk under both), the claim is held and renewed and both are tried again for up to a lease.
 * Any other failure names the job and the step.
 */
export async function recordOutcome(scope: TickScope, job: LoadedJob, outcome: RunOutcome, claim: Claim): Promise<RunOutcome> {
  const {code} = job
  const request = endRequestOf(scope, job, outcome, claim)
  const doing = `${code}: recording its outcome (${outcome.kind})`
  let written: Written | Unwritten
  try {
    written = await retrying(() => scope.recorder.end(request), scope.retry(code, doing))
  } catch (error) {
    if (!scope.spool || !isTransient(error)) throw new OperationError(doing, error)
    written = keep(scope.spool, request, error)
    if ('failed' in written) written = await holdUntilWritten(scope, request, claim, doing, written.failed)
  }
  if ('spooled' in written) {
    // The database is away: the spooled outcome releases the claim (and the slot) when it is recorded.
    claim.held = false
    claim.slot = null
    scope.log(code, 'error', `${doing} failed (${firstLine(messageFromError(written.because))}): kept in ${written.spooled}; the next tick on this machine records it before it decides`)
    return {...outcome, spooled: written.spooled}
  }
  return recordedAs(scope, outcome, claim, written)
}

/** The run log's record of the outcome, releasing the claim (and the slot of its limit) it still holds. */
export function endRequestOf(scope: TickScope, job: LoadedJob, outcome: RunOutcome, claim: Claim): EndRequest {
  const request: EndRequest = {
    runId: outcome.runId,
    code: job.code,
    status: outcome.kind,
    endMs: outcome.endMs,
    message: outcome.message,
    releaseToken: claim.held ? claim.token : null,
    removeOtherSuccesses: job.policy.removeSuccessfulCronLogs,
  }
  if (claim.slot !== null) request.releaseSlot = {group: claim.slot, token: claim.token}
  const alerting = scope.alerts.alertingFor(job)
  if (alerting) request.alerting = {...alerting, startMs: outcome.startMs, slot: outcome.slot, pid: scope.pid}
  if (job.policy.pauseAfterFailures !== null) request.pauseAfterFailures = job.policy.pauseAfterFailures
  return request
}

/** The outcome is in the run log (the claim and the slot with it released): what else its record did, said. */
export function recordedAs(scope: TickScope, outcome: RunOutcome, claim: Claim, written: EndResult): RunOutcome {
  const {code} = outcome
  claim.held = false
  claim.slot = null
  if (written.overran) {
    scope.log(code, 'warn', `run ${outcome.runId} overran its lease: another process recorded it interrupted meanwhile and may have run the job again; its outcome (${outcome.kind}) is kept, marked lease_overrun`)
  }
  if (written.paused) scope.log(code, 'warn', pausedLine(code, written.paused))
  return outcome
}

/** What the tick says of a job that paused itself (pauseAfterFailures). */
export function pausedLine(code: string, pause: PauseInfo): string {
  return `${pause.note ?? 'paused'} (pauseAfterFailures); it runs again once resumed: manage crons:resume ${code}`
}

/** Where an outcome went: the run log, or the spool (because the database failed so). */
type Written = EndResult | {spooled: string; because: unknown}
/** Neither would take it. */
type Unwritten = {failed: {database: unknown; spool: unknown}}

/** Into the spool, or why not. */
function keep(spool: OutcomeSpool, request: EndRequest, databaseError: unknown): Written | Unwritten {
  try {
    return {spooled: spool.add(request), because: databaseError}
  } catch (spoolError) {
    return {failed: {database: databaseError, spool: spoolError}}
  }
}

const HOLD_FIRST_WAIT_MS = 1000
const HOLD_LONGEST_WAIT_MS = 10_000

/**
 * Nothing can be written, neither to the database nor to the spool (a full disk under both): a
 * finished run must not count as unfinished for want of disk, so its claim is kept (the lease
 * renewed while it can be) and both are tried again, saying so at every attempt, for as long as
 * one lease; past that, another process could take the job over anyway, and the error says the
 * outcome is lost.
 */
async function holdUntilWritten(scope: TickScope, request: EndRequest, claim: Claim, doing: string, failed: {database: unknown; spool: unknown}): Promise<Written> {
  const {code, runId} = request
  const renewal = renewWhileRunning(scope, code, runId, claim)
  const started = scope.leaseClock()
  try {
    for (let attempt = 1, wait = HOLD_FIRST_WAIT_MS; ; attempt++, wait = Math.min(wait * 2, HOLD_LONGEST_WAIT_MS)) {
      const left = scope.leaseMs - (scope.leaseClock() - started)
      const why = `the database: ${firstLine(messageFromError(failed.database))}; the spool: ${firstLine(messageFromError(failed.spool))}`
      if (left <= 0) {
        throw new OperationError(`${doing}: nothing could be written for ${Math.round(scope.leaseMs / 1000)} s (${why}); the outcome is lost, and the run will be recorded interrupted when its lease runs out`, failed.database)
      }
      const waitMs = Math.min(wait, left)
      scope.log(code, 'error', `${doing}: nothing can be written (${why}); holding its claim and trying both again in ${waitMs / 1000} s (attempt ${attempt}, for ${Math.ceil(left / 1000)} s more)`)
      await scope.timers.sleep(waitMs).done
      try {
        return await scope.recorder.end(request)
      } catch (error) {
        if (!isTransient(error)) throw new OperationError(doing, error)
        failed = {...failed, database: error}
      }
      const kept = keep(scope.spool!, request, failed.database)
      if (!('failed' in kept)) return kept
      failed = kept.failed
    }
  } finally {
    await renewal.stop()
  }
}

/**
 * Before a tick decides: record the outcomes the spool keeps (from a tick the database failed), so
 * the decision sees those runs as they ended. A file that is not a valid outcome, and an outcome the
 * run log refuses (an unknown run, another job's, one that has ended), are set aside with a line
 * each, and the others are still recorded. Returns how many were set aside.
 */
export async function recordSpooled(spool: OutcomeSpool, recorder: RunRecorder, log: TickScope['log']): Promise<number> {
  const {outcomes, refused} = spool.pending()
  for (const file of refused) {
    const aside = 'as' in file.setAside ? `set aside as ${shown(file.setAside.as)}` : `it could not be set aside (${file.setAside.failed}): move it out of the spool`
    log('manage', 'error', `the spool file ${shown(file.where)} ${file.problem}: not recorded; ${aside}`)
  }
  let setAside = refused.length
  for (const kept of outcomes) {
    const {code, runId, status} = kept.request
    try {
      const {overran, paused} = await recorder.end(kept.request)
      kept.remove()
      log(code, 'warn', `recorded the outcome (${status}) of run ${runId} kept in ${kept.where}${overran ? '; it had overrun its lease meanwhile (marked lease_overrun)' : ''}`)
      if (paused) log(code, 'warn', pausedLine(code, paused))
    } catch (error) {
      if (isTransient(error)) throw new OperationError(`${code}: recording the outcome of run ${runId} kept in ${kept.where}`, error)
      setAside++
      let aside: string
      try {
        aside = `set aside as ${kept.setAside()}`
      } catch (moveError) {
        aside = `it could not be set aside (${firstLine(messageFromError(moveError))}): move it out of the spool`
      }
      log(code, 'error', `the outcome of run ${runId} kept in ${kept.where} cannot be recorded (${firstLine(messageFromError(error))}): ${aside}`)
    }
  }
  return setAside
}

/** A crash as the run's message: what the job did, then the error and its stack. */
export function crashMessage(crash: Crash, after = ''): string {
  return truncateMessage(`${crashDescription(crash)}${after}: ${messageFromError(crash.error)}`)
}

/**
 * Runs already recorded whose job crashed afterwards (a promise it left behind rejected): each such
 * run is recorded again as failed, with that error, and reported through `report`. A crash may come
 * before its run's outcome is known; it then waits for it. `settle` waits for the records under way.
 */
export function lateCrashes(scope: TickScope, report: (outcome: Outcome) => void, jobs: readonly LoadedJob[]): {ran(outcome: Outcome): void; settle(): Promise<void>; close(): void} {
  const pauseAfter = new Map(jobs.map((job) => [job.code, job.policy.pauseAfterFailures]))
  const outcomes = new Map<number, RunOutcome>()
  const waiting = new Map<number, Crash>()
  const writes: Array<Promise<void>> = []
  const record = (outcome: RunOutcome, crash: Crash) => {
    // One late failure per run: what a crash sets off (process.exit() throws in its place, and that
    // throw is itself uncaught) is the same crash, not a second one.
    outcomes.set(outcome.runId, {...outcome, kind: 'failed', error: crash.error, message: ''})
    const message = scope.scrub(crashMessage(crash, ' after its do() had returned'))
    const alerting = scope.alerts.alertingOf(outcome.code)
    const request: EndRequest = {runId: outcome.runId, code: outcome.code, status: 'failed', endMs: outcome.endMs, message, releaseToken: null, removeOtherSuccesses: false, rerecord: true}
    if (alerting) request.alerting = {...alerting, startMs: outcome.startMs, slot: outcome.slot, pid: scope.pid}
    request.pauseAfterFailures = pauseAfter.get(outcome.code) ?? null
    const write = scope.recorder.end(request).then(
      ({paused}) => {
        if (paused) scope.log(outcome.code, 'warn', pausedLine(outcome.code, paused))
        report({...outcome, kind: 'failed', error: crash.error, message})
      },
      (error: unknown) => scope.log(outcome.code, 'warn', `could not record that run ${outcome.runId} crashed after it returned: ${firstLine(messageFromError(error))}`),
    )
    writes.push(write)
  }
  // One listener among those of every tick the process runs: a crash of a run this tick has not
  // reported (yet) waits here until it does, and is dropped with the tick.
  const stopListening = scope.containment?.onLateCrash((_code, runId, crash) => {
    const outcome = outcomes.get(runId)
    if (outcome === undefined) {
      if (!waiting.has(runId)) waiting.set(runId, crash)
    } else if (outcome.kind !== 'failed') record(outcome, crash)
  })
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
      stopListening?.()
    },
  }
}
