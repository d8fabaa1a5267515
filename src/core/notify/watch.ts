import {isSilent} from '../alerts/silence'
import type {LoadedJob} from '../jobs/load-jobs'
import type {LastTick, RunnerKind} from '../run-log/server-ticks'
import {endedBadly, EMPTY_HISTORY, isLive} from '../schedule/history'
import {isDue, type Decision, type DecisionOptions} from '../schedule/is-due'
import {verdictOf} from '../schedule/verdict'
import {usesLedger} from '../jobs/run-policy'
import {afterSuccess, nextDue} from '../schedule/next-due'
import {DAY_MS, MINUTE_MS} from '../time/units'
import type {JobHistory, PauseInfo, RunSummary} from '../contract/run-types'

/**
 * What a tick notices beside its own jobs' outcomes (pure: tested as a table): that no server
 * ticked for a while (runner_silent, with the runs the gap cost), that one of several servers
 * stopped ticking, that a due period passed with no run while servers were ticking (missed), and
 * that a run is going on well past its timeout or its usual duration (stuck).
 */
export interface WatchInput {
  nowMs: number
  /** This server, and which of its runners this is: its own last tick is one of `ticks`, never reported by itself. */
  host: string
  runner: RunnerKind
  jobs: readonly LoadedJob[]
  histories: ReadonlyMap<string, JobHistory>
  paused: ReadonlyMap<string, PauseInfo>
  resumed: ReadonlyMap<string, number>
  /** The policy jobs' holds (cron_job.held_to): what their ledgers account for is not overdue. */
  held: ReadonlyMap<string, number>
  /** Every runner's last tick (one per server and kind), read before this tick writes its own. */
  ticks: readonly LastTick[]
  /** What every decision takes from the settings (decisionOptions: the zone, the clock-skew allowance). */
  decisions: DecisionOptions
  missedAfterMs: number
  silentAfterMs: number
  graceMs: number
}

export interface Silence {
  lastTickMs: number
  /** Per job: how many runs fell due in the gap, and the first. */
  cost: Array<{code: string; due: number; first: number}>
}

export interface Watch {
  /** No tick on any server for silentAfter or more. */
  silence: Silence | null
  /** Other runners that stopped ticking while some still tick (this server's other kind of runner too). */
  silentHosts: LastTick[]
  missed: Array<{job: LoadedJob; dueMs: number}>
  stuck: Array<{job: LoadedJob; run: RunSummary; why: string}>
}

/** A server silent longer than this is taken out of service, not reported again and again. */
const FORGET_AFTER_MS = 7 * DAY_MS
/** Due runs counted per job in a gap, at most (a per-minute job over a long weekend). */
const MAX_COST = 1440

/** Everything but the missed periods and the gap's cost: cheap enough for the per-minute quick tick. */
export function watchCheaply(input: WatchInput): Pick<Watch, 'silentHosts' | 'stuck'> & {silent: boolean} {
  const lastAny = lastTick(input)
  const silent = lastAny !== null && isSilent(lastAny, input.nowMs, input.silentAfterMs)
  const silentHosts = silent
    ? []
    : input.ticks.filter((runner) => !isSelf(runner, input) && runner.atMs <= input.nowMs && isSilent(runner.atMs, input.nowMs, input.silentAfterMs) && input.nowMs - runner.atMs < FORGET_AFTER_MS)
  const stuck: Watch['stuck'] = []
  for (const job of input.jobs) {
    const history = input.histories.get(job.code) ?? EMPTY_HISTORY
    for (const run of history.running) {
      if (!isLive(run, input.nowMs)) continue
      const why = stuckBecause(job, history, run, input)
      if (why) stuck.push({job, run, why})
    }
  }
  return {silent, silentHosts, stuck}
}

export function watchTick(input: WatchInput): Watch {
  const {silent, silentHosts, stuck} = watchCheaply(input)
  const lastAny = lastTick(input)
  const silence = silent && lastAny !== null ? {lastTickMs: lastAny, cost: gapCost(input, lastAny)} : null
  const missed: Watch['missed'] = []
  // A period that fell due while some server was still ticking and got no run within the grace time.
  if (lastAny !== null) {
    for (const job of input.jobs) {
      const dueMs = overdueSince(job, input)
      if (dueMs !== null && input.nowMs - dueMs >= input.missedAfterMs && lastAny >= dueMs) missed.push({job, dueMs})
    }
  }
  return {silence, silentHosts, stuck, missed}
}

