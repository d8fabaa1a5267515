import {expect} from 'chai'
import {DateTime} from 'luxon'
import {historyFromRuns} from '../../src/core/schedule/history'
import {isDue} from '../../src/core/schedule/is-due'
import {nextDue, nextDueTimes} from '../../src/core/schedule/next-due'
import type {Schedule} from '../../src/core/jobs/schedule'
import {at, run, schedule} from '../helpers/schedule'
import type {RunSummary} from '../../src/core/contract/run-types'

/** The slow, obviously right answer: ask isDue at every tick (every minute boundary, unless told). */
function bruteForce(s: Schedule, runs: RunSummary[], from: number, zone: string, limitMinutes: number, tickMs = 60_000): number | null {
  const history = historyFromRuns(runs, Number.MAX_SAFE_INTEGER)
  if (isDue(s, history, from, {timeZone: zone}).due) return from
  let t = Math.floor(from / tickMs) * tickMs + tickMs
  for (let i = 0; i < (limitMinutes * 60_000) / tickMs; i++, t += tickMs) if (isDue(s, history, t, {timeZone: zone}).due) return t
  return null
}

describe('nextDue: the same answer as asking isDue at every minute, found by jumping', () => {
  const cases: Array<{name: string; s: Schedule; runs: RunSummary[]; from: string; zone?: string; days?: number}> = [
    {name: 'every 5 minutes, no tolerance (drifts to 6)', s: schedule({runEveryMins: 5}), runs: [run('succeeded', '2026-01-05T10:00:00')], from: '2026-01-05T10:01:30'},
    {name: 'every 5 minutes, 10 s tolerance', s: schedule({runEveryMins: 5, runToleranceSeconds: 10}), runs: [run('succeeded', '2026-01-05T10:00:00.400')], from: '2026-01-05T10:01:30'},
    {name: 'every 90 minutes, never ran', s: schedule({runEveryMins: 90}), runs: [], from: '2026-01-05T10:01:30'},
    {name: 'slots, some done today', s: schedule({runAtTimes: ['06:00', '18:30']}), runs: [run('succeeded', '2026-01-05T06:00:00', {slot: '06:00'})], from: '2026-01-05T07:00:00'},
    {name: 'slots all done: tomorrow morning', s: schedule({runAtTimes: ['06:00', '18:30']}), runs: [run('succeeded', '2026-01-05T06:00:00', {slot: '06:00'}), run('succeeded', '2026-01-05T18:30:00', {slot: '18:30'})], from: '2026-01-05T19:00:00'},
    {name: 'weekend at 00:00 from a Monday', s: schedule({runWeeklyOnDays: [5, 6], runAtTimes: ['0:00']}), runs: [], from: '2026-01-05T00:30:00', days: 7},
    {name: 'days 1 and 15 of the month', s: schedule({runMonthlyOnDays: [1, 15], runAtTimes: ['12:00']}), runs: [], from: '2026-01-05T00:30:00', days: 12},
    {name: 'retry after a failure', s: schedule({runEveryMins: 60, retryAfterFailureMins: 17}), runs: [run('failed', '2026-01-05T10:00:00')], from: '2026-01-05T10:01:00'},
    {name: 'interval and slots together', s: schedule({runEveryMins: 240, runAtTimes: ['12:00']}), runs: [run('succeeded', '2026-01-05T10:00:00')], from: '2026-01-05T10:30:00'},
    {name: 'cron every 15 minutes', s: schedule({cron: '*/15 * * * *'}), runs: [run('succeeded', '2026-01-05T10:00:00')], from: '2026-01-05T10:01:00'},
    {name: 'cron weekdays at 09:00 from a Friday evening', s: schedule({cron: '0 9 * * 1-5'}), runs: [run('succeeded', '2026-01-09T09:00:00')], from: '2026-01-09T18:00:00', days: 4},
    {name: 'cron 02:30 across the spring-forward gap (New York)', s: schedule({cron: '30 2 * * *'}), runs: [run('succeeded', '2026-03-07T02:30:00-05:00', {zone: 'America/New_York'})], from: '2026-03-07T12:00:00-05:00', zone: 'America/New_York'},
    {name: 'every 5 s: the next crontab tick', s: schedule({runEverySeconds: 5}), runs: [run('succeeded', '2026-01-05T10:00:00.300')], from: '2026-01-05T10:00:01'},
    {name: 'every 30 s with a retry wait after a failure', s: schedule({runEverySeconds: 30, retryAfterFailureMins: 3}), runs: [run('failed', '2026-01-05T10:00:00.300')], from: '2026-01-05T10:00:01'},
    {name: "cron '*/10 * * * * *': the next crontab tick", s: schedule({cron: '*/10 * * * * *'}), runs: [run('succeeded', '2026-01-05T10:00:00.300')], from: '2026-01-05T10:00:01'},
    {name: "cron '0 */5 * * * *'", s: schedule({cron: '0 */5 * * * *'}), runs: [run('succeeded', '2026-01-05T10:00:00.300')], from: '2026-01-05T10:00:01'},
    {name: "cron '30 * * * * *': the tick after second 30", s: schedule({cron: '30 * * * * *'}), runs: [run('succeeded', '2026-01-05T10:00:00.300')], from: '2026-01-05T10:00:01'},
    {name: "cron '*/10 * * * * *' across the spring-forward gap (Paris)", s: schedule({cron: '*/10 * * * * *'}), runs: [run('succeeded', '2026-03-29T01:59:55+01:00', {zone: 'Europe/Paris'})], from: '2026-03-29T01:59:56+01:00', zone: 'Europe/Paris'},
    {name: 'slot 01:30 on the fall-back day (New York)', s: schedule({runAtTimes: ['01:30']}), runs: [run('succeeded', '2026-10-31T01:30:00-04:00', {zone: 'America/New_York'})], from: '2026-10-31T12:00:00-04:00', zone: 'America/New_York'},
  ]
  for (const c of cases) {
    it(c.name, () => {
      const zone = c.zone ?? 'UTC'
      const from = at(c.from, zone)
      const history = historyFromRuns(c.runs, Number.MAX_SAFE_INTEGER)
      const expected = bruteForce(c.s, c.runs, from, zone, (c.days ?? 3) * 1440)
      expect(expected, 'the brute force finds a due time').to.not.equal(null)
      expect(nextDue(c.s, history, from, {timeZone: zone})?.atMs).to.equal(expected)
    })
  }

  describe('for a runner that ticks every second (tickMs = 1000)', () => {
    const cases: Array<{name: string; s: Schedule; runs: RunSummary[]; from: string; zone?: string}> = [
      {name: 'every 1 s', s: schedule({runEverySeconds: 1}), runs: [run('succeeded', '2026-01-05T10:00:00.300')], from: '2026-01-05T10:00:00.500'},
      {name: 'every 5 s, 2 s tolerance', s: schedule({runEverySeconds: 5, runToleranceSeconds: 2}), runs: [run('succeeded', '2026-01-05T10:00:00.300')], from: '2026-01-05T10:00:00.500'},
      {name: "cron '*/10 * * * * *'", s: schedule({cron: '*/10 * * * * *'}), runs: [run('succeeded', '2026-01-05T10:00:00.300')], from: '2026-01-05T10:00:00.500'},
      {name: "cron '15 30 2 * * *' across the spring-forward gap (Paris)", s: schedule({cron: '15 30 2 * * *'}), runs: [run('succeeded', '2026-03-28T02:30:15+01:00', {zone: 'Europe/Paris'})], from: '2026-03-29T01:59:00+01:00', zone: 'Europe/Paris'},
      {name: 'every 5 min (whole minutes: the same as the crontab)', s: schedule({runEveryMins: 5}), runs: [run('succeeded', '2026-01-05T10:00:00.300')], from: '2026-01-05T10:01:00'},
    ]
    for (const c of cases) {
      it(c.name, () => {
        const zone = c.zone ?? 'UTC'
        const from = at(c.from, zone)
        const expected = bruteForce(c.s, c.runs, from, zone, 10, 1000)
        expect(expected, 'the brute force finds a due time').to.not.equal(null)
        expect(nextDue(c.s, historyFromRuns(c.runs, Number.MAX_SAFE_INTEGER), from, {timeZone: zone, tickMs: 1000})?.atMs).to.equal(expected)
      })
    }

    it('every 5 s: the next four, 5 s apart and on whole seconds', () => {
      const times = nextDueTimes(schedule({runEverySeconds: 5}), historyFromRuns([], 0), 'x', at('2026-01-05T10:00:00'), 4, {timeZone: 'UTC', tickMs: 1000})
      // Strictly more than 5 s after each start: the next whole second after it.
      expect(times.map((t) => new Date(t.atMs).toISOString().slice(11, 19))).to.deep.equal(['10:00:00', '10:00:06', '10:00:12', '10:00:18'])
    })
  })

  it('every 5 s, for the crontab: once a minute', () => {
    const times = nextDueTimes(schedule({runEverySeconds: 5}), historyFromRuns([], 0), 'x', at('2026-01-05T10:00:00'), 3, {timeZone: 'UTC'})
    expect(times.map((t) => new Date(t.atMs).toISOString().slice(11, 19))).to.deep.equal(['10:00:00', '10:01:00', '10:02:00'])
  })

  it('is null for a paused job and for a job with no schedule', () => {
    const history = historyFromRuns([], 0)
    expect(nextDue(schedule({runEveryMins: 5}), history, at('2026-01-05T00:00:00'), {timeZone: 'UTC', paused: {sinceMs: null, by: null}})).to.equal(null)
    expect(nextDue(schedule({}), history, at('2026-01-05T00:00:00'), {timeZone: 'UTC'})).to.equal(null)
  })
})

