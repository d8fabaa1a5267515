import type {Knex} from 'knex'
import type {Dialect} from '../db/database'
import {CommandError} from '../errors'
import {KnexJobLock, type LockHolder} from './job-lock'
import {KnexRunStore} from './run-store'

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
 */
export async function unlockJob(db: Knex, dialect: Dialect, code: string, options: {force: boolean; nowMs: number}): Promise<UnlockReport> {
  const lock = new KnexJobLock(db, dialect)
  const store = new KnexRunStore(db, dialect)
  const known = await db('cron_job').where('code', code).first('code')
  if (!known) {
    const codes = (await db('cron_job').orderBy('code').limit(20).pluck('code')) as string[]
    throw new CommandError(`no job with the code '${code}' has run on this database${codes.length ? ` (known: ${codes.join(', ')})` : ''}: give a job's code, not its class name`)
  }
  const holder = await lock.holder(code)
  if (!holder) return {released: false, holder: null, wasLive: false, interrupted: 0}
  const live = await lock.isHeld(code, options.nowMs)
  if (live && !options.force) {
    const since = holder.lockedMs === null ? '?' : new Date(holder.lockedMs).toISOString()
    const until = holder.leaseExpiresMs === null ? '?' : new Date(holder.leaseExpiresMs).toISOString()
    throw new CommandError(
      `'${code}' is held by pid ${holder.pid ?? '?'} on ${holder.host ?? '?'} since ${since}, and its lease (until ${until}) is still being renewed: ` +
        'stop that process, wait for the lease to run out, or pass --force if you are sure it is gone',
    )
  }
  await lock.forceRelease(code)
  const interrupted = live
    ? await store.interruptRunning(code, options.nowMs, `interrupted: released by hand (manage crons:unlock --force) from pid ${holder.pid ?? '?'} on ${holder.host ?? '?'}`)
    : (await store.interruptStaleRuns(code, options.nowMs)).length
  return {released: true, holder, wasLive: live, interrupted}
}
