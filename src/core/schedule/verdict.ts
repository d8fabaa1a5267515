import {usesLedger, type Overlap, type RunPolicy} from '../jobs/run-policy'
import type {Schedule} from '../jobs/schedule'
import {luxon} from '../time/luxon'
import {CATCH_UP_MOST, catchUpAnswer, unaccountedPeriods, type CatchUpAnswer, type Skip} from './catch-up'
import {isLive} from './history'
import {answers, isDue, type Decision, type DecisionOptions} from './is-due'
import {missedAfterMs, minuteOf, type Period} from './periods'
import type {JobHistory, RunSummary} from '../contract/run-types'

/**
 * What one job's history says at `nowMs`, before anything is claimed: a live run of it holds the
 * period (unless its policy allows parallel runs), else its schedule's decision, and for a job with
 * a catch-up policy what that policy does with the periods not accounted for: run one (`period`,
 * after recording `skips`), or only record skips. The tick asks it of its snapshot and again on
 * fresh history once the claim is held; the fast path asks it to see that nothing is due.
 */
export type Verdict =
  /** `cancelFor`: overlap = 'cancelOther', and a newer period (this instant) has come: the live run is to be asked to stop. */
  | {kind: 'running-elsewhere'; run: RunSummary; cancelFor?: number}
  | {kind: 'due'; decision: Decision; period?: Period; skips?: Skip[]}
  | {kind: 'not-due' | 'paused'; decision: Decision}
  | {kind: 'skip'; decision: Decision; skips: Skip[]}

export type VerdictPolicy = Pick<RunPolicy, 'allowParallelRuns' | 'catchUp' | 'catchUpWindowMs' | 'overlap'>

export function verdictOf(schedule: Schedule, policy: VerdictPolicy, history: JobHistory, nowMs: number, options: DecisionOptions): Verdict {
  if (!policy.allowParallelRuns) {
    const run = history.running.find((running) => isLive(running, nowMs))
    if (run) return policy.overlap === 'cancelOther' ? cancelling(schedule, run, history, nowMs, options) : {kind: 'running-elsewhere', run}
  }
  const decision = isDue(schedule, history, nowMs, options)
  // A retry wait holds a catch-up job back as any other; --force runs it whatever its periods say.
  if (usesLedger(policy) && !options.force && !(decision.rule === 'retry' && !decision.due)) return ledgerVerdict(schedule, policy, history, nowMs, options, decision)
  return plainVerdict(decision)
}

/** A cancelOther job's live run, and the latest period that has come since the one it serves, if any. */
function cancelling(schedule: Schedule, run: RunSummary, history: JobHistory, nowMs: number, options: DecisionOptions): Verdict {
  const found = options.paused ? null : unaccountedPeriods(schedule, history, nowMs, schedule.timeZone ?? options.timeZone)
  const newer = found?.periods.filter((period) => period.ms > run.startMs) ?? []
  return newer.length === 0 ? {kind: 'running-elsewhere', run} : {kind: 'running-elsewhere', run, cancelFor: newer[newer.length - 1].ms}
}

function plainVerdict(decision: Decision, period?: Period): Verdict {
  if (decision.due) return period ? {kind: 'due', decision, period} : {kind: 'due', decision}
  return {kind: decision.rule === 'paused' ? 'paused' : 'not-due', decision}
}

/**
 * A ledger job's verdict (a catch-up or overlap policy): its policies on the periods since the
 * latest one accounted for. The periods that came while it was paused (up to its resume) are
 * skipped as such; those that fell due while its last run was live go to its overlap policy, the
 * others (missed: nothing ran) to its catch-up policy ('latest' when it sets only an overlap, as
 * django-cron runs a job once for its latest period). A first run (nothing accounted for yet) is as
 * isDue says, serving the period it falls in.
 */
