import {decisionOptions, type Settings} from '../project/settings'
import type {LoadedJob} from '../jobs/load-jobs'
import {usesLedger} from '../jobs/run-policy'
import {nextPeriodMs} from '../schedule/catch-up'
import {nextDue} from '../schedule/next-due'
import {isSubMinute, periodEnd} from '../schedule/period'
import {MINUTE_MS} from '../time/units'
import type {RunSummary} from '../contract/run-types'
import type {TickPlan} from '../tick/plan'
import type {Verdict} from '../schedule/verdict'
import {historyOf} from '../tick/snapshot'

/** The longest a scheduler sleeps: it reads the run log at least this often (pauses, resumes, runs by hand, other servers' runs). */
export const MAX_SLEEP_MS = 60_000

/** How often at most the scheduler records its server's tick (cron_tick), whatever the number of wakes. */
export const HEARTBEAT_EVERY_MS = 30_000

export interface NextWake {
  atMs: number
  /** The job whose due instant it is, or null: the read at least once a minute. */
  code: string | null
  /** Each job's next instant after `nowMs`, uncapped (a job with none is left out): a scheduler keeps them between wakes. */
  instants: Map<string, number>
}

/**
 * When the scheduler wakes next, from a plan made at `nowMs`: the earliest instant at which a job
 * not due now falls due (next-due.ts, the decision the tick makes), or a running job's lease runs
 * out (it may then be recovered), capped at `capMs` from now. A job of the crontab's pace falls due
 * on a minute boundary, as under cron; a sub-minute job at its exact instant (1 ms ticks: the
 * interval rule's own "not before" + 1 ms, so every N s is every N s, not N + 1; a cron slot's
 * second), and while another server runs it, at the end of the period that run took (it may then
 * be due again). A job the plan finds due, or that this scheduler has in hand (`inHand`: waiting
 * for a slot or running), is left out: its run's end makes the scheduler plan again (a cancelOther
 * job's run is not: its next period asks it to stop). `held` (a
 * job's period after it started here, see periodEnd) puts off any job's instant to its end. A
 * paused job has no next instant.
 */
export function nextWake(plan: Pick<TickPlan, 'jobs' | 'snapshot' | 'verdicts'>, settings: Pick<Settings, 'timeZone' | 'clockSkewMs'>, nowMs: number, inHand: ReadonlySet<string> = new Set(), capMs = MAX_SLEEP_MS, held: ReadonlyMap<string, number> = new Map()): NextWake {
  const instants = new Map<string, number>()
  let wake: NextWake = {atMs: nowMs + capMs, code: null, instants}
  for (const job of plan.jobs) {
    const verdict = plan.verdicts.get(job.code)
    const heldUntil = held.get(job.code) ?? null
    let atMs: number | null = null
    // In hand, its run's end makes the scheduler plan again; but a cancelOther job's next period must stop it first.
    if (inHand.has(job.code)) atMs = cancelAt(job, verdict, plan, settings, nowMs)
    else if (verdict?.kind === 'due' || verdict?.kind === 'skip') atMs = cancelAt(job, verdict, plan, settings, nowMs) ?? heldUntil
    else if (verdict?.kind === 'running-elsewhere') {
      atMs = elsewhereUntil(job, verdict.run, settings, nowMs)
      const next = cancelAt(job, verdict, plan, settings, nowMs)
      if (next !== null) atMs = atMs === null ? next : Math.min(atMs, next)
    } else if (verdict?.kind === 'not-due' && usesLedger(job.policy) && plan.snapshot.state.held.has(job.code)) {
      atMs = nextPeriodMs(job.schedule, plan.snapshot.state.held.get(job.code)!, nowMs, job.schedule.timeZone ?? settings.timeZone)
    } else if (verdict?.kind === 'not-due') {
      const options = {...decisionOptions(settings, {paused: plan.snapshot.paused.get(job.code) ?? null}), inclusive: false, tickMs: isSubMinute(job.schedule) ? 1 : MINUTE_MS}
      atMs = nextDue(job.schedule, historyOf(plan.snapshot, job.code), nowMs, options)?.atMs ?? null
    }
    if (atMs !== null && heldUntil !== null) atMs = Math.max(atMs, heldUntil)
    if (atMs === null || atMs <= nowMs) continue
    instants.set(job.code, atMs)
    if (atMs < wake.atMs) wake = {atMs, code: job.code, instants}
  }
  return wake
}

/**
 * overlap = 'cancelOther': the next period after the one its live run serves (about to start here,
 * or running anywhere), at which that run is asked to stop; null for any other job, or once asked.
 */
function cancelAt(job: LoadedJob, verdict: Verdict | undefined, plan: Pick<TickPlan, 'snapshot'>, settings: Pick<Settings, 'timeZone'>, nowMs: number): number | null {
  if (job.policy.overlap !== 'cancelOther') return null
  const serving = verdict?.kind === 'due' ? (verdict.period?.ms ?? null) : verdict?.kind === 'running-elsewhere' && verdict.cancelFor === undefined ? (plan.snapshot.state.held.get(job.code) ?? null) : null
  return serving === null ? null : nextPeriodMs(job.schedule, serving, nowMs, job.schedule.timeZone ?? settings.timeZone)
}

/**
 * A job another server is running: its lease's end (it may then be recovered); for a sub-minute
 * job, the end of the period its run took if sooner, or, that run outlasting its period, the end
 * of one more period from now (never sooner: no loop while it runs).
 */
function elsewhereUntil(job: LoadedJob, run: RunSummary, settings: Pick<Settings, 'timeZone'>, nowMs: number): number | null {
  if (!isSubMinute(job.schedule)) return run.leaseExpiresMs
  const ended = periodEnd(job.schedule, run.startMs, settings.timeZone)
  const periodMs = ended > nowMs ? ended : periodEnd(job.schedule, nowMs, settings.timeZone)
  return run.leaseExpiresMs === null ? periodMs : Math.min(run.leaseExpiresMs, periodMs)
}

/** Whether this wake records the server's tick: the first one, then at most every `everyMs`. */
export function heartbeatDue(lastMs: number | null, nowMs: number, everyMs = HEARTBEAT_EVERY_MS): boolean {
  return lastMs === null || nowMs - lastMs >= everyMs || nowMs < lastMs
}
