import type {ConnectionSource} from '../db/connection-source'
import type {Dialect} from '../db/database'
import {inTransaction, read, write, type SqlConnection} from '../db/sql-connection'
import {isFailedStatus, type JobHistory, type PauseInfo, type RunRow, type RunStatus} from '../contract/run-types'
import {EMPTY_HISTORY, isLive} from '../schedule/history'
import {historiesFromRows, lockHolderOf, runRowOf, type LockHolder} from './rows'
import {pauseAfterFailuresOn} from './failure-pause'
import {recordIncidentOn, type Alerting} from './incidents'
import {interruptStaleRunsOn} from './run-store'
import * as ledger from './ledger-statements'
import * as limits from './limit-statements'
import * as sql from './statements'
import {timeCodec} from './time-codec'
import {limitReason} from '../jobs/run-policy'
import type {Skip} from '../schedule/catch-up'

export interface BeginRequest<Why> {
  code: string
  holder: sql.Holder
  /** The decision's time: the run's start (MANAGE_NOW may pin it). */
  nowMs: number
  /** The lease clock's now (a real clock; default `nowMs`): claims and leases follow it. */
  leaseNowMs?: number
  leaseMs: number
  /** The clock-skew allowance of the decision (see DecisionOptions.clockSkewMs). */
  skewMs?: number
  /** allowParallelRuns: the claim guards only the decision; the running row (with its own lease) holds the period. */
  parallel: boolean
  /**
   * Asked while the claim is held, on the job's fresh history: start a run (serving `slot` and the
   * period at `periodMs`), or not, and why; either way, periods to record as skipped first.
   * `paused`: the pause this claim has just made (the dead runs it found made the job's
   * pauseAfterFailures), else null.
   */
  decide(fresh: JobHistory, paused: PauseInfo | null): {start: true; slot: string | null; periodMs?: number | null; skips?: readonly Skip[]} | {start: false; why: Why; skips?: readonly Skip[]}
  /** A job with a catch-up policy: its hold (cron_job.held_to, resumed_at) is read under the claim for `decide`, and moved on by what it records. */
  ledger?: boolean
  /** deleteLogsOlderThanDays, for a ledger job: its skips of periods before this go when it records new ones (no tick pays a statement for them). */
  trimSkipsBeforeMs?: number
  /** The job's alerting: a dead run found here counts as a failure (kind interrupted) in its incident. */
  alerting?: Alerting
  /** Started by hand (--force, run now): its row is marked so. */
  forced?: boolean
  /** The version of the code that runs it (cron_job_log.code_version), when known. */
  version?: string | null
  /** How long it waited for a free slot of a scheduler after it fell due (cron_job_log.started_late_ms); none: on time. */
  startedLateMs?: number | null
  /** The job's pauseAfterFailures: the dead runs found here count as failures toward it. */
  pauseAfterFailures?: number | null
  /** The job's limit (RunPolicy.limit) and the group's number of slots: a run starts only in a free slot of it, held for the whole run. */
  limit?: Limit | null
}

/** A limit group as a run takes it: its name and how many slots the settings give it. */
export interface Limit {
  group: string
  slots: number
}

export type BeginResult<Why> =
  /** Another process holds the claim with a live lease (`holder`, as read right after; null if it let go meanwhile): nothing was written. */
  | {kind: 'claimed-elsewhere'; holder: LockHolder | null}
  /** `decide` said no (and why): nothing was written but the stale runs it found. */
  | {kind: 'declined'; why: Why; interrupted: RunRow[]}
  /**
   * `decide` said start, but every slot of the job's limit is taken: no run was recorded, the claim
   * was released and the job marked held back (cron_job.held_back_at); it stays due.
   */
  | {kind: 'limited'; group: string; running: number; interrupted: RunRow[]}
  /** Claimed and recorded as 'running' (its claim released at once for a parallel job). */
  | {kind: 'started'; runId: number; slot: string | null; periodMs: number | null; previousSuccess: RunRow | null; interrupted: RunRow[]}

export interface EndRequest {
  runId: number
  code: string
  status: RunStatus
  endMs: number
  message: string | null
  /** The claim's token while it is still held (not for a parallel job, whose claim is gone). */
  releaseToken: string | null
  /** The slot of its limit the run holds (by its claim's token, a parallel job's too): freed with the outcome. */
  releaseSlot?: {group: string; token: string}
  /** removeSuccessfulCronLogs, after a success: delete the job's other successful rows. */
  removeOtherSuccesses: boolean
  /** The run was recorded already and crashed after it returned: its outcome is replaced (not an overrun). */
  rerecord?: boolean
  /** The job's alerting, and what its alerts say of the run: the outcome's effect on the incident is written with it. */
  alerting?: Alerting & {startMs: number; slot: string | null; pid: number}
  /** The job's pauseAfterFailures: a failure that makes that many in a row pauses the job, in the same transaction. */
  pauseAfterFailures?: number | null
}