function ledgerVerdict(schedule: Schedule, policy: VerdictPolicy, history: JobHistory, nowMs: number, options: DecisionOptions, decision: Decision): Verdict {
  const zone = schedule.timeZone ?? options.timeZone
  const found = unaccountedPeriods(schedule, history, nowMs, zone)
  if (found === null) return plainVerdict(decision, {ms: decision.dueSinceMs ?? minuteOf(nowMs), slot: decision.slot})
  const paused = decision.rule === 'paused'
  const resumed = history.resumedMs ?? null
  const whilePaused = found.periods.filter((period) => paused || (resumed !== null && period.ms <= resumed)).map((period): Skip => ({...period, reason: 'paused'}))
  if (paused) return whilePaused.length > 0 ? {kind: 'skip', decision, skips: whilePaused} : plainVerdict(decision)
  const rest = found.periods.slice(whilePaused.length)
  // The periods that fell due while the last run was live: up to its end (a dead run's, up to now).
  const last = history.lastRun
  const liveUntil = policy.overlap === null || policy.overlap === 'allowAll' || last === null ? null : (last.endMs ?? (last.status === 'running' ? nowMs : last.startMs))
  const during = liveUntil === null ? [] : rest.filter((period) => period.ms <= liveUntil)
  const overlapped = during.length > 0 ? overlapAnswer(policy.overlap!, during) : null
  const catchUp = policy.catchUp ?? 'latest'
  const answer = overlapped?.run ? overlapped : catchUpAnswer(schedule, catchUp, policy.catchUpWindowMs, {periods: rest.slice(during.length), more: found.more}, nowMs)
  const skips = [...whilePaused, ...(overlapped?.skips ?? []), ...(overlapped?.run ? [] : (answer?.skips ?? []))]
  const {yes, not} = answers(options.trace)
  const at = (ms: number) => luxon().DateTime.fromMillis(ms, {zone}).toFormat('yyyy-MM-dd HH:mm:ss')
  const named = overlapped?.run ? `overlap '${policy.overlap}'` : `catch-up '${catchUp}'`
  const run = answer?.run ?? null
  if (run !== null) {
    const before = () => (skips.length === 0 ? '' : `; ${skips.length} period(s) before it skipped (${reasonsOf(skips)})`)
    const late = nowMs - run.ms > missedAfterMs(schedule) ? ', late' : ''
    return {kind: 'due', decision: yes('catch-up', () => `${named}: runs for the period of ${at(run.ms)}${run.slot ? ` (slot ${run.slot})` : ''}${late}${before()}`, run.slot, run.ms), period: run, skips}
  }
  if (skips.length > 0) {
    return {kind: 'skip', decision: not('catch-up', () => `${named}: ${skips.length} period(s) skipped (${reasonsOf(skips)}), ${at(skips[0].ms)} to ${at(skips[skips.length - 1].ms)}`), skips}
  }
  return {kind: 'not-due', decision: not('catch-up', () => `${named}: every period up to ${at(history.heldToMs!)} is accounted for, and none has come since`)}
}

/**
 * The overlap policy on the periods that fell due while the last run was live (oldest first):
 * skip records them all; bufferOne runs the latest, bufferAll each in turn (past CATCH_UP_MOST
 * the oldest are skipped); cancelOther runs the latest, the run it cancelled having ended.
 */
function overlapAnswer(overlap: Overlap, during: readonly Period[]): CatchUpAnswer {
  const skip = (periods: readonly Period[], reason: string): Skip[] => periods.map((period) => ({...period, reason}))
  switch (overlap) {
    case 'bufferOne':
    case 'cancelOther':
      return {run: during[during.length - 1], skips: skip(during.slice(0, -1), overlap === 'bufferOne' ? 'overlap: bufferOne (one waiting)' : 'overlap: cancelOther')}
    case 'bufferAll': {
      const beyond = Math.max(0, during.length - CATCH_UP_MOST)
      return {run: during[beyond], skips: skip(during.slice(0, beyond), `overlap: bufferAll (more than ${CATCH_UP_MOST} waiting)`)}
    }
    default:
      return {run: null, skips: skip(during, `overlap: ${overlap}`)}
  }
}

function reasonsOf(skips: readonly Skip[]): string {
  return [...new Set(skips.map((skip) => skip.reason))].join(', ')
}
