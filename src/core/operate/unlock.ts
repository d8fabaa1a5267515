import {changesOf, rowsOf, type ConnectionSource} from '../db/connection-source'
import {CommandError} from '../base/errors'
import {shown} from '../base/text'
import {SqlJobLock, type LockHolder} from '../run-log/job-lock'
import {SqlRunStore} from '../run-log/run-store'
import * as limits from '../run-log/limit-statements'
import * as sql from '../run-log/statements'

/** What an unlock did, or why it did nothing. */
export type UnlockResult =
  /** Released; `wasLive`: its lease was still alive (only with force); `interrupted`: 'running' rows recorded as interrupted. */
  | {kind: 'released'; holder: LockHolder; wasLive: boolean; interrupted: number}
  | {kind: 'not-locked'}
  /** No job with this code has run on this database; `known`: some codes that have. */
  | {kind: 'unknown-job'; code: string; known: string[]}
  /** Its lease is still being renewed (by a live process), and force was not given. */
  | {kind: 'held'; code: string; holder: LockHolder}

export type UnlockRefusal = Extract<UnlockResult, {kind: 'unknown-job' | 'held'}>

/** An unlock that was not refused, as `manage crons:unlock` and the shell's unlockJob report it. */
export interface UnlockReport {
  /** False when the job was not locked. */
  released: boolean
  holder: LockHolder | null
  /** The lease was still alive (only with force). */
  wasLive: boolean
  /** How many 'running' rows were recorded as interrupted. */
  interrupted: number
}

/**
 * Release a job's claim by hand, and the slots of its limit its runs hold. A live lease means a
 * process is still renewing it, so it is refused unless `force`; the job's running rows are recorded
 * as interrupted. `nowMs` is the time
 * recorded (MANAGE_NOW may pin it); leases are judged by `leaseNowMs`, a real clock's.
 */
export async function unlock(source: ConnectionSource, code: string, options: {force: boolean; nowMs: number; leaseNowMs: number}): Promise<UnlockResult> {
  const lock = new SqlJobLock(source)
  const store = new SqlRunStore(source)
  const [known] = await rowsOf(source, sql.selectJob(code))
  if (!known) return {kind: 'unknown-job', code, known: (await rowsOf(source, sql.selectJobCodes(20))).map((row) => String(row.code))}
  const holder = await lock.holder(code)
  if (!holder) return {kind: 'not-locked'}
  const live = await lock.isHeld(code, options.leaseNowMs)
  if (live && !options.force) return {kind: 'held', code, holder}
  await lock.forceRelease(code)
  // The slots of its limit its runs hold go with the claim (they would otherwise wait for their leases).
  await changesOf(source, limits.releaseSlotsOf(code))
  const interrupted = live
    ? await store.interruptRunning(code, options.nowMs, `interrupted: released by hand (manage crons:unlock --force) from pid ${holder.pid ?? '?'} on ${holder.host ?? '?'}`)
    : (await store.interruptStaleRuns(code, options.leaseNowMs)).length
  return {kind: 'released', holder, wasLive: live, interrupted}
}

/**
 * Why an unlock was refused, in one line. A held claim's line ends with how to force it, which
 * each front end says its own way (`forceHint`: the CLI's flag, or the dashboard's pointer to it).
 */
export function unlockRefusal(refusal: UnlockRefusal, forceHint: string): string {
  if (refusal.kind === 'unknown-job') {
    const {code, known} = refusal
    return `no job with the code ${shown(code)} has run on this database${known.length ? ` (known: ${known.map((one) => shown(one)).join(', ')})` : ''}: give a job's code, not its class name`
  }
  const {code, holder} = refusal
  const since = holder.lockedMs === null ? '?' : new Date(holder.lockedMs).toISOString()
  const until = holder.leaseExpiresMs === null ? '?' : new Date(holder.leaseExpiresMs).toISOString()
  return `${shown(code)} is held by pid ${holder.pid ?? '?'} on ${holder.host ?? '?'} since ${since}, and its lease (until ${until}) is still being renewed: stop that process, wait for the lease to run out${forceHint}`
}

/** How the CLI says a held claim can be forced. */
const CLI_FORCE_HINT = ', or pass --force if you are sure it is gone'

/** The CLI's reading of an unlock: a report, or the refusal as a CommandError. */
export function reportOrRefuse(result: UnlockResult): UnlockReport {
  if (result.kind === 'unknown-job' || result.kind === 'held') throw new CommandError(unlockRefusal(result, CLI_FORCE_HINT))
  if (result.kind === 'not-locked') return {released: false, holder: null, wasLive: false, interrupted: 0}
  return {released: true, holder: result.holder, wasLive: result.wasLive, interrupted: result.interrupted}
}

/** unlock, read as the CLI reads it (a refusal throws): the shell's `manage.unlockJob`. */
export async function unlockJob(source: ConnectionSource, code: string, options: {force: boolean; nowMs: number; leaseNowMs: number}): Promise<UnlockReport> {
  return reportOrRefuse(await unlock(source, code, options))
}