/** What an outcome's record did beside recording it. */
export interface EndResult {
  /** The run was no longer 'running' (its lease had run out and another process recorded it interrupted): its outcome is kept, marked lease_overrun. */
  overran: boolean
  /** The pause this failure made (pauseAfterFailures), if it made one. */
  paused?: PauseInfo
}

/**
 * A run's writes, in two transactions: one before do() (claim, decide again on fresh history,
 * record the dead runs it finds, insert the 'running' row) and one after it (record the outcome,
 * release the claim). Each is atomic, so a run costs two commits (one when its end is chained to
 * the next run's begin); a job that turns out not to be due, or is claimed elsewhere, costs none.
 */
export interface RunRecorder {
  begin<Why>(request: BeginRequest<Why>): Promise<BeginResult<Why>>
  end(request: EndRequest): Promise<EndResult>
  /**
   * One run's end and the next run's begin in one transaction (one commit, not two): the tick does
   * this between the runs of one lane. Atomic like each of them: on a failure nothing was written.
   * Not for a `begin` with a limit (its slots are made outside any claim).
   */
  chain?<Why>(end: EndRequest, begin: BeginRequest<Why>): Promise<{ended: EndResult; begun: BeginResult<Why>}>
}

/** The run recorder in plain SQL (statements.ts), each step a transaction on one connection of the source. */
export class SqlRunRecorder implements RunRecorder {
  private readonly dialect: Dialect
  /** The limit groups whose slots this recorder has made sure of (once each, outside any claim). */
  private readonly slotsMade = new Set<string>()

  /**
   * Not on MySQL: InnoDB's next-key locks make a transaction that ends one run and claims the next
   * a likely party to a deadlock with other servers' claims (one showed in the scheduler's stress
   * run); sqlite has one writer at a time and PostgreSQL no gap locks.
   */
  readonly chain?: RunRecorder['chain']

  constructor(private readonly source: ConnectionSource) {
    this.dialect = source.dialect
    if (this.dialect !== 'mysql') this.chain = (end, begin) => this.chained(end, begin)
  }

  async begin<Why>(request: BeginRequest<Why>): Promise<BeginResult<Why>> {
    const {limit} = request
    if (limit && limit.slots > 0 && !this.slotsMade.has(`${limit.slots} ${limit.group}`)) {
      // On its own, not in the claim's transaction: MySQL's gap locks would make two first inserts deadlock.
      await this.source.use((connection) => write(connection, limits.ensureSlots(this.dialect, limit.group, limit.slots)))
      this.slotsMade.add(`${limit.slots} ${limit.group}`)
    }
    return this.source.use((connection) => inTransaction(connection, () => this.beginIn(connection, request)))
  }

