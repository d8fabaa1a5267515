import type {RunStatus} from '../jobs/cron-job-base'
import type {ConnectionSource} from '../db/connection-source'
import type {Dialect} from '../db/database'
import {historiesFromRows, historiesQuery} from './history-query'
import {EMPTY_HISTORY, isLive, type JobHistory} from '../schedule/is-due'
import {claimJob, deleteOtherSuccesses, ensureJob, finishRun, insertRun, interruptRun, releaseJob, selectStaleRuns, type Holder} from './statements'
import {interruptionOf, runRowOf, type RunRow} from './run-store'
import {inTransaction, type SqlConnection} from '../db/sql-connection'

export interface BeginRequest<Why> {
  code: string
  holder: Holder
  /** The claim's time (the run's start). */
  nowMs: number
  leaseMs: number
  /** allowParallelRuns: the claim guards only the decision; the running row (with its own lease) holds the period. */
  parallel: boolean
  /** Asked while the claim is held, on the job's fresh history: start a run (serving `slot`), or not, and why. */
  decide(fresh: JobHistory): {start: true; slot: string | null} | {start: false; why: Why}
}

export type BeginResult<Why> =
  /** Another process holds the claim with a live lease: nothing was written. */
  | {kind: 'claimed-elsewhere'}
  /** `decide` said no (and why): nothing was written but the stale runs it found. */
  | {kind: 'declined'; why: Why; interrupted: RunRow[]}
  /** Claimed and recorded as 'running' (its claim released at once for a parallel job). */
  | {kind: 'started'; runId: number; slot: string | null; previousSuccess: RunRow | null; interrupted: RunRow[]}

export interface EndRequest {
  runId: number
  code: string
  status: RunStatus
  endMs: number
  message: string | null
  /** The claim's token while it is still held (not for a parallel job, whose claim is gone). */
  releaseToken: string | null
  /** removeSuccessfulCronLogs, after a success: delete the job's other successful rows. */
  removeOtherSuccesses: boolean
}

/**
 * A run's writes, in two transactions: one before do() (claim, decide again on fresh history,
 * record the dead runs it finds, insert the 'running' row) and one after it (record the outcome,
 * release the claim). Each is atomic, so a run costs two commits; a job that turns out not to be
 * due, or is claimed elsewhere, costs none.
 */
export interface RunRecorder {
  begin<Why>(request: BeginRequest<Why>): Promise<BeginResult<Why>>
  end(request: EndRequest): Promise<void>
}

/** The run recorder in plain SQL (run-sql.ts), each step on one connection of the source. */
export class SqlRunRecorder implements RunRecorder {
  private readonly dialect: Dialect

  constructor(private readonly source: ConnectionSource) {
    this.dialect = source.dialect
  }

  begin<Why>(request: BeginRequest<Why>): Promise<BeginResult<Why>> {
    return this.source.use((connection) => inTransaction(connection, () => this.beginIn(connection, request)))
  }

  private async beginIn<Why>(connection: SqlConnection, request: BeginRequest<Why>): Promise<{commit: boolean; value: BeginResult<Why>}> {
    const {code, holder, nowMs, leaseMs} = request
    const claim = claimJob(this.dialect, code, holder, nowMs, leaseMs)
    let claimed = (await connection.run(claim.sql, claim.bindings)).changes === 1
    if (!claimed) {
      // No row yet (the job never ran), or a live holder: make the row, then try once more.
      const row = ensureJob(this.dialect, code)
      if ((await connection.run(row.sql, row.bindings)).changes === 1) claimed = (await connection.run(claim.sql, claim.bindings)).changes === 1
    }
    if (!claimed) return {commit: false, value: {kind: 'claimed-elsewhere'}}

    // Decide again on fresh history while holding the claim: another process may have run the job since the tick's snapshot.
    const fresh = historiesQuery(this.dialect, nowMs, [code], true)
    const rows = await connection.all(fresh.sql, fresh.bindings)
    const history = historiesFromRows(rows, this.dialect, nowMs).get(code) ?? EMPTY_HISTORY

    // Runs whose lease ran out are dead (isDue already counts them as failures): record them so.
    const interrupted: RunRow[] = []
    if (history.running.some((run) => !isLive(run, nowMs))) {
      const stale = selectStaleRuns(this.dialect, code, nowMs)
      for (const raw of await connection.all(stale.sql, stale.bindings)) {
        const run = runRowOf(raw, this.dialect)
        const {endMs, message} = interruptionOf(run)
        const update = interruptRun(this.dialect, run.id, endMs, message)
        if ((await connection.run(update.sql, update.bindings)).changes > 0) interrupted.push({...run, status: 'interrupted', message})
      }
    }

    const decision = request.decide(history)
    if (!decision.start) {
      const declined = {kind: 'declined' as const, why: decision.why, interrupted}
      if (interrupted.length === 0) return {commit: false, value: declined}
      const release = releaseJob(code, holder.token)
      await connection.run(release.sql, release.bindings)
      return {commit: true, value: declined}
    }

    const insert = insertRun(this.dialect, {code, status: 'running', startMs: nowMs, ranAtTime: decision.slot, host: holder.host, pid: holder.pid, leaseMs})
    const runId = (await connection.run(insert.sql, insert.bindings)).lastId!
    if (request.parallel) {
      const release = releaseJob(code, holder.token)
      await connection.run(release.sql, release.bindings)
    }
    const previous = history.lastSuccess ? rows.find((row) => Number(row.id) === history.lastSuccess!.id) : undefined
    return {commit: true, value: {kind: 'started', runId, slot: decision.slot, previousSuccess: previous ? runRowOf(previous, this.dialect) : null, interrupted}}
  }

  end(request: EndRequest): Promise<void> {
    return this.source.use((connection) =>
      inTransaction(connection, async () => {
        const statements = [finishRun(this.dialect, request.runId, request.status, request.endMs, request.message)]
        if (request.releaseToken !== null) statements.push(releaseJob(request.code, request.releaseToken))
        if (request.removeOtherSuccesses && request.status === 'succeeded') statements.push(deleteOtherSuccesses(request.code, request.runId))
        for (const statement of statements) await connection.run(statement.sql, statement.bindings)
        return {commit: true, value: undefined}
      }),
    )
  }
}
