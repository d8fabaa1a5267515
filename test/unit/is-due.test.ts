import {expect} from 'chai'
import {historyFromRuns} from '../../src/core/schedule/history'
import {isDue} from '../../src/core/schedule/is-due'
import type {Schedule} from '../../src/core/jobs/schedule'
import {at, run, schedule} from '../helpers/schedule'
import type {RunSummary} from '../../src/core/contract/run-types'

interface Row {
  name: string
  schedule: Schedule
  runs: RunSummary[]
  now: string
  due: boolean
  slot?: string | null
  zone?: string
  force?: boolean
}

function check(rows: Row[]) {
  for (const row of rows) {
    it(row.name, () => {
      const zone = row.zone ?? 'UTC'
      const now = at(row.now, zone)
      const decision = isDue(row.schedule, historyFromRuns(row.runs, now), now, {timeZone: zone, force: row.force})
      expect(decision.due, decision.reason).to.equal(row.due)
      if (row.slot !== undefined) expect(decision.slot).to.equal(row.slot)
      expect(decision.reason).to.be.a('string').and.not.equal('')
    })
  }
}

const every5 = schedule({runEveryMins: 5})

describe('isDue: runEveryMins (django-cron test_runs_every_mins)', () => {
  check([
    {name: 'never ran: due at 00:00:00', schedule: every5, runs: [], now: '2026-01-05T00:00:00', due: true, slot: null},
    {name: 'ran at 00:00:00: not due at 00:04:59', schedule: every5, runs: [run('succeeded', '2026-01-05T00:00:00')], now: '2026-01-05T00:04:59', due: false},
    {name: 'ran at 00:00:00: not due at exactly 00:05:00 (strictly greater)', schedule: every5, runs: [run('succeeded', '2026-01-05T00:00:00')], now: '2026-01-05T00:05:00', due: false},
    {name: 'ran at 00:00:00: due at 00:05:00.001 (millisecond precision)', schedule: every5, runs: [run('succeeded', '2026-01-05T00:00:00')], now: '2026-01-05T00:05:00.001', due: true},
    {name: 'ran at 00:00:00: due at 00:05:01', schedule: every5, runs: [run('succeeded', '2026-01-05T00:00:00')], now: '2026-01-05T00:05:01', due: true},
    {name: 'a failed run is not a success: due', schedule: every5, runs: [run('failed', '2026-01-05T00:04:00')], now: '2026-01-05T00:04:30', due: true},
    {
      name: 'no catch-up after downtime: one run, then the interval counts from it',
      schedule: every5,
      runs: [run('succeeded', '2026-01-05T00:00:00'), run('succeeded', '2026-01-05T03:17:00')],
      now: '2026-01-05T03:21:00',
      due: false,
    },
    {name: 'runEveryMins = 0: due every tick after the last start', schedule: schedule({runEveryMins: 0}), runs: [run('succeeded', '2026-01-05T00:00:00')], now: '2026-01-05T00:00:01', due: true},
    {name: 'runEveryMins = 0: not due at the same instant (pinned clock, two processes)', schedule: schedule({runEveryMins: 0}), runs: [run('succeeded', '2026-01-05T00:00:00')], now: '2026-01-05T00:00:00', due: false},
  ])
})

describe('isDue: runToleranceSeconds (django-cron test_runs_every_mins_with_tolerance)', () => {
  const tolerant = schedule({runEveryMins: 5, runToleranceSeconds: 5})
  const first = run('succeeded', '2026-01-05T00:04:59')
  check([
    {name: 'never ran: due at 00:04:59', schedule: tolerant, runs: [], now: '2026-01-05T00:04:59', due: true},
    {name: 'ran at 00:04:59: not due at 00:09:54', schedule: tolerant, runs: [first], now: '2026-01-05T00:09:54', due: false},
    {name: 'ran at 00:04:59: due at 00:09:55', schedule: tolerant, runs: [first], now: '2026-01-05T00:09:55', due: true},
  ])
})

describe('isDue: rows dated in the future are ignored', () => {
  check([
    {name: 'a success dated tomorrow does not make the job wait', schedule: every5, runs: [run('succeeded', '2026-01-06T00:00:00')], now: '2026-01-05T00:00:00', due: true},
    {
      name: 'the latest success at or before now counts',
      schedule: every5,
      runs: [run('succeeded', '2026-01-05T00:00:00'), run('succeeded', '2026-01-05T09:00:00')],
      now: '2026-01-05T00:03:00',
      due: false,
    },
    {
      name: 'a failure dated in the future does not block a retry',
      schedule: schedule({runEveryMins: 5, retryAfterFailureMins: 10}),
      runs: [run('failed', '2026-01-05T00:10:00')],
      now: '2026-01-05T00:05:00',
      due: true,
    },
  ])
})