  private async beginIn<Why>(connection: SqlConnection, request: BeginRequest<Why>): Promise<{commit: boolean; value: BeginResult<Why>}> {
    const {code, holder, nowMs, leaseMs} = request
    const leaseNowMs = request.leaseNowMs ?? nowMs
    if (!(await claimJobOn(connection, code, holder, leaseNowMs, leaseMs))) {
      // Who holds it, read in the same transaction (and so tried again with it when the connection fails).
      const [job] = await read(connection, sql.selectJob(code))
      return {commit: false, value: {kind: 'claimed-elsewhere', holder: lockHolderOf(job, this.dialect)}}
    }

    // Decide again on fresh history while holding the claim: another process may have run the job since the tick's snapshot.
    const rows = await read(connection, sql.selectHistories(this.dialect, nowMs, [code], true, request.skewMs))
    let history = historiesFromRows(rows, this.dialect, nowMs, leaseNowMs, request.skewMs).get(code) ?? EMPTY_HISTORY
    const state = request.ledger || request.limit ? await jobStateOn(connection, code) : null
    if (request.ledger) history = {...history, heldToMs: state!.heldToMs, resumedMs: state!.resumedMs}

    // Runs whose lease ran out are dead (isDue already counts them as failures): record them so.
    const interrupted = history.running.some((run) => !isLive(run, nowMs)) ? await interruptStaleRunsOn(connection, code, leaseNowMs) : []
    if (request.alerting) {
      for (const run of interrupted) await recordIncidentOn(connection, request.alerting, {kind: 'run', status: 'interrupted', atMs: run.startMs}, {run: {...run, runId: run.id, slot: run.ranAtTime}})
    }
    const after = request.pauseAfterFailures
    const paused = after && interrupted.length > 0 ? await pauseAfterFailuresOn(connection, code, after, nowMs, request.alerting) : null

    const decision = request.decide(history, paused)
    const skips = request.limit ? heldBackSkips(decision.skips ?? [], state!.heldBackMs, request.limit) : (decision.skips ?? [])
    if (skips.length > 0) {
      await write(connection, ledger.insertSkips(this.dialect, skips.map((skip) => ({code, periodMs: skip.ms, reason: skip.reason})), {host: holder.host, pid: holder.pid, atMs: nowMs}))
      await write(connection, ledger.holdJob(this.dialect, code, skips[skips.length - 1].ms))
      if (request.trimSkipsBeforeMs !== undefined) await write(connection, ledger.oldSkips(this.dialect, request.trimSkipsBeforeMs, {code}))
    }
    if (!decision.start) {
      const declined = {kind: 'declined' as const, why: decision.why, interrupted}
      if (interrupted.length === 0 && skips.length === 0) return {commit: false, value: declined}
      await write(connection, sql.releaseJob(code, holder.token))
      return {commit: true, value: declined}
    }

    const periodMs = decision.periodMs ?? null
    const late = request.limit ? await limitedOn(connection, request, state!.heldBackMs, periodMs) : {startedLateMs: request.startedLateMs}
    if ('limited' in late) return {commit: true, value: {...late.limited, interrupted}}
    const running = sql.insertRun(this.dialect, {code, status: 'running', startMs: nowMs, ranAtTime: decision.slot, host: holder.host, pid: holder.pid, leaseMs, leaseNowMs, forced: request.forced, version: request.version, periodMs, ...late})
    const runId = (await write(connection, running)).lastId!
    if (request.ledger && periodMs !== null) await write(connection, ledger.holdJob(this.dialect, code, periodMs))
    if (request.parallel) await write(connection, sql.releaseJob(code, holder.token))
    const previous = history.lastSuccess ? rows.find((row) => Number(row.id) === history.lastSuccess!.id) : undefined
    return {commit: true, value: {kind: 'started', runId, slot: decision.slot, periodMs, previousSuccess: previous ? runRowOf(previous, this.dialect) : null, interrupted}}
  }

  end(request: EndRequest): Promise<EndResult> {
    return this.source.use((connection) => inTransaction(connection, async () => ({commit: true, value: await this.endIn(connection, request)})))
  }

  private chained<Why>(end: EndRequest, begin: BeginRequest<Why>): Promise<{ended: EndResult; begun: BeginResult<Why>}> {
    return this.source.use((connection) =>
      inTransaction(connection, async () => {
        const ended = await this.endIn(connection, end)
        const begun = await this.beginIn(connection, begin)
        // A begin that would roll back wrote nothing but its claim: that goes, and the end is committed.
        if (!begun.commit && begun.value.kind === 'declined') await write(connection, sql.releaseJob(begin.code, begin.holder.token))
        return {commit: true, value: {ended, begun: begun.value}}
      }),
    )
  }

  private async endIn(connection: SqlConnection, request: EndRequest): Promise<EndResult> {
    const {runId, code, status, endMs, message} = request
    let overran = false
    if (request.rerecord) await write(connection, sql.finishRun(this.dialect, runId, status, endMs, message, {code}))
    else if ((await write(connection, sql.finishRun(this.dialect, runId, status, endMs, message, {code, whileStatus: 'running'}))).changes === 0) {
      overran = (await write(connection, sql.finishOverrun(this.dialect, runId, code, status, endMs, message))).changes === 1
      if (!overran) throw await refusal(connection, request)
    }
    if (request.releaseToken !== null) await write(connection, sql.releaseJob(code, request.releaseToken))
    if (request.releaseSlot) await write(connection, limits.releaseSlot(request.releaseSlot.group, request.releaseSlot.token))
    if (request.removeOtherSuccesses && status === 'succeeded') await write(connection, sql.deleteOtherSuccesses(code, runId))
    // An overrun's interruption was counted when another process recorded it.
    const alerting = request.alerting
    if (alerting && !overran) {
      const run = {runId, status, startMs: alerting.startMs, endMs, slot: alerting.slot, message, host: alerting.reporter, pid: alerting.pid}
      await recordIncidentOn(connection, alerting, {kind: 'run', status, atMs: alerting.startMs}, {run})
    }
    const after = request.pauseAfterFailures
    const paused = after && isFailedStatus(status) ? await pauseAfterFailuresOn(connection, code, after, endMs, alerting) : null
    return paused ? {overran, paused} : {overran}
  }
}

