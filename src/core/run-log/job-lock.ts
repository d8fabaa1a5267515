import type {Knex} from 'knex'
import type {Dialect} from '../db/database'
import {changesOf, knexSource, rowsOf, type ConnectionSource} from '../db/connection-source'
import {claimJob, ensureJob, forceReleaseJob, releaseJob, renewClaim, selectLiveClaim, type Holder} from './statements'
import {timeCodec, type TimeCodec} from './time-codec'

export type {Holder} from './statements'

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
export class SqlJobLock implements JobLock {
  private readonly dialect: Dialect
  private readonly time: TimeCodec

  constructor(private readonly source: ConnectionSource) {
    this.dialect = source.dialect
    this.time = timeCodec(source.dialect)
  }

  claim(code: string, holder: Holder, nowMs: number, leaseMs: number): Promise<boolean> {
    const claim = claimJob(this.dialect, code, holder, nowMs, leaseMs)
    return this.source.use(async (connection) => {
      if ((await connection.run(claim.sql, claim.bindings)).changes === 1) return true
      // No row yet (first run of this job) or a live holder: create the row free, then try once more.
      const row = ensureJob(this.dialect, code)
      if ((await connection.run(row.sql, row.bindings)).changes === 0) return false
      return (await connection.run(claim.sql, claim.bindings)).changes === 1
    })
  }

  async renew(code: string, token: string, nowMs: number, leaseMs: number): Promise<boolean> {
    return (await changesOf(this.source, renewClaim(this.dialect, code, token, nowMs, leaseMs))) === 1
  }

  async release(code: string, token: string): Promise<void> {
    await changesOf(this.source, releaseJob(code, token))
  }

  async forceRelease(code: string): Promise<boolean> {
    return (await changesOf(this.source, forceReleaseJob(code))) === 1
  }

  async isHeld(code: string, nowMs: number): Promise<boolean> {
    return (await rowsOf(this.source, selectLiveClaim(this.dialect, code, nowMs))).length > 0
  }

  async holder(code: string): Promise<LockHolder | null> {
    const [row] = await rowsOf(this.source, {sql: 'SELECT * FROM cron_job WHERE code = ?', bindings: [code]})
    if (!row || row.lock_token === null) return null
    return {
      host: (row.lock_host as string | null) ?? null,
      pid: row.lock_pid === null ? null : Number(row.lock_pid),
      lockedMs: this.time.fromDb(row.locked_at),
      leaseExpiresMs: this.time.fromDb(row.lease_expires_at),
    }
  }
}

/** The lock over knex's connections (commands and tests). */
export class KnexJobLock extends SqlJobLock {
  constructor(db: Knex, dialect: Dialect) {
    super(knexSource(db, dialect))
  }
}