describe('isDue: retryAfterFailureMins (only ever blocks)', () => {
  const retry = schedule({runEveryMins: 60, retryAfterFailureMins: 10})
  const failed = run('failed', '2026-01-05T00:00:00')
  check([
    {name: 'failed at 00:00: not due at 00:09:59', schedule: retry, runs: [failed], now: '2026-01-05T00:09:59', due: false},
    {name: 'failed at 00:00: not due at exactly 00:10:00 (<=)', schedule: retry, runs: [failed], now: '2026-01-05T00:10:00', due: false},
    {name: 'failed at 00:00: due at 00:10:00.001', schedule: retry, runs: [failed], now: '2026-01-05T00:10:00.001', due: true},
    {
      name: 'with 5 s tolerance: not due at 00:09:55, due at 00:09:55.001 (boundary moves by the tolerance)',
      schedule: schedule({runEveryMins: 60, retryAfterFailureMins: 10, runToleranceSeconds: 5}),
      runs: [failed],
      now: '2026-01-05T00:09:55',
      due: false,
    },
    {
      name: 'with 5 s tolerance: due at 00:09:55.001',
      schedule: schedule({runEveryMins: 60, retryAfterFailureMins: 10, runToleranceSeconds: 5}),
      runs: [failed],
      now: '2026-01-05T00:09:55.001',
      due: true,
    },
    {
      name: 'the latest run by start time decides: a success after the failure means no retry wait',
      schedule: schedule({runEveryMins: 1, retryAfterFailureMins: 10}),
      runs: [failed, run('succeeded', '2026-01-05T00:02:00')],
      now: '2026-01-05T00:04:00',
      due: true,
    },
    {name: 'an interrupted run counts as a failure', schedule: retry, runs: [run('interrupted', '2026-01-05T00:00:00')], now: '2026-01-05T00:05:00', due: false},
    {
      name: 'a running row whose lease ran out counts as a failure',
      schedule: retry,
      runs: [run('running', '2026-01-05T00:00:00', {leaseUntil: '2026-01-05T00:01:00'})],
      now: '2026-01-05T00:05:00',
      due: false,
    },
    {
      name: 'retry alone never makes a job due: after the wait, the interval still decides',
      schedule: retry,
      runs: [run('succeeded', '2026-01-05T00:00:00'), run('failed', '2026-01-05T00:30:00')],
      now: '2026-01-05T00:45:00',
      due: false,
    },
    {name: 'retry with no schedule: never due', schedule: schedule({retryAfterFailureMins: 1}), runs: [failed], now: '2026-01-05T05:00:00', due: false},
  ])
})

describe('isDue: runAtTimes (django-cron test_runs_at_time)', () => {
  const slots = schedule({runAtTimes: ['0:00', '0:05']})
  check([
    {name: "['0:00','0:05'] at 00:00:01: due for 00:00", schedule: slots, runs: [], now: '2026-01-05T00:00:01', due: true, slot: '00:00'},
    {name: 'after the 00:00 run: not due at 00:04:50', schedule: slots, runs: [run('succeeded', '2026-01-05T00:00:01', {slot: '00:00'})], now: '2026-01-05T00:04:50', due: false},
    {name: 'after the 00:00 run: due at 00:05:01 for 00:05', schedule: slots, runs: [run('succeeded', '2026-01-05T00:00:01', {slot: '00:00'})], now: '2026-01-05T00:05:01', due: true, slot: '00:05'},
    {
      name: 'both slots done: not due for the rest of the day',
      schedule: slots,
      runs: [run('succeeded', '2026-01-05T00:00:01', {slot: '00:00'}), run('succeeded', '2026-01-05T00:05:01', {slot: '00:05'})],
      now: '2026-01-05T23:59:59',
      due: false,
    },
    {
      name: "yesterday's runs do not count today",
      schedule: slots,
      runs: [run('succeeded', '2026-01-04T00:00:01', {slot: '00:00'}), run('succeeded', '2026-01-04T00:05:01', {slot: '00:05'})],
      now: '2026-01-05T00:00:30',
      due: true,
      slot: '00:00',
    },
    {name: 'a failed slot run does not count: the slot is due again', schedule: slots, runs: [run('failed', '2026-01-05T00:00:01', {slot: '00:00'})], now: '2026-01-05T00:01:00', due: true, slot: '00:00'},
    {name: 'a slot run dated later today (in the future) is ignored', schedule: slots, runs: [run('succeeded', '2026-01-05T12:00:00', {slot: '00:00'})], now: '2026-01-05T00:01:00', due: true, slot: '00:00'},
  ])

  describe('same-day catch-up, one slot per tick', () => {
    const day = schedule({runAtTimes: ['10:00', '14:30']})
    check([
      {name: 'both missed: at 15:00 the first slot runs first', schedule: day, runs: [], now: '2026-01-05T15:00:00', due: true, slot: '10:00'},
      {name: 'at 15:01 the second missed slot runs', schedule: day, runs: [run('succeeded', '2026-01-05T15:00:00', {slot: '10:00'})], now: '2026-01-05T15:01:00', due: true, slot: '14:30'},
      {
        name: 'at 15:02 nothing is left',
        schedule: day,
        runs: [run('succeeded', '2026-01-05T15:00:00', {slot: '10:00'}), run('succeeded', '2026-01-05T15:01:00', {slot: '14:30'})],
        now: '2026-01-05T15:02:00',
        due: false,
      },
    ])
  })

  describe('a 23:59 slot missed until after midnight is not caught up the next day', () => {
    const late = schedule({runAtTimes: ['23:59']})
    check([
      {name: 'down from 23:58 to 00:01: nothing at 00:01', schedule: late, runs: [run('succeeded', '2026-01-04T23:59:00', {slot: '23:59'})], now: '2026-01-06T00:01:00', due: false},
      {name: 'it runs at 23:59 that day', schedule: late, runs: [run('succeeded', '2026-01-04T23:59:00', {slot: '23:59'})], now: '2026-01-06T23:59:00', due: true, slot: '23:59'},
    ])
  })

  describe('the time zone decides what "today" and "HH:MM" mean', () => {
    const tokyo = schedule({runAtTimes: ['09:00']})
    check([
      {name: '09:00 in Asia/Tokyo is 00:00 UTC: due at 00:00:30Z', schedule: tokyo, runs: [], now: '2026-01-05T00:00:30Z', zone: 'Asia/Tokyo', due: true, slot: '09:00'},
      {name: 'not due at 23:59Z (08:59 in Tokyo)', schedule: tokyo, runs: [], now: '2026-01-04T23:59:00Z', zone: 'Asia/Tokyo', due: false},
    ])
  })
})

