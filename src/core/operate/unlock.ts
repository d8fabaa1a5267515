import {rowsOf, type ConnectionSource} from '../db/connection-source'
import {CommandError} from '../base/errors'
import {shown} from '../base/text'
import {SqlJobLock, type LockHolder} from '../run-log/job-lock'
import {SqlRunStore} from '../run-log/run-store'
import * as sql from '../run-log/statements'

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
 * Release a job's claim by hand (manage crons:unlock). A live lease means a process is still
 * renewing it, so it is refused unless `force`; the job's running rows are recorded as interrupted.
 * `nowMs` is the time recorded (MANAGE_NOW may pin it); leases are judged by `leaseNowMs`, a real clock's.
 */
export async function unlockJob(source: ConnectionSource, code: string, options: {force: boolean; nowMs: number; leaseNowMs: number}): Promise<UnlockReport> {
  const lock = new SqlJobLock(source)
  const store = new SqlRunStore(source)
  const [known] = await rowsOf(source, sql.selectJob(code))
  if (!known) {
    const codes = (await rowsOf(source, sql.selectJobCodes(20))).map((row) => String(row.code))
    throw new CommandError(`no job with the code ${shown(code)} has run on this database${codes.length ? ` (known: ${codes.map((known) => shown(known)).join(', ')})` : ''}: give a job's code, not its class name`)
  }
  const holder = await lock.holder(code)
  if (!holder) return {released: false, holder: null, wasLive: false, interrupted: 0}
  const live = await lock.isHeld(code, options.leaseNowMs)
  if (live && !options.force) {
    const since = holder.lockedMs === null ? '?' : new Date(holder.lockedMs).toISOString()
    const until = holder.leaseExpiresMs === null ? '?' : new Date(holder.leaseExpiresMs).toISOString()
    throw new CommandError(
      `${shown(code)} is held by pid ${holder.pid ?? '?'} on ${holder.host ?? '?'} since ${since}, and its lease (until ${until}) is still being renewed: ` +
        'stop that process, wait for the lease to run out, or pass --force if you are sure it is gone',
    )
  }
  await lock.forceRelease(code)
  const interrupted = live
    ? await store.interruptRunning(code, options.nowMs, `interrupted: released by hand (manage crons:unlock --force) from pid ${holder.pid ?? '?'} on ${holder.host ?? '?'}`)
    : (await store.interruptStaleRuns(code, options.leaseNowMs)).length
  return {released: true, holder, wasLive: live, interrupted}
}
