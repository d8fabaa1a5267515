import type {Overlap} from '../jobs/run-policy'
import type {Schedule} from '../jobs/schedule'
import {luxon} from '../time/luxon'
import {CATCH_UP_MOST, catchUpAnswer, unaccountedPeriods, type CatchUpAnswer, type Skip} from './catch-up'
import {answers, type Decision, type DecisionOptions} from './is-due'
import {missedAfterMs, minuteOf, type Period} from './periods'
import {plainVerdict, type Verdict, type VerdictPolicy} from './verdict-types'
import type {JobHistory, RunSummary} from '../contract/run-types'

/*
 * The verdicts of a job that keeps a period ledger (a catch-up or overlap policy), apart from
 * verdict.ts so that only a tick with such a job loads them, with the periods and the catch-up.
 */

export /** A cancelOther job's live run, and the latest period that has come since the one it serves, if any. */
function cancelling(schedule: Schedule, run: RunSummary, history: JobHistory, nowMs: number, options: DecisionOptions): Verdict {
  const found = options.paused ? null : unaccountedPeriods(schedule, history, nowMs, schedule.timeZone ?? options.timeZone)
  const newer = found?.periods.filter((period) => period.ms > run.startMs) ?? []
  return newer.length === 0 ? {kind: 'running-elsewhere', run} : {kind: 'running-elsewhere', run, cancelFor: newer[newer.length - 1].ms}
}

/**
 * A ledger job's verdict (a catch-up or overlap policy): its policies on the periods since the
 * latest one accounted for. The periods that came while it was paused (up to its resume) are
 * skipped as such; those that fell due while its last run was live go to its overlap policy, the
 * others (missed: nothing ran) to its catch-up policy ('latest' when it sets only an overlap, as
 * django-cron runs a job once for its latest period). A first run (nothing accounted for yet) is as
 * isDue says, serving the period it falls in.
 */
export function ledgerVerdict(schedule: Schedule, policy: VerdictPolicy, history: JobHistory, nowMs: number, options: DecisionOptions, decision: Decision): Verdict {
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
