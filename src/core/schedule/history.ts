import {isFailedStatus, type JobHistory, type RunSummary} from '../contract/run-types'
import {HOUR_MS} from '../time/units'


export const EMPTY_HISTORY: JobHistory = {lastRun: null, lastSuccess: null, running: [], recentSlotRuns: []}

/** The window of slot runs a history must hold: "today" in any zone falls inside it. */
export const SLOT_WINDOW_MS = 50 * HOUR_MS

/** A 'running' row whose holder is still renewing its lease. */
export function isLive(run: RunSummary, nowMs: number): boolean {
  return run.status === 'running' && run.leaseExpiresMs !== null && run.leaseExpiresMs > nowMs
}

/** A run that ended badly: failed, interrupted, timed out, or 'running' with a lease nobody renews any more. */
export function endedBadly(run: RunSummary, nowMs: number): boolean {
  return isFailedStatus(run.status) || (run.status === 'running' && !isLive(run, nowMs))
}

/** Newest first: by start time, then by id (two rows can share a start time). */
function newer(a: RunSummary, b: RunSummary): boolean {
  return a.startMs > b.startMs || (a.startMs === b.startMs && a.id > b.id)
}

/**
 * The history of one job from its raw rows, exactly as the run store's query builds it.
 * Tests use it to state histories as lists of runs, and to check the store's SQL against it.
 * Rows that start after `nowMs + skewMs` are left out (see DecisionOptions.clockSkewMs).
 */
export function historyFromRuns(runs: readonly RunSummary[], nowMs: number, skewMs = 0): JobHistory {
  let lastRun: RunSummary | null = null
  let lastSuccess: RunSummary | null = null
  const running: RunSummary[] = []
  const recentSlotRuns: RunSummary[] = []
  for (const run of runs) {
    if (run.status === 'running') running.push(run)
    if (run.startMs > nowMs + skewMs) continue
    if (lastRun === null || newer(run, lastRun)) lastRun = run
    if (run.status === 'succeeded') {
      if (lastSuccess === null || newer(run, lastSuccess)) lastSuccess = run
      if (run.ranAtTime !== null && run.startMs >= nowMs - SLOT_WINDOW_MS) recentSlotRuns.push(run)
    }
  }
  return {lastRun, lastSuccess, running, recentSlotRuns}
}
