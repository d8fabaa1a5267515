import type {RunPolicy} from '../jobs/run-policy'
import type {Schedule} from '../jobs/schedule'
import {luxon} from '../time/luxon'
import {catchUpAnswer, unaccountedPeriods, type Skip} from './catch-up'
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
  | {kind: 'running-elsewhere'; run: RunSummary}
  | {kind: 'due'; decision: Decision; period?: Period; skips?: Skip[]}
  | {kind: 'not-due' | 'paused'; decision: Decision}
  | {kind: 'skip'; decision: Decision; skips: Skip[]}

export type VerdictPolicy = Pick<RunPolicy, 'allowParallelRuns' | 'catchUp' | 'catchUpWindowMs'>

export function verdictOf(schedule: Schedule, policy: VerdictPolicy, history: JobHistory, nowMs: number, options: DecisionOptions): Verdict {
  if (!policy.allowParallelRuns) {
    const run = history.running.find((running) => isLive(running, nowMs))
    if (run) return {kind: 'running-elsewhere', run}
  }
  const decision = isDue(schedule, history, nowMs, options)
  // A retry wait holds a catch-up job back as any other; --force runs it whatever its periods say.
  if (policy.catchUp !== null && !options.force && !(decision.rule === 'retry' && !decision.due)) return catchUpVerdict(schedule, policy, history, nowMs, options, decision)
  return plainVerdict(decision)
}

function plainVerdict(decision: Decision, period?: Period): Verdict {
  if (decision.due) return period ? {kind: 'due', decision, period} : {kind: 'due', decision}
  return {kind: decision.rule === 'paused' ? 'paused' : 'not-due', decision}
}

/**
 * A catch-up job's verdict: its policy on the periods since the latest one accounted for. The
 * periods that came while it was paused (up to its resume) are skipped as such; a first run
 * (nothing accounted for yet) is as isDue says, serving the period it falls in.
 */
function catchUpVerdict(schedule: Schedule, policy: VerdictPolicy, history: JobHistory, nowMs: number, options: DecisionOptions, decision: Decision): Verdict {
  const zone = schedule.timeZone ?? options.timeZone
  const found = unaccountedPeriods(schedule, history, nowMs, zone)
  if (found === null) return plainVerdict(decision, {ms: decision.dueSinceMs ?? minuteOf(nowMs), slot: decision.slot})
  const paused = decision.rule === 'paused'
  const resumed = history.resumedMs ?? null
  const whilePaused = found.periods.filter((period) => paused || (resumed !== null && period.ms <= resumed)).map((period): Skip => ({...period, reason: 'paused'}))
  if (paused) return whilePaused.length > 0 ? {kind: 'skip', decision, skips: whilePaused} : plainVerdict(decision)
  const answer = catchUpAnswer(schedule, policy.catchUp!, policy.catchUpWindowMs, {periods: found.periods.slice(whilePaused.length), more: found.more}, nowMs)
  const skips = [...whilePaused, ...(answer?.skips ?? [])]
  const {yes, not} = answers(options.trace)
  const at = (ms: number) => luxon().DateTime.fromMillis(ms, {zone}).toFormat('yyyy-MM-dd HH:mm:ss')
  const named = `catch-up '${policy.catchUp}'`
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

function reasonsOf(skips: readonly Skip[]): string {
  return [...new Set(skips.map((skip) => skip.reason))].join(', ')
}
