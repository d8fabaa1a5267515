import {SCHEDULER_RECENT_MS} from '../alerts/silence'
import {describeCron} from '../time/cron-expression'
import {formatDuration} from '../time/format'
import {WEEKDAYS} from '../time/units'
import {intervalText} from './is-due'
import {isSubMinute, subMinuteInterval} from './period'
import type {RunPolicy} from '../jobs/run-policy'
import {cronQuoted, type Schedule} from '../jobs/schedule'

/** Which runner serves a sub-minute schedule at its rate, when the runners' ticks cannot be read: said by crons:list and manage check. */
export const SUB_MINUTE_NOTE = 'the crontab tick runs it at most once a minute; `manage scheduler` serves it on time'

/**
 * Who serves the sub-minute jobs, from the runners' ticks (recentScheduler): a scheduler that ticked
 * recently (on its host), none (null), or unknown (undefined: the database could not be read).
 */
export type SubMinuteServer = {host: string} | null | undefined

/** What crons:list and manage check say of a sub-minute schedule, by who serves it (a warning unless a scheduler does). */
export function subMinuteNote(server: SubMinuteServer): string {
  if (server === undefined) return SUB_MINUTE_NOTE
  if (server === null) return `no scheduler has ticked in the last ${SCHEDULER_RECENT_MS / 60_000} min, so the crontab tick runs it at most once a minute until \`manage scheduler\` runs`
  return `served on time by the scheduler on ${server.host}`
}

/**
 * A run that started late (cron_job_log.started_late_ms), in words: crons:history, why and the
 * dashboard's run page. With what held it back (late_reason: 'limit: reports'), else it waited for
 * a free slot of a scheduler.
 */
export function startedLateNote(lateMs: number, reason: string | null = null): string {
  return `started ${formatDuration(lateMs)} late (${reason === null ? 'waited for a slot' : `held back by ${reason}`})`
}

/** A schedule in words, with what its policy adds, for lists: "every 5 min · at 06:00, 18:30 · on Sat, Sun (timeout 30 min, isolated)". */
export function describeSchedule(schedule: Schedule, policy: Pick<RunPolicy, 'timeoutMins' | 'allowParallelRuns' | 'isolate' | 'pauseAfterFailures'> & Partial<Pick<RunPolicy, 'catchUp' | 'catchUpWindowMs' | 'overlap' | 'limit'>>): string {
  const parts: string[] = []
  if (schedule.intervalMs !== null) parts.push(intervalText(schedule.intervalMs))
  if (schedule.cron !== null) parts.push(cronText(schedule))
  if (schedule.runAtTimes.length > 0) parts.push(`at ${schedule.runAtTimes.map((s) => s.slot).join(', ')}`)
  if (schedule.runWeeklyOnDays) parts.push(`on ${schedule.runWeeklyOnDays.map((d) => WEEKDAYS[d].slice(0, 3)).join(', ')}`)
  if (schedule.runMonthlyOnDays) parts.push(`on day ${schedule.runMonthlyOnDays.join(', ')}`)
  if (parts.length === 0) parts.push('only with --force')
  const extras: string[] = []
  if (schedule.runToleranceSeconds) extras.push(`tolerance ${schedule.runToleranceSeconds} s`)
  if (schedule.retryAfterFailureMins) extras.push(`retry after ${schedule.retryAfterFailureMins} min`)
  if (policy.timeoutMins !== null) extras.push(`timeout ${policy.timeoutMins} min`)
  if (policy.catchUp) extras.push(`catch-up ${policy.catchUp}${policy.catchUpWindowMs ? ` within ${windowText(policy.catchUpWindowMs)}` : ''}`)
  if (policy.overlap && policy.overlap !== 'allowAll') extras.push(`overlap ${policy.overlap}`)
  if (policy.limit) extras.push(`limit ${policy.limit}`)
  if (policy.allowParallelRuns) extras.push('parallel runs')
  if (policy.isolate) extras.push('isolated')
  if (policy.pauseAfterFailures !== null) extras.push(pausesAfterText(policy.pauseAfterFailures))
  if (schedule.timeZone) extras.push(schedule.timeZone)
  return parts.join(' · ') + (extras.length ? ` (${extras.join(', ')})` : '')
}

/** pauseAfterFailures in words: crons:list, manage check. */
export function pausesAfterText(after: number): string {
  return `pauses after ${failuresText(after)} in a row`
}

/**
 * The schedule's sub-minute rate in words ('every 5 s', "cron '*\/10 * * * * *' (Every 10 seconds)"),
 * or null when it asks for at most one run a minute: what the crontab tick cannot keep.
 */
export function subMinuteRate(schedule: Schedule): string | null {
  const interval = subMinuteInterval(schedule)
  if (interval !== null) return intervalText(interval)
  return isSubMinute(schedule) ? cronText(schedule) : null
}

/** "cron '*\/15 * * * *' (Every 15 minutes)"; with an H, the written form and the resolved one: "cron 'H 3 * * *' (here: '37 3 * * *') (At 03:37)". */
export function cronText(schedule: Pick<Schedule, 'cron' | 'cronWritten'>): string {
  return `cron ${cronQuoted(schedule)} (${describeCron(schedule.cron!)})`
}

/** catchUpWindowMins in words: whole hours as hours ('24 h'), else minutes ('90 min'). */
export function windowText(ms: number): string {
  const minutes = Math.round(ms / 60_000)
  return minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`
}

/** "3 failures", "1 failure". */
export function failuresText(count: number): string {
  return `${count} failure${count === 1 ? '' : 's'}`
}
