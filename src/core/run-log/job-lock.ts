import {changesOf, rowsOf, type ConnectionSource} from '../db/connection-source'
import type {Dialect} from '../db/database'
import {lockHolderOf, type LockHolder} from './rows'
import * as ledger from './ledger-statements'
import * as limits from './limit-statements'
import * as sql from './statements'
import {timeCodec} from './time-codec'

export type {LockHolder} from './rows'
export type {Holder} from './statements'

/**
 * A job's claim once it is taken (Laravel's EventMutex, with a lease instead of a 24-hour lock):
 * what the tick does with it while a job runs, and what `manage crons:unlock` does by hand. The
 * claim itself is taken by the run recorder, in the transaction that records the run.
 */
export interface JobLock {
  /** Extend the lease to `leaseMs` after the lease clock's now; false when the claim is no longer ours. */
  renew(code: string, token: string, leaseNowMs: number, leaseMs: number): Promise<boolean>
  release(code: string, token: string): Promise<void>
  holder(code: string): Promise<LockHolder | null>
  /** Is the claim held with a lease that has not run out, by the lease clock? */
  isHeld(code: string, leaseNowMs: number): Promise<boolean>
  /** Free the job's claim whoever holds it (manage crons:unlock). */
  forceRelease(code: string): Promise<boolean>
  /** Extend the lease of the slot of limit `group` that the run with claim token `token` holds; false when it is no longer its own. */
  renewSlot(group: string, token: string, leaseNowMs: number, leaseMs: number): Promise<boolean>
  /** Free that slot, if it is still the run's. */
  releaseSlot(group: string, token: string): Promise<void>
  /** overlap = 'cancelOther': ask the holder of the job's claim to stop its run, for the period at `periodMs`; false when nothing held it, or it was asked already. */
  requestCancel(code: string, periodMs: number): Promise<boolean>
  /** The period that asks the run holding this claim (`token`) to stop, or null. */
  cancelRequested(code: string, token: string): Promise<number | null>
}

/**
 * The claim is the job's row in cron_job: its holder and lease. A crashed holder stops renewing,
 * the lease runs out, and the next claim takes over.
 */
export class SqlJobLock implements JobLock {
  private readonly dialect: Dialect

  constructor(private readonly source: ConnectionSource) {
    this.dialect = source.dialect
  }

  async renew(code: string, token: string, leaseNowMs: number, leaseMs: number): Promise<boolean> {
    return (await changesOf(this.source, sql.renewClaim(this.dialect, code, token, leaseNowMs, leaseMs))) === 1
  }

  async release(code: string, token: string): Promise<void> {
    await changesOf(this.source, sql.releaseJob(code, token))
  }

  async holder(code: string): Promise<LockHolder | null> {
    const [row] = await rowsOf(this.source, sql.selectJob(code))
    return lockHolderOf(row, this.dialect)
  }

  async isHeld(code: string, leaseNowMs: number): Promise<boolean> {
    return (await rowsOf(this.source, sql.selectLiveClaim(this.dialect, code, leaseNowMs))).length > 0
  }

  async forceRelease(code: string): Promise<boolean> {
    return (await changesOf(this.source, sql.forceReleaseJob(code))) === 1
  }

  async renewSlot(group: string, token: string, leaseNowMs: number, leaseMs: number): Promise<boolean> {
    return (await changesOf(this.source, limits.renewSlot(this.dialect, group, token, leaseNowMs, leaseMs))) === 1
  }

  async releaseSlot(group: string, token: string): Promise<void> {
    await changesOf(this.source, limits.releaseSlot(group, token))
  }

  async requestCancel(code: string, periodMs: number): Promise<boolean> {
    return (await changesOf(this.source, ledger.requestCancel(this.dialect, code, periodMs))) === 1
  }

  async cancelRequested(code: string, token: string): Promise<number | null> {
    const [row] = await rowsOf(this.source, ledger.selectCancel(code, token))
    return row === undefined ? null : timeCodec(this.dialect).fromDb(row.cancel_for)
  }
}
