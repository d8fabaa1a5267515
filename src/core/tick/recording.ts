import {isTransient} from '../db/database'
import {OperationError} from '../errors'
import type {LoadedJob} from '../jobs/load-jobs'
import {messageFromError, truncateMessage} from '../jobs/message'
import type {EndRequest, RunRecorder} from '../run-log/recorder'
import type {OutcomeSpool} from '../run-log/spool'
import {firstLine} from '../text'
import {crashDescription, type Crash} from './containment'
import type {Claim} from './lease-renewal'
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
 * then reported as not recorded, and the tick fails); any other failure names the job and the step.
 */
export async function recordOutcome(scope: TickScope, job: LoadedJob, outcome: RunOutcome, claim: Claim): Promise<RunOutcome> {
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
  const alerting = scope.alerts.alertingFor(job)
  if (alerting) request.alerting = {...alerting, startMs: outcome.startMs, slot: outcome.slot, pid: scope.pid}
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

/** A crash as the run's message: what the job did, then the error and its stack. */
export function crashMessage(crash: Crash, after = ''): string {
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
    const alerting = scope.alerts.alertingOf(outcome.code)
    const request: EndRequest = {runId: outcome.runId, code: outcome.code, status: 'failed', endMs: outcome.endMs, message, releaseToken: null, removeOtherSuccesses: false, rerecord: true}
    if (alerting) request.alerting = {...alerting, startMs: outcome.startMs, slot: outcome.slot, pid: scope.pid}
    const write = scope.recorder.end(request).then(
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
