import {describeCron} from '../time/cron-expression'
import {WEEKDAYS} from '../time/units'
import type {RunPolicy} from '../jobs/run-policy'
import type {Schedule} from '../jobs/schedule'

/** A schedule in words, with what its policy adds, for lists: "every 5 min · at 06:00, 18:30 · on Sat, Sun (timeout 30 min, isolated)". */
export function describeSchedule(schedule: Schedule, policy: Pick<RunPolicy, 'timeoutMins' | 'allowParallelRuns' | 'isolate'>): string {
  const parts: string[] = []
  if (schedule.runEveryMins !== null) parts.push(schedule.runEveryMins === 0 ? 'every tick' : `every ${schedule.runEveryMins} min`)
  if (schedule.cron !== null) parts.push(`cron '${schedule.cron}' (${describeCron(schedule.cron)})`)
  if (schedule.runAtTimes.length > 0) parts.push(`at ${schedule.runAtTimes.map((s) => s.slot).join(', ')}`)
  if (schedule.runWeeklyOnDays) parts.push(`on ${schedule.runWeeklyOnDays.map((d) => WEEKDAYS[d].slice(0, 3)).join(', ')}`)
  if (schedule.runMonthlyOnDays) parts.push(`on day ${schedule.runMonthlyOnDays.join(', ')}`)
  if (parts.length === 0) parts.push('only with --force')
  const extras: string[] = []
  if (schedule.runToleranceSeconds) extras.push(`tolerance ${schedule.runToleranceSeconds} s`)
  if (schedule.retryAfterFailureMins) extras.push(`retry after ${schedule.retryAfterFailureMins} min`)
  if (policy.timeoutMins !== null) extras.push(`timeout ${policy.timeoutMins} min`)
  if (policy.allowParallelRuns) extras.push('parallel runs')
  if (policy.isolate) extras.push('isolated')
  if (schedule.timeZone) extras.push(schedule.timeZone)
  return parts.join(' · ') + (extras.length ? ` (${extras.join(', ')})` : '')
}