describe('isDue: DST in America/New_York', () => {
  const zone = 'America/New_York'
  // 2026-03-08: 02:00 EST jumps to 03:00 EDT. 2026-11-01: 02:00 EDT falls back to 01:00 EST.
  const gap = schedule({runAtTimes: ['02:30']})
  const overlap = schedule({runAtTimes: ['01:30']})
  check([
    {name: 'a slot in the spring-forward gap is not due at 01:59 EST', schedule: gap, runs: [], now: '2026-03-08T01:59:00-05:00', zone, due: false},
    {name: 'a slot in the spring-forward gap runs at the first tick after the jump (03:00 EDT)', schedule: gap, runs: [], now: '2026-03-08T03:00:00-04:00', zone, due: true, slot: '02:30'},
    {name: 'a slot in the repeated hour runs at its first 01:30 (EDT)', schedule: overlap, runs: [], now: '2026-11-01T01:30:00-04:00', zone, due: true, slot: '01:30'},
    {
      name: 'and not again at the second 01:30 (EST)',
      schedule: overlap,
      runs: [run('succeeded', '2026-11-01T01:30:00-04:00', {slot: '01:30', zone})],
      now: '2026-11-01T01:30:00-05:00',
      zone,
      due: false,
    },
    {
      name: 'runEveryMins counts elapsed time through fall-back: 60 min after 01:30 EDT is 01:30 EST, due just after',
      schedule: schedule({runEveryMins: 60}),
      runs: [run('succeeded', '2026-11-01T01:30:00-04:00', {zone})],
      now: '2026-11-01T01:30:01-05:00',
      zone,
      due: true,
    },
    {
      name: 'runEveryMins through spring-forward: 01:30 EST to 03:29 EDT is 59 minutes, not due',
      schedule: schedule({runEveryMins: 60}),
      runs: [run('succeeded', '2026-03-08T01:30:00-05:00', {zone})],
      now: '2026-03-08T03:29:00-04:00',
      zone,
      due: false,
    },
  ])
})

describe('isDue: weekday and month-day filters (django-cron test_run_on_weekend / test_run_on_monthly)', () => {
  const weekend = schedule({runWeeklyOnDays: [5, 6], runAtTimes: ['0:00']})
  // 2026-01-05 is a Monday.
  const week = ['05', '06', '07', '08', '09', '10', '11']
  check(
    week.map((day, index) => ({
      name: `weekend-only job at 2026-01-${day} 00:00 (weekday ${index}): ${index >= 5 ? 'due' : 'not due'}`,
      schedule: weekend,
      runs: [],
      now: `2026-01-${day}T00:00:00`,
      due: index >= 5,
    })),
  )

  const monthly = schedule({runMonthlyOnDays: [1, 15, 31], runAtTimes: ['0:00']})
  const daysInFebruary = 28
  check(
    Array.from({length: daysInFebruary}, (_, index) => index + 1).map((day) => ({
      name: `days [1, 15, 31] at 2026-02-${String(day).padStart(2, '0')}: ${[1, 15].includes(day) ? 'due' : 'not due'}`,
      schedule: monthly,
      runs: [],
      now: `2026-02-${String(day).padStart(2, '0')}T00:00:00`,
      due: [1, 15].includes(day),
    })),
  )

  check([
    {
      name: 'the day filters come before the interval: a Tuesday does not run an every-minute weekend job',
      schedule: schedule({runEveryMins: 1, runWeeklyOnDays: [5, 6]}),
      runs: [],
      now: '2026-01-06T12:00:00',
      due: false,
    },
    {
      name: 'the weekday is the one in the zone: Sunday 23:30 in New York is Monday 04:30 UTC',
      schedule: schedule({runEveryMins: 1, runWeeklyOnDays: [6]}),
      runs: [],
      now: '2026-01-12T04:30:00Z',
      zone: 'America/New_York',
      due: true,
    },
  ])
})

