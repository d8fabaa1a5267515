import {expect} from 'chai'
import {describeSchedule, subMinuteRate} from '../../src/core/schedule/describe'
import type {Schedule} from '../../src/core/jobs/schedule'
import {runPolicy, schedule} from '../helpers/schedule'

describe('describeSchedule: a schedule in words, intervals in minutes or seconds, crons with seconds', () => {
  const table: Array<[Schedule, string]> = [
    [schedule({runEveryMins: 5}), 'every 5 min'],
    [schedule({runEveryMins: 0}), 'every tick'],
    [schedule({runEverySeconds: 1}), 'every 1 s'],
    [schedule({runEverySeconds: 30, runToleranceSeconds: 2, retryAfterFailureMins: 1}), 'every 30 s (tolerance 2 s, retry after 1 min)'],
    [schedule({runEverySeconds: 90}), 'every 90 s'],
    [schedule({runEverySeconds: 120}), 'every 2 min'],
    [schedule({cron: '*/15 * * * *'}), "cron '*/15 * * * *' (Every 15 minutes)"],
    [schedule({cron: '*/10 * * * * *'}), "cron '*/10 * * * * *' (Every 10 seconds)"],
    [schedule({cron: '0 */5 * * * *'}), "cron '0 */5 * * * *' (Every 5 minutes)"],
    [schedule({cron: '30 * * * * *', timeZone: 'Europe/Paris'}), "cron '30 * * * * *' (At 30 seconds past the minute) (Europe/Paris)"],
  ]
  for (const [plan, words] of table) it(words, () => expect(describeSchedule(plan, runPolicy())).to.equal(words))

  it('says what pauseAfterFailures does, beside the other policies', () => {
    expect(describeSchedule(schedule({runEveryMins: 5}), runPolicy({timeoutMins: 30, pauseAfterFailures: 3}))).to.equal('every 5 min (timeout 30 min, pauses after 3 failures in a row)')
    expect(describeSchedule(schedule({runEveryMins: 5}), runPolicy({pauseAfterFailures: 1}))).to.equal('every 5 min (pauses after 1 failure in a row)')
  })
})

describe('subMinuteRate: what the once-a-minute crontab tick cannot keep', () => {
  const table: Array<[string, Schedule, string | null]> = [
    ['every 5 s', schedule({runEverySeconds: 5}), 'every 5 s'],
    ['every 59 s', schedule({runEverySeconds: 59}), 'every 59 s'],
    ['every 60 s: once a minute', schedule({runEverySeconds: 60}), null],
    ['every 90 s: less than once a minute', schedule({runEverySeconds: 90}), null],
    ['every tick (runEveryMins = 0): the crontab is its rate', schedule({runEveryMins: 0}), null],
    ['every 1 min', schedule({runEveryMins: 1}), null],
    ["cron '*/10 * * * * *'", schedule({cron: '*/10 * * * * *'}), "cron '*/10 * * * * *' (Every 10 seconds)"],
    ["cron '5,35 * * * * *'", schedule({cron: '5,35 * * * * *'}), "cron '5,35 * * * * *' (At 5 and 35 seconds past the minute)"],
    ["cron '0 */5 * * * *': once per 5 minutes", schedule({cron: '0 */5 * * * *'}), null],
    ["cron '30 * * * * *': once a minute", schedule({cron: '30 * * * * *'}), null],
    ["cron '* * * * *'", schedule({cron: '* * * * *'}), null],
    ['runAtTimes', schedule({runAtTimes: ['06:00']}), null],
  ]
  for (const [what, plan, rate] of table) it(what, () => expect(subMinuteRate(plan)).to.equal(rate))
})
