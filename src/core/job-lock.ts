import type {Knex} from 'knex'
import type {Dialect} from './database'
import {claimJob, ensureJob, releaseJob, type Holder} from './run-sql'
import {withKnexConnection} from './sql-connection'
import {leaseClock, timeCodec, type LeaseClock, type TimeCodec} from './time-codec'

export type {Holder} from './run-sql'

export interface LockHolder {
  host: string | null
  pid: number | null
  lockedMs: number | null
  leaseExpiresMs: number | null
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
 * (Deferred read-then-write transactions on sqlite fail with SQLITE_BUSY under contention: see NOTES.)
 */
export class KnexJobLock implements JobLock {
  private readonly time: TimeCodec
  private readonly lease: LeaseClock

  constructor(
    private readonly db: Knex,
    private readonly dialect: Dialect,
  ) {
    this.time = timeCodec(dialect)
    this.lease = leaseClock(db, dialect)
  }

  async claim(code: string, holder: Holder, nowMs: number, leaseMs: number): Promise<boolean> {
    const claim = claimJob(this.dialect, code, holder, nowMs, leaseMs)
    return withKnexConnection(this.db, this.dialect, async (connection) => {
      if ((await connection.run(claim.sql, claim.bindings)).changes === 1) return true
      // No row yet (first run of this job) or a live holder: create the row free, then try once more.
      const row = ensureJob(this.dialect, code)
      if ((await connection.run(row.sql, row.bindings)).changes === 0) return false
      return (await connection.run(claim.sql, claim.bindings)).changes === 1
    })
  }

  async renew(code: string, token: string, nowMs: number, leaseMs: number): Promise<boolean> {
    const changed = await this.db('cron_job')
      .where({code, lock_token: token})
      .update({lease_expires_at: this.lease.after(nowMs, leaseMs)})
    return changed === 1
  }

  async release(code: string, token: string): Promise<void> {
    const {sql, bindings} = releaseJob(code, token)
    await withKnexConnection(this.db, this.dialect, (connection) => connection.run(sql, bindings))
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