describe('isDue: force, fall-through and in-progress runs', () => {
  check([
    {name: '--force runs on a day the filters exclude, serving no slot', schedule: schedule({runWeeklyOnDays: [6], runAtTimes: ['10:00']}), runs: [], now: '2026-01-05T10:00:00', force: true, due: true, slot: null},
    {name: '--force runs a job with no schedule', schedule: schedule({}), runs: [], now: '2026-01-05T10:00:00', force: true, due: true},
    {name: 'a job with no schedule is never due on its own', schedule: schedule({}), runs: [], now: '2026-01-05T10:00:00', due: false},
    {name: 'cron: a run by hand (--force) after the slot is not the slot’s run: the slot is still due', schedule: schedule({cron: '0 * * * *'}), runs: [run('succeeded', '2026-01-05T09:00:00.2'), run('succeeded', '2026-01-05T10:00:20', {forced: true})], now: '2026-01-05T10:00:40', due: true},
    {name: 'cron: a scheduled run holds its slot (the same runs, the second not forced)', schedule: schedule({cron: '0 * * * *'}), runs: [run('succeeded', '2026-01-05T09:00:00.2'), run('succeeded', '2026-01-05T10:00:20')], now: '2026-01-05T10:00:40', due: false},
    {name: 'interval: a run by hand counts as django-cron’s (its start resets the interval)', schedule: schedule({runEveryMins: 60}), runs: [run('succeeded', '2026-01-05T09:00:00'), run('succeeded', '2026-01-05T09:40:00', {forced: true})], now: '2026-01-05T10:01:00', due: false},
    {
      name: 'interval not due, but a slot is: due for the slot (django-cron checks runAtTimes after runEveryMins)',
      schedule: schedule({runEveryMins: 120, runAtTimes: ['10:00']}),
      runs: [run('succeeded', '2026-01-05T09:30:00')],
      now: '2026-01-05T10:00:00',
      due: true,
      slot: '10:00',
    },
    {
      name: 'interval due: runs without a slot even when a slot is also due',
      schedule: schedule({runEveryMins: 5, runAtTimes: ['10:00']}),
      runs: [run('succeeded', '2026-01-05T09:00:00')],
      now: '2026-01-05T10:00:00',
      due: true,
      slot: null,
    },
    {
      name: 'a run in progress (live lease) holds its period: an overlapping job is not started again for it',
      schedule: schedule({runEveryMins: 5}),
      runs: [run('succeeded', '2026-01-05T09:00:00'), run('running', '2026-01-05T10:00:00', {leaseUntil: '2026-01-05T10:10:00'})],
      now: '2026-01-05T10:03:00',
      due: false,
    },
    {
      name: 'an overlapping job starts for the next period while the previous run still goes',
      schedule: schedule({runEveryMins: 5}),
      runs: [run('running', '2026-01-05T10:00:00', {leaseUntil: '2026-01-05T10:10:00'})],
      now: '2026-01-05T10:05:01',
      due: true,
    },
    {
      name: 'a slot run in progress holds its slot',
      schedule: schedule({runAtTimes: ['10:00']}),
      runs: [run('running', '2026-01-05T10:00:00', {slot: '10:00', leaseUntil: '2026-01-05T10:10:00'})],
      now: '2026-01-05T10:01:00',
      due: false,
    },
    {
      name: 'a dead run (lease expired) holds nothing',
      schedule: schedule({runEveryMins: 5}),
      runs: [run('running', '2026-01-05T10:00:00', {leaseUntil: '2026-01-05T10:01:00'})],
      now: '2026-01-05T10:03:00',
      due: true,
    },
  ])
})