/**
 * The periods a decision skips, with the one the job's limit held back (the latest that had come
 * when it was first held back, unless it came while the job was paused) skipped for its limit:
 * 'limit: reports (2 running)', not for the catch-up policy that closes it afterwards.
 */
export function heldBackSkips(skips: readonly Skip[], heldBackMs: number | null, limit: Limit): readonly Skip[] {
  if (heldBackMs === null) return skips
  // Oldest first: the last one that had come.
  let index = -1
  for (let at = 0; at < skips.length; at++) if (skips[at].ms <= heldBackMs) index = at
  if (index < 0 || skips[index].reason === 'paused') return skips
  return skips.map((skip, at) => (at === index ? {...skip, reason: limitReason(limit.group, limit.slots)} : skip))
}

/**
 * The job's row, read under its claim: a catch-up job's hold (the latest period its ledger accounts
 * for, and its last resume), and since when its limit has held it back.
 */
async function jobStateOn(connection: SqlConnection, code: string): Promise<{heldToMs: number | null; resumedMs: number | null; heldBackMs: number | null}> {
  const [job] = await read(connection, sql.selectJob(code))
  const time = timeCodec(connection.dialect)
  if (job === undefined) return {heldToMs: null, resumedMs: null, heldBackMs: null}
  return {heldToMs: time.fromDb(job.held_to), resumedMs: time.fromDb(job.resumed_at), heldBackMs: time.fromDb(job.held_back_at)}
}

/**
 * A run about to start takes a slot of its limit: slots 1..N in turn, one conditional UPDATE each,
 * until one changes a row (never a read first: two processes cannot both take one). None free: the
 * claim is released and the job marked held back since now, unless it already was for the period it
 * waits to serve. Taken: how late the hold made it (the reason goes with the run), the mark cleared.
 */
async function limitedOn<Why>(connection: SqlConnection, request: BeginRequest<Why>, heldBackMs: number | null, periodMs: number | null): Promise<{limited: {kind: 'limited'; group: string; running: number}} | {startedLateMs?: number | null; lateReason?: string}> {
  const {code, holder, nowMs, leaseMs} = request
  const {group, slots} = request.limit!
  const leaseNowMs = request.leaseNowMs ?? nowMs
  for (let slot = 1; slot <= slots; slot++) {
    if ((await write(connection, limits.takeSlot(connection.dialect, group, slot, {...holder, code}, leaseNowMs, leaseMs))).changes !== 1) continue
    if (heldBackMs === null) return {startedLateMs: request.startedLateMs}
    await write(connection, limits.markHeldBack(connection.dialect, code, null))
    if (periodMs === null || heldBackMs < periodMs) return {startedLateMs: request.startedLateMs}
    return {startedLateMs: Math.max(request.startedLateMs ?? 0, nowMs - heldBackMs, 1), lateReason: limitReason(group)}
  }
  await write(connection, sql.releaseJob(code, holder.token))
  if (heldBackMs === null || periodMs === null || heldBackMs < periodMs) await write(connection, limits.markHeldBack(connection.dialect, code, nowMs))
  return {limited: {kind: 'limited', group, running: slots}}
}

/** An outcome for a run that cannot take it: not in the run log, another job's, or ended already. Never tried again. */
export class OutcomeRefused extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'OutcomeRefused'
  }
}

/** Why the run could not take the outcome, read on the connection that tried. */
async function refusal(connection: SqlConnection, request: EndRequest): Promise<OutcomeRefused> {
  const [row] = await read(connection, sql.selectRuns([request.runId]))
  if (row === undefined) return new OutcomeRefused(`there is no run ${request.runId} in the run log`)
  if (row.code !== request.code) return new OutcomeRefused(`run ${request.runId} is not ${request.code}'s`)
  return new OutcomeRefused(`run ${request.runId} of ${request.code} has ended already (${String(row.status)}): its outcome is not replaced`)
}

/**
 * Take the job's claim, on one connection: the one way a claim is made (the recorder makes it
 * inside its transaction; tests make it to play another process). One conditional UPDATE whose
 * row count says who won; a job that never ran gets its row first, then one more try.
 */
export async function claimJobOn(connection: SqlConnection, code: string, holder: sql.Holder, leaseNowMs: number, leaseMs: number): Promise<boolean> {
  const claim = sql.claimJob(connection.dialect, code, holder, leaseNowMs, leaseMs)
  if ((await write(connection, claim)).changes === 1) return true
  // No row yet (the job never ran), or a live holder: make the row, then try once more.
  if ((await write(connection, sql.ensureJob(connection.dialect, code))).changes === 0) return false
  return (await write(connection, claim)).changes === 1
}
