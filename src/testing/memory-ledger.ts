import type {SkippedPeriod} from '../core/contract/run-types'

/** A skip as the memory run log keeps it (cron_skip's columns that matter). */
export interface KeptSkip {
  code: string
  periodMs: number
  reason: string
}

/** The period ledger's skips in memory, as the SQL keeps them: one per (code, period), read newest first. */
export class MemoryLedger {
  readonly skips: KeptSkip[] = []

  /** Record skips; a period already recorded is left as it is. */
  add(code: string, skips: ReadonlyArray<{ms: number; reason: string}>): void {
    for (const skip of skips) if (!this.skips.some((kept) => kept.code === code && kept.periodMs === skip.ms)) this.skips.push({code, periodMs: skip.ms, reason: skip.reason})
  }

  list(query: {code?: string; sinceMs?: number; limit: number}): SkippedPeriod[] {
    return this.skips
      .map((skip, index) => ({id: index + 1, code: skip.code, periodMs: skip.periodMs, reason: skip.reason, recordedMs: skip.periodMs, host: null, pid: null}))
      .filter((skip) => (query.code === undefined || skip.code === query.code) && (query.sinceMs === undefined || skip.periodMs >= query.sinceMs))
      .sort((a, b) => b.periodMs - a.periodMs || b.id - a.id)
      .slice(0, query.limit)
  }

  /** The skips before `cutoffMs`, deleted unless only counted. */
  drop(cutoffMs: number, dryRun: boolean): number {
    const old = this.skips.filter((skip) => skip.periodMs < cutoffMs)
    if (!dryRun) for (const skip of old) this.skips.splice(this.skips.indexOf(skip), 1)
    return old.length
  }

  /** A transaction's copy, and its restore. */
  save(): KeptSkip[] {
    return [...this.skips]
  }

  restore(saved: readonly KeptSkip[]): void {
    this.skips.splice(0, this.skips.length, ...saved)
  }
}