describe('isDue: cron expressions (wall clock, one run per passed slot, no pile-up)', () => {
  const every15 = schedule({cron: '*/15 * * * *'})
  check([
    {name: 'a new job is due in the minute of a slot', schedule: every15, runs: [], now: '2026-01-05T10:15:30', due: true},
    {name: 'a new job is not due for a slot long gone (no run at deploy time)', schedule: every15, runs: [], now: '2026-01-05T10:16:00', due: false},
    {name: 'ran for the 10:00 slot: not due at 10:14', schedule: every15, runs: [run('succeeded', '2026-01-05T10:00:02')], now: '2026-01-05T10:14:59', due: false},
    {name: 'ran for the 10:00 slot: due at 10:15', schedule: every15, runs: [run('succeeded', '2026-01-05T10:00:02')], now: '2026-01-05T10:15:00', due: true},
    {name: 'a slot missed by a late tick still runs (10:17 after a run at 10:00)', schedule: every15, runs: [run('succeeded', '2026-01-05T10:00:02')], now: '2026-01-05T10:17:00', due: true},
    {
      name: 'after downtime, missed slots run once, not once each',
      schedule: every15,
      runs: [run('succeeded', '2026-01-05T08:00:00'), run('succeeded', '2026-01-05T12:07:00')],
      now: '2026-01-05T12:10:00',
      due: false,
    },
    {name: 'a failed run does not use up the slot', schedule: every15, runs: [run('succeeded', '2026-01-05T09:45:00'), run('failed', '2026-01-05T10:00:00')], now: '2026-01-05T10:01:00', due: true},
    {
      name: 'retryAfterFailureMins still blocks first',
      schedule: schedule({cron: '*/15 * * * *', retryAfterFailureMins: 5}),
      runs: [run('succeeded', '2026-01-05T09:45:00'), run('failed', '2026-01-05T10:00:00')],
      now: '2026-01-05T10:01:00',
      due: false,
    },
    {name: 'weekdays only (1-5): Saturday is not due', schedule: schedule({cron: '0 9 * * 1-5'}), runs: [], now: '2026-01-10T09:00:10', due: false},
    {name: 'weekdays only (1-5): Monday 09:00 is due', schedule: schedule({cron: '0 9 * * 1-5'}), runs: [], now: '2026-01-05T09:00:10', due: true},
  ])

  describe('the same DST rules as runAtTimes (America/New_York)', () => {
    const zone = 'America/New_York'
    const daily230 = schedule({cron: '30 2 * * *'})
    const quarter = schedule({cron: '*/15 * * * *'})
    check([
      {name: 'a slot in the spring-forward gap (02:30) runs at the first tick after the jump', schedule: daily230, runs: [run('succeeded', '2026-03-07T02:30:00-05:00', {zone})], now: '2026-03-08T03:00:00-04:00', zone, due: true},
      {name: 'and not again later that day', schedule: daily230, runs: [run('succeeded', '2026-03-08T03:00:00-04:00', {zone})], now: '2026-03-08T12:00:00-04:00', zone, due: false},
      {
        name: 'the repeated fall-back hour: slots already run at 01:xx EDT are not run again at 01:xx EST',
        schedule: quarter,
        runs: [run('succeeded', '2026-11-01T01:45:00-04:00', {zone})],
        now: '2026-11-01T01:15:00-05:00',
        zone,
        due: false,
      },
      {name: 'and the 02:00 slot after the repeated hour runs', schedule: quarter, runs: [run('succeeded', '2026-11-01T01:45:00-04:00', {zone})], now: '2026-11-01T02:00:00-05:00', zone, due: true},
    ])
  })

  check([
    {
      name: "a class's own timeZone wins over the settings' (09:00 in Tokyo is 00:00 UTC)",
      schedule: schedule({runAtTimes: ['09:00'], timeZone: 'Asia/Tokyo'}),
      runs: [],
      now: '2026-01-05T00:00:30Z',
      due: true,
      slot: '09:00',
    },
  ])
})

describe('isDue: paused jobs', () => {
  const paused = {sinceMs: at('2026-01-05T08:00:00Z'), by: 'ops@web1'}
  it('a paused job is not due, and says since when and by whom', () => {
    const decision = isDue(every5, historyFromRuns([], 0), at('2026-01-05T09:00:00Z'), {timeZone: 'UTC', paused})
    expect(decision).to.deep.include({due: false, rule: 'paused'})
    expect(decision.reason).to.equal('paused since 2026-01-05 08:00 by ops@web1 (manage crons:resume to resume)')
  })
  it('--force alone does not run a paused job; forced by name it does', () => {
    const now = at('2026-01-05T09:00:00Z')
    expect(isDue(every5, historyFromRuns([], 0), now, {timeZone: 'UTC', paused, force: true}).due).to.equal(false)
    expect(isDue(every5, historyFromRuns([], 0), now, {timeZone: 'UTC', paused, force: true, forcePaused: true}).due).to.equal(true)
  })
})

describe('isDue: the clock-skew allowance (runs dated a little after now)', () => {
  const now = at('2026-01-05T09:00:00Z')
  const decide = (schedule: Schedule, runs: RunSummary[], clockSkewMs: number) => isDue(schedule, historyFromRuns(runs, now, clockSkewMs), now, {timeZone: 'UTC', clockSkewMs})
  const cases: Array<[string, Schedule, RunSummary[], number, boolean]> = [
    ['a success 2 s ahead holds an interval, within 5 s', every5, [run('succeeded', '2026-01-05T09:00:02Z')], 5000, false],
    ['the same success is ignored with no allowance', every5, [run('succeeded', '2026-01-05T09:00:02Z')], 0, true],
    ['a success 6 s ahead is beyond a 5 s allowance', every5, [run('succeeded', '2026-01-05T09:00:06Z')], 5000, true],
    ['a success 1,000 days ahead is a clock jump: ignored', every5, [run('succeeded', '2028-10-01T09:00:00Z')], 5000, true],
    ['a slot run 1 s ahead serves the slot', schedule({runAtTimes: ['09:00']}), [run('succeeded', '2026-01-05T09:00:01Z', {slot: '09:00'})], 5000, false],
    ['a failure 1 s ahead blocks a retry', schedule({runEveryMins: 1, retryAfterFailureMins: 10}), [run('failed', '2026-01-05T09:00:01Z')], 5000, false],
  ]
  for (const [what, plan, runs, skew, due] of cases) {
    it(what, () => expect(decide(plan, runs, skew).due).to.equal(due))
  }
})