describe('nextDue asked again and again, as a scheduler asks at every wake (what it keeps between questions)', () => {
  it('gives the brute force answer asked back and forth across days, zones and a DST change, in any order', () => {
    const weekend = schedule({runWeeklyOnDays: [5, 6], runAtTimes: ['02:30']})
    const cron = schedule({cron: '30 2 * * *'})
    const questions: Array<[Schedule, string, string]> = []
    for (const zone of ['America/New_York', 'Europe/Paris']) {
      for (const from of ['2026-03-07T23:59:00', '2026-03-08T01:30:00', '2026-03-29T03:00:00', '2026-03-06T12:00:00']) {
        questions.push([weekend, zone, from], [cron, zone, from])
      }
    }
    for (const [s, zone, text] of [...questions, ...[...questions].reverse()]) {
      const from = at(text, zone)
      expect(nextDue(s, historyFromRuns([], Number.MAX_SAFE_INTEGER), from, {timeZone: zone})?.atMs, `${text} ${zone}`).to.equal(bruteForce(s, [], from, zone, 8 * 1440))
    }
  })
})

describe('nextDueTimes: the next N, each as if the previous had run', () => {
  it('every 5 minutes with 10 s tolerance: every 5 minutes', () => {
    const times = nextDueTimes(schedule({runEveryMins: 5, runToleranceSeconds: 10}), historyFromRuns([], 0), 'x', at('2026-01-05T10:00:00'), 4, {timeZone: 'UTC'})
    expect(times.map((t) => new Date(t.atMs).toISOString().slice(11, 16))).to.deep.equal(['10:00', '10:05', '10:10', '10:15'])
  })

  it('slots across days, with their slot names', () => {
    const times = nextDueTimes(schedule({runAtTimes: ['06:00', '18:30']}), historyFromRuns([], 0), 'x', at('2026-01-05T07:00:00'), 3, {timeZone: 'UTC'})
    expect(times.map((t) => `${new Date(t.atMs).toISOString().slice(0, 16)} ${t.slot}`)).to.deep.equal(['2026-01-05T07:00 06:00', '2026-01-05T18:30 18:30', '2026-01-06T06:00 06:00'])
  })

  it('through the spring-forward gap: the 02:30 slot falls at 03:00 EDT that day', () => {
    const zone = 'America/New_York'
    const times = nextDueTimes(schedule({runAtTimes: ['02:30']}), historyFromRuns([], 0), 'x', at('2026-03-07T03:00:00-05:00', zone), 3, {timeZone: zone})
    expect(times.map((t) => DateTime.fromMillis(t.atMs, {zone}).toISO())).to.deep.equal(['2026-03-07T03:00:00.000-05:00', '2026-03-08T03:00:00.000-04:00', '2026-03-09T02:30:00.000-04:00'])
  })
})