/** The runner doing the watching: its own heartbeat is older than this tick, not silent. */
function isSelf(runner: LastTick, input: WatchInput): boolean {
  return runner.host === input.host && runner.kind === input.runner
}

function lastTick(input: WatchInput): number | null {
  let last: number | null = null
  for (const server of input.ticks) if (server.atMs <= input.nowMs && (last === null || server.atMs > last)) last = server.atMs
  return last
}

/** Since when a due job has been called for without a run: the rule's time, after its last run (and its retry wait) and its resume. */
function overdueSince(job: LoadedJob, input: WatchInput): number | null {
  const history = input.histories.get(job.code) ?? EMPTY_HISTORY
  // A run still going holds the job (it is not started again meanwhile): that is `stuck`'s to judge.
  if (!job.policy.allowParallelRuns && history.running.some((run) => isLive(run, input.nowMs))) return null
  const decisions = {...input.decisions, paused: input.paused.get(job.code) ?? null}
  // A policy job is overdue for the period its policies would run now (its skips are accounted for).
  const decision = usesLedger(job.policy) ? ledgerDue(job, history, input, decisions) : isDue(job.schedule, history, input.nowMs, decisions)
  if (!decision.due || decision.dueSinceMs === undefined) return null
  let since = decision.dueSinceMs
  const last = history.lastRun
  if (last !== null && last.startMs <= input.nowMs) {
    since = Math.max(since, last.startMs + MINUTE_MS)
    if (job.schedule.retryAfterFailureMins && endedBadly(last, input.nowMs)) since = Math.max(since, last.startMs + job.schedule.retryAfterFailureMins * MINUTE_MS)
  }
  const resumed = input.resumed.get(job.code)
  if (resumed !== undefined) since = Math.max(since, resumed)
  return since
}

/**
 * A policy job's decision on its ledger's hold: due since the period its policies would run now, or
 * since the first period they would skip for want of a run (not one that came while it was paused);
 * what its ledger accounts for already is never overdue.
 */
function ledgerDue(job: LoadedJob, history: JobHistory, input: WatchInput, decisions: DecisionOptions): Pick<Decision, 'due' | 'dueSinceMs'> {
  const verdict = verdictOf(job.schedule, job.policy, {...history, heldToMs: input.held.get(job.code) ?? null, resumedMs: input.resumed.get(job.code) ?? null}, input.nowMs, decisions)
  if (verdict.kind === 'due') return {due: true, dueSinceMs: verdict.period?.ms ?? verdict.decision.dueSinceMs}
  const missed = verdict.kind === 'skip' ? verdict.skips.find((skip) => skip.reason !== 'paused') : undefined
  return missed === undefined ? {due: false} : {due: true, dueSinceMs: missed.ms}
}

/** Why a live run looks stuck, or null: well past its timeout (which should have stopped it), else well past its last success's duration. */
function stuckBecause(job: LoadedJob, history: JobHistory, run: RunSummary, input: WatchInput): string | null {
  const running = input.nowMs - run.startMs
  const timeout = job.policy.timeoutMins
  if (timeout !== null) {
    const limit = timeout * MINUTE_MS + input.graceMs + input.missedAfterMs
    return running > limit ? `past its ${timeout} min timeout, which should have stopped it` : null
  }
  const usual = history.lastSuccess?.endMs ? history.lastSuccess.endMs - history.lastSuccess.startMs : null
  if (usual === null || usual < 0) return null
  const limit = Math.max(3 * usual, usual + 10 * MINUTE_MS)
  return running > limit ? `its last successful run took ${Math.max(1, Math.round(usual / 1000))} s` : null
}

/** The runs each job's schedule called for in the gap (each counted as if it had run). */
function gapCost(input: WatchInput, fromMs: number): Silence['cost'] {
  const cost: Silence['cost'] = []
  for (const job of input.jobs) {
    if (input.paused.has(job.code)) continue
    const history = input.histories.get(job.code) ?? EMPTY_HISTORY
    let current = history
    let first: number | null = null
    let due = 0
    for (let from = fromMs + MINUTE_MS; due < MAX_COST; due++) {
      const next = nextDue(job.schedule, current, from, input.decisions)
      if (next === null || next.atMs > input.nowMs) break
      first ??= next.atMs
      current = afterSuccess(current, job.code, next.atMs, next.slot)
      from = next.atMs + MINUTE_MS
    }
    if (first !== null) cost.push({code: job.code, due, first})
  }
  return cost
}