describe('isDue: runEverySeconds (the interval rule of runEveryMins, in seconds)', () => {
  const every1 = schedule({runEverySeconds: 1})
  const every5s = schedule({runEverySeconds: 5})
  const every30 = schedule({runEverySeconds: 30})
  const last = (start: string) => [run('succeeded', start)]
  check([
    {name: 'every 1 s, never ran: due', schedule: every1, runs: [], now: '2026-01-05T12:00:00', due: true, slot: null},
    {name: 'every 1 s, ran at 12:00:00.000: not due at 12:00:00.999', schedule: every1, runs: last('2026-01-05T12:00:00'), now: '2026-01-05T12:00:00.999', due: false},
    {name: 'every 1 s: not due at exactly 12:00:01.000 (strictly greater, as runEveryMins)', schedule: every1, runs: last('2026-01-05T12:00:00'), now: '2026-01-05T12:00:01', due: false},
    {name: 'every 1 s: due at 12:00:01.001', schedule: every1, runs: last('2026-01-05T12:00:00'), now: '2026-01-05T12:00:01.001', due: true},
    {name: 'every 1 s: a second decider in the same second (run at .200, asked at .700) does not run it', schedule: every1, runs: last('2026-01-05T12:00:00.200'), now: '2026-01-05T12:00:00.700', due: false},
    {name: 'every 1 s: nor at the same instant (a pinned clock, two processes)', schedule: every1, runs: last('2026-01-05T12:00:00.200'), now: '2026-01-05T12:00:00.200', due: false},
    {name: 'every 5 s, ran at 12:00:00.300: not due at 12:00:05.300', schedule: every5s, runs: last('2026-01-05T12:00:00.300'), now: '2026-01-05T12:00:05.300', due: false},
    {name: 'every 5 s: due at 12:00:05.301', schedule: every5s, runs: last('2026-01-05T12:00:00.300'), now: '2026-01-05T12:00:05.301', due: true},
    {name: 'every 5 s: the next crontab tick (12:01:00) is due, once: the missed periods do not pile up', schedule: every5s, runs: last('2026-01-05T12:00:00.300'), now: '2026-01-05T12:01:00.100', due: true},
    {name: 'every 5 s: a period missed for an hour runs once, then counts from that run', schedule: every5s, runs: [run('succeeded', '2026-01-05T11:00:00'), run('succeeded', '2026-01-05T12:00:00.100')], now: '2026-01-05T12:00:04', due: false},
    {name: 'every 30 s, ran at 12:00:10: not due at 12:00:40', schedule: every30, runs: last('2026-01-05T12:00:10'), now: '2026-01-05T12:00:40', due: false},
    {name: 'every 30 s: due at 12:00:40.001', schedule: every30, runs: last('2026-01-05T12:00:10'), now: '2026-01-05T12:00:40.001', due: true},
    {name: 'every 30 s: a failure since the last success does not move the interval (not due at 12:00:21)', schedule: every30, runs: [run('succeeded', '2026-01-05T12:00:00'), run('failed', '2026-01-05T12:00:20')], now: '2026-01-05T12:00:21', due: false},
    {name: 'every 30 s: the success before the failure counts (due 30 s after it)', schedule: every30, runs: [run('succeeded', '2026-01-05T12:00:00'), run('failed', '2026-01-05T12:00:20')], now: '2026-01-05T12:00:30.001', due: true},
  ])

  describe('with runToleranceSeconds', () => {
    const tolerant = schedule({runEverySeconds: 30, runToleranceSeconds: 2})
    check([
      {name: 'every 30 s, tolerance 2 s, ran at 12:00:00: not due at 12:00:28', schedule: tolerant, runs: last('2026-01-05T12:00:00'), now: '2026-01-05T12:00:28', due: false},
      {name: 'due at 12:00:28.001', schedule: tolerant, runs: last('2026-01-05T12:00:00'), now: '2026-01-05T12:00:28.001', due: true},
    ])
  })

  describe('with retryAfterFailureMins (the retry wait, from the failed start)', () => {
    const retrying = schedule({runEverySeconds: 5, retryAfterFailureMins: 1})
    const failed = [run('succeeded', '2026-01-05T11:59:00'), run('failed', '2026-01-05T12:00:00')]
    check([
      {name: 'every 5 s, failed at 12:00:00, retry after 1 min: not due at 12:00:30', schedule: retrying, runs: failed, now: '2026-01-05T12:00:30', due: false},
      {name: 'nor at exactly 12:01:00', schedule: retrying, runs: failed, now: '2026-01-05T12:01:00', due: false},
      {name: 'due at 12:01:00.001', schedule: retrying, runs: failed, now: '2026-01-05T12:01:00.001', due: true},
      {name: 'a success since: the interval rule again', schedule: retrying, runs: [...failed, run('succeeded', '2026-01-05T12:01:01')], now: '2026-01-05T12:01:05', due: false},
    ])
  })

  describe('a run in progress holds its period', () => {
    check([
      {
        name: 'every 5 s: a live run started at 12:00:00.200 holds it at 12:00:03',
        schedule: every5s,
        runs: [run('running', '2026-01-05T12:00:00.200', {leaseUntil: '2026-01-05T12:05:00'})],
        now: '2026-01-05T12:00:03',
        due: false,
      },
      {
        name: 'every 1 s: a live run started in this second holds it',
        schedule: every1,
        runs: [run('succeeded', '2026-01-05T11:59:00'), run('running', '2026-01-05T12:00:00.100', {leaseUntil: '2026-01-05T12:05:00'})],
        now: '2026-01-05T12:00:00.900',
        due: false,
      },
    ])
  })

  it('says its interval in seconds', () => {
    const now = at('2026-01-05T12:00:00.700Z')
    const decision = isDue(every1, historyFromRuns(last('2026-01-05T12:00:00.200'), now), now, {timeZone: 'UTC'})
    expect(decision.reason).to.equal('every 1 s; last successful start 2026-01-05 12:00:00, due after 2026-01-05 12:00:01')
    expect(decision.notBeforeMs).to.equal(at('2026-01-05T12:00:01.200Z'))
  })

  it('says its interval in minutes when it is whole minutes (runEverySeconds = 120)', () => {
    const now = at('2026-01-05T12:01:00Z')
    expect(isDue(schedule({runEverySeconds: 120}), historyFromRuns(last('2026-01-05T12:00:00'), now), now, {timeZone: 'UTC'}).reason).to.match(/^every 2 min; /)
  })
})

