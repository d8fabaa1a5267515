import type {Knex} from 'knex'
import type {Dialect} from './database'
import {leaseClock, timeCodec, type LeaseClock, type TimeCodec} from './time-codec'

export interface LockHolder {
  host: string | null
  pid: number | null
  lockedMs: number | null
  leaseExpiresMs: number | null
}

export interface Holder {
  token: string
  host: string
  pid: number
}

/**
 * A per-job mutual exclusion with a lease (Laravel's EventMutex, without the 24-hour lock):
 * a crashed holder stops renewing, the lease runs out, and the next claim takes over.
 */
export interface JobLock {
  /** Take the job's lock if it is free or its lease has run out. Atomic across processes. */
  claim(code: string, holder: Holder, nowMs: number, leaseMs: number): Promise<boolean>
  /** Extend the lease; false when the lock is no longer ours. */
  renew(code: string, token: string, nowMs: number, leaseMs: number): Promise<boolean>
  release(code: string, token: string): Promise<void>
  holder(code: string): Promise<LockHolder | null>
  /** Free the job's lock whoever holds it (manage crons:unlock). */
  forceRelease(code: string): Promise<boolean>
  /** Is the lock held with a lease that has not run out, by the lease clock? */
  isHeld(code: string, nowMs: number): Promise<boolean>
}

/**
 * The lock is the job's row in cron_job. A claim is one conditional UPDATE whose row count
 * says who won: on every database only one UPDATE can change the row from free to taken.
 * (Read-then-write transactions on sqlite fail with SQLITE_BUSY under contention: see NOTES.)
 */
export class KnexJobLock implements JobLock {
  private readonly time: TimeCodec
  private readonly lease: LeaseClock

  constructor(
    private readonly db: Knex,
    dialect: Dialect,
  ) {
    this.time = timeCodec(dialect)
    this.lease = leaseClock(db, dialect)
  }

  async claim(code: string, holder: Holder, nowMs: number, leaseMs: number): Promise<boolean> {
    if (await this.take(code, holder, nowMs, leaseMs)) return true
    // No row yet (first run of this job) or a live holder: create the row free, then try once more.
    await this.db('cron_job').insert({code}).onConflict('code').ignore()
    return this.take(code, holder, nowMs, leaseMs)
  }

  private async take(code: string, holder: Holder, nowMs: number, leaseMs: number): Promise<boolean> {
    const changed = await this.db('cron_job')
      .where('code', code)
      .andWhere((q) => q.whereNull('lease_expires_at').orWhere('lease_expires_at', '<=', this.lease.now(nowMs)))
      .update({
        lock_token: holder.token,
        lock_host: holder.host,
        lock_pid: holder.pid,
        locked_at: this.lease.now(nowMs),
        lease_expires_at: this.lease.after(nowMs, leaseMs),
      })
    return changed === 1
  }

  async renew(code: string, token: string, nowMs: number, leaseMs: number): Promise<boolean> {
    const changed = await this.db('cron_job')
      .where({code, lock_token: token})
      .update({lease_expires_at: this.lease.after(nowMs, leaseMs)})
    return changed === 1
  }

  async release(code: string, token: string): Promise<void> {
    await this.db('cron_job')
      .where({code, lock_token: token})
      .update({lock_token: null, lock_host: null, lock_pid: null, locked_at: null, lease_expires_at: null})
  }

  async forceRelease(code: string): Promise<boolean> {
    const changed = await this.db('cron_job')
      .where('code', code)
      .whereNotNull('lock_token')
      .update({lock_token: null, lock_host: null, lock_pid: null, locked_at: null, lease_expires_at: null})
    return changed === 1
  }

  async isHeld(code: string, nowMs: number): Promise<boolean> {
    const row = await this.db('cron_job').where('code', code).whereNotNull('lock_token').where('lease_expires_at', '>', this.lease.now(nowMs)).first('code')
    return row !== undefined
  }

  async holder(code: string): Promise<LockHolder | null> {
    const row = await this.db('cron_job').where('code', code).first()
    if (!row || row.lock_token === null) return null
    return {
      host: row.lock_host ?? null,
      pid: row.lock_pid === null ? null : Number(row.lock_pid),
      lockedMs: this.time.fromDb(row.locked_at),
      leaseExpiresMs: this.time.fromDb(row.lease_expires_at),
    }
  }
}
