import {decisionOptions, type Settings} from '../project/settings'
import {nextDue} from '../schedule/next-due'
import type {TickPlan} from '../tick/plan'
import {historyOf} from '../tick/snapshot'

/** The longest a scheduler sleeps: it reads the run log at least this often (pauses, resumes, runs by hand, other servers' runs). */
export const MAX_SLEEP_MS = 60_000

/** How often at most the scheduler records its server's tick (cron_tick), whatever the number of wakes. */
export const HEARTBEAT_EVERY_MS = 30_000

export interface NextWake {
  atMs: number
  /** The job whose due instant it is, or null: the read at least once a minute. */
  code: string | null
}

/**
 * When the scheduler wakes next, from a plan made at `nowMs`: the earliest instant at which a job
 * not due now falls due (next-due.ts, the decision the tick makes), or a running job's lease runs
 * out (it may then be recovered), capped at `capMs` from now. A job the plan finds due, or that
 * this scheduler has in hand (`inHand`: waiting for a slot or running), is left out: its run's end
 * makes the scheduler plan again; unless it is `held` (it started here this minute already: due
 * again, it waits for the instant held says, the next minute boundary). A paused job has no next
 * instant.
 */
export function nextWake(plan: Pick<TickPlan, 'jobs' | 'snapshot' | 'verdicts'>, settings: Pick<Settings, 'timeZone' | 'clockSkewMs'>, nowMs: number, inHand: ReadonlySet<string> = new Set(), capMs = MAX_SLEEP_MS, held: ReadonlyMap<string, number> = new Map()): NextWake {
  let wake: NextWake = {atMs: nowMs + capMs, code: null}
  for (const job of plan.jobs) {
    if (inHand.has(job.code)) continue
    const verdict = plan.verdicts.get(job.code)
    let atMs: number | null = null
    if (verdict?.kind === 'due') atMs = held.get(job.code) ?? null
    else if (verdict?.kind === 'running-elsewhere') atMs = verdict.run.leaseExpiresMs
    else if (verdict?.kind === 'not-due') {
      const options = {...decisionOptions(settings, {paused: plan.snapshot.paused.get(job.code) ?? null}), inclusive: false}
      atMs = nextDue(job.schedule, historyOf(plan.snapshot, job.code), nowMs, options)?.atMs ?? null
    }
    if (atMs !== null && atMs > nowMs && atMs < wake.atMs) wake = {atMs, code: job.code}
  }
  return wake
}

/** The minute boundary after `nowMs`: a job started here in a minute is not started here again before it. */
export function minuteAfter(nowMs: number): number {
  return Math.floor(nowMs / 60_000) * 60_000 + 60_000
}

/** Whether this wake records the server's tick: the first one, then at most every `everyMs`. */
export function heartbeatDue(lastMs: number | null, nowMs: number, everyMs = HEARTBEAT_EVERY_MS): boolean {
  return lastMs === null || nowMs - lastMs >= everyMs || nowMs < lastMs
}