describe('isDue: two deciders of a 1-second job, each reading the other (the claim re-decides on fresh history)', () => {
  // The run-log claim serialises deciders, and the one that gets it second decides again on
  // history holding the first's row: its running row (live lease) or its success.
  const every1 = schedule({runEverySeconds: 1})
  const cases: Array<[string, RunSummary[], string, number, boolean]> = [
    ['the first run is still running', [run('running', '2026-01-05T12:00:00.200Z', {leaseUntil: '2026-01-05T12:05:00Z'})], '2026-01-05T12:00:00.950Z', 5000, false],
    ['the first run has succeeded', [run('succeeded', '2026-01-05T12:00:00.200Z')], '2026-01-05T12:00:00.950Z', 5000, false],
    ['the first run has failed: the period is not served, a retry is due', [run('failed', '2026-01-05T12:00:00.200Z')], '2026-01-05T12:00:00.950Z', 5000, true],
    ['the first decider clock is 0.5 s ahead: its row is dated after now, within the allowance', [run('succeeded', '2026-01-05T12:00:01.100Z')], '2026-01-05T12:00:00.600Z', 5000, false],
    ['the same with no allowance (clockSkewSeconds: 0): the row is ignored', [run('succeeded', '2026-01-05T12:00:01.100Z')], '2026-01-05T12:00:00.600Z', 0, true],
  ]
  for (const [what, runs, now, skew, due] of cases) {
    it(what, () => {
      const nowMs = at(now)
      expect(isDue(every1, historyFromRuns(runs, nowMs, skew), nowMs, {timeZone: 'UTC', clockSkewMs: skew}).due).to.equal(due)
    })
  }
})

describe('isDue: cron expressions with seconds (six fields, seconds first)', () => {
  const every10s = schedule({cron: '*/10 * * * * *'})
  const fiveMinutes = schedule({cron: '0 */5 * * * *'})
  const atSecond30 = schedule({cron: '30 * * * * *'})
  check([
    {name: '*/10 s, never ran: due at 12:00:00.500 (slot 12:00:00)', schedule: every10s, runs: [], now: '2026-01-05T12:00:00.500', due: true},
    {name: '*/10 s, never ran: a slot of the last minute counts (12:00:59)', schedule: every10s, runs: [], now: '2026-01-05T12:00:59', due: true},
    {name: '*/10 s, ran at 12:00:00.400: not due at 12:00:09.999', schedule: every10s, runs: [run('succeeded', '2026-01-05T12:00:00.400')], now: '2026-01-05T12:00:09.999', due: false},
    {name: '*/10 s: due at 12:00:10 (its slot)', schedule: every10s, runs: [run('succeeded', '2026-01-05T12:00:00.400')], now: '2026-01-05T12:00:10', due: true},
    {name: '*/10 s: a second decider in the same slot (run at 12:00:10.100, asked at 12:00:10.900) does not run it', schedule: every10s, runs: [run('succeeded', '2026-01-05T12:00:10.100')], now: '2026-01-05T12:00:10.900', due: false},
    {name: '*/10 s: the next crontab tick (12:01:00.300) is due once for the slots missed meanwhile', schedule: every10s, runs: [run('succeeded', '2026-01-05T12:00:00.400')], now: '2026-01-05T12:01:00.300', due: true},
    {name: '*/10 s: after a run at 12:01:00.300, not due again in that slot', schedule: every10s, runs: [run('succeeded', '2026-01-05T12:01:00.300')], now: '2026-01-05T12:01:05', due: false},
    {name: '0 */5 (seconds 0): never ran, due at 12:05:00.200', schedule: fiveMinutes, runs: [], now: '2026-01-05T12:05:00.200', due: true},
    {name: '0 */5: ran at 12:05:00.200, not due at 12:09:59', schedule: fiveMinutes, runs: [run('succeeded', '2026-01-05T12:05:00.200')], now: '2026-01-05T12:09:59', due: false},
    {name: '0 */5: due at 12:10:00', schedule: fiveMinutes, runs: [run('succeeded', '2026-01-05T12:05:00.200')], now: '2026-01-05T12:10:00', due: true},
    {name: '0 */5: a new job is not due for a slot long gone (12:06)', schedule: fiveMinutes, runs: [], now: '2026-01-05T12:06:00', due: false},
    {name: '30 * (second 30): never ran, the crontab tick at 12:01:00 serves the 12:00:30 slot', schedule: atSecond30, runs: [], now: '2026-01-05T12:01:00.200', due: true},
    {name: '30 *: ran at 12:01:00.200, not due at 12:01:29', schedule: atSecond30, runs: [run('succeeded', '2026-01-05T12:01:00.200')], now: '2026-01-05T12:01:29', due: false},
    {name: '30 *: due at 12:01:30', schedule: atSecond30, runs: [run('succeeded', '2026-01-05T12:01:00.200')], now: '2026-01-05T12:01:30', due: true},
  ])

  it('names the slot to the second', () => {
    const now = at('2026-01-05T12:00:10.500Z')
    expect(isDue(every10s, historyFromRuns([], now), now, {timeZone: 'UTC'}).reason).to.equal("cron '*/10 * * * * *': slot 2026-01-05 12:00:10 has not run")
  })

  describe('on the wall clock of Europe/Paris across DST', () => {
    const zone = 'Europe/Paris'
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST. 2026-10-25: 03:00 CEST falls back to 02:00 CET.
    const paris = schedule({cron: '*/10 * * * * *'})
    const daily = schedule({cron: '15 30 2 * * *'})
    check([
      {name: '*/10 s: ran at 01:59:50 CET, due at 03:00:00 CEST (10 s later)', schedule: paris, runs: [run('succeeded', '2026-03-29T01:59:50+01:00', {zone})], now: '2026-03-29T03:00:00+02:00', zone, due: true},
      {name: '*/10 s: not due at 01:59:59 CET', schedule: paris, runs: [run('succeeded', '2026-03-29T01:59:50+01:00', {zone})], now: '2026-03-29T01:59:59+01:00', zone, due: false},
      {name: 'a slot in the gap (02:30:15) runs at the first tick after the jump', schedule: daily, runs: [run('succeeded', '2026-03-28T02:30:15+01:00', {zone})], now: '2026-03-29T03:00:00+02:00', zone, due: true},
      {name: 'and not again that day', schedule: daily, runs: [run('succeeded', '2026-03-29T03:00:00+02:00', {zone})], now: '2026-03-29T12:00:00+02:00', zone, due: false},
      {
        name: 'the repeated hour: a wall-clock slot that ran at 02:30:15 CEST is not run again at 02:30:15 CET',
        schedule: daily,
        runs: [run('succeeded', '2026-10-25T02:30:15+02:00', {zone})],
        now: '2026-10-25T02:30:20+01:00',
        zone,
        due: false,
      },
      {
        name: '*/10 s in the repeated hour: its slots ran once already (wall clock), so not due at 02:00:05 CET',
        schedule: paris,
        runs: [run('succeeded', '2026-10-25T02:59:55+02:00', {zone})],
        now: '2026-10-25T02:00:05+01:00',
        zone,
        due: false,
      },
      {
        name: 'runEverySeconds counts elapsed time through fall-back: 10 s after 02:59:55 CEST is due',
        schedule: schedule({runEverySeconds: 10}),
        runs: [run('succeeded', '2026-10-25T02:59:55+02:00', {zone})],
        now: '2026-10-25T02:00:05.001+01:00',
        zone,
        due: true,
      },
    ])
  })
})
