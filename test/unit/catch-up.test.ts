import {expect} from 'chai'
import {historyFromRuns} from '../../src/core/schedule/history'
import {periodsBetween} from '../../src/core/schedule/periods'
import {verdictOf, type Verdict} from '../../src/core/schedule/verdict'
import type {CatchUp} from '../../src/core/jobs/run-policy'
import type {Schedule} from '../../src/core/jobs/schedule'
import type {PauseInfo, RunSummary} from '../../src/core/contract/run-types'
import {at, run, runPolicy, schedule} from '../helpers/schedule'

/** The periods as 'HH:MM' (or ISO when they span days) in the zone. */
function times(ms: number[], zone = 'UTC', long = false): string[] {
  return ms.map((value) => new Date(value).toLocaleString('sv-SE', {timeZone: zone}).slice(long ? 0 : 11, 16))
}

describe('periodsBetween: every period a schedule calls for, oldest first', () => {
  const rows: Array<{name: string; schedule: Schedule; after: string; now: string; zone?: string; expected: string[]; long?: boolean; limit?: number; more?: boolean}> = [
    {name: 'hourly cron, 10:00 held, 13:30: 11:00, 12:00, 13:00', schedule: schedule({cron: '0 * * * *'}), after: '2026-03-02T10:00', now: '2026-03-02T13:30', expected: ['11:00', '12:00', '13:00']},
    {name: 'a slot at now is called for; one after it is not', schedule: schedule({cron: '0 * * * *'}), after: '2026-03-02T10:00', now: '2026-03-02T12:00', expected: ['11:00', '12:00']},
    {name: 'interval: whole intervals after the held period, each once now passes it (strictly)', schedule: schedule({runEveryMins: 60}), after: '2026-03-02T10:00', now: '2026-03-02T13:00', expected: ['11:00', '12:00']},
    {name: 'interval: runToleranceSeconds brings a period in early', schedule: schedule({runEveryMins: 60, runToleranceSeconds: 5}), after: '2026-03-02T10:00', now: '2026-03-02T13:00', expected: ['11:00', '12:00', '13:00']},
    {name: 'runAtTimes across midnight: yesterday’s late slot and today’s', schedule: schedule({runAtTimes: ['06:00', '23:30']}), after: '2026-03-02T06:00', now: '2026-03-03T07:00', expected: ['2026-03-02 23:30', '2026-03-03 06:00'], long: true},
    {name: 'day filters: none on a weekend (2026-03-07 is a Saturday)', schedule: schedule({runAtTimes: ['09:00'], runWeeklyOnDays: [0, 1, 2, 3, 4]}), after: '2026-03-06T09:00', now: '2026-03-10T10:00', expected: ['2026-03-09 09:00', '2026-03-10 09:00'], long: true},
    {name: 'cron and runAtTimes together: one period per instant, the slot named', schedule: schedule({cron: '0 6 * * *', runAtTimes: ['06:00', '18:00']}), after: '2026-03-02T00:00', now: '2026-03-02T20:00', expected: ['06:00', '18:00']},
    {name: 'spring forward (Paris, 2026-03-29): a 02:30 slot comes at the jump (03:00)', schedule: schedule({runAtTimes: ['02:30']}), zone: 'Europe/Paris', after: '2026-03-28T02:30', now: '2026-03-29T04:00', expected: ['2026-03-29 03:00'], long: true},
    {name: 'fall back (Paris, 2026-10-25): a 02:30 cron slot once', schedule: schedule({cron: '30 2 * * *'}), zone: 'Europe/Paris', after: '2026-10-24T02:30', now: '2026-10-25T04:00', expected: ['2026-10-25 02:30'], long: true},
    {name: 'an every-minute cron over an hour, limited to 10: the oldest, and more', schedule: schedule({cron: '* * * * *'}), after: '2026-03-02T10:00', now: '2026-03-02T11:00', expected: ['10:01', '10:02', '10:03', '10:04', '10:05', '10:06', '10:07', '10:08', '10:09', '10:10'], limit: 10, more: true},
  ]
  for (const row of rows) {
    it(row.name, () => {
      const zone = row.zone ?? 'UTC'
      const found = periodsBetween(row.schedule, at(row.after, zone), at(row.now, zone), zone, row.limit ?? 500)
      expect(times(found.periods.map((period) => period.ms), zone, row.long)).to.deep.equal(row.expected)
      expect(found.more).to.equal(row.more ?? false)
    })
  }
})

interface Case {
  name: string
  schedule: Schedule
  catchUp: CatchUp | null
  windowMins?: number
  runs?: RunSummary[]
  /** cron_job.held_to (the latest period accounted for), and the last resume. */
  held?: string
  resumed?: string
  paused?: boolean
  now: string
  zone?: string
  /** 'run HH:MM' (the period served), 'skip', 'not-due', 'paused' */
  expect: string
  /** The skips, as 'HH:MM reason'. */
  skips?: string[]
}

function verdict(row: Case): Verdict {
  const zone = row.zone ?? 'UTC'
  const now = at(row.now, zone)
  const history = {...historyFromRuns(row.runs ?? [], now), heldToMs: row.held ? at(row.held, zone) : null, resumedMs: row.resumed ? at(row.resumed, zone) : null}
  const paused: PauseInfo | null = row.paused ? {sinceMs: at('2026-03-02T09:00', zone), by: 'ops'} : null
  return verdictOf(row.schedule, runPolicy({catchUp: row.catchUp, catchUpWindowMs: row.windowMins === undefined ? null : row.windowMins * 60_000}), history, now, {timeZone: zone, paused})
}

function summary(result: Verdict, zone: string): string {
  if (result.kind === 'due') return `run ${result.period ? times([result.period.ms], zone)[0] : '?'}`
  return result.kind
}

const hourly = schedule({cron: '0 * * * *'})
const ran10 = [run('succeeded', '2026-03-02T10:00:00.300', {period: '2026-03-02T10:00'})]

describe('catch-up policies: the verdict on the periods not accounted for (runs up to 10:00, next tick 13:30)', () => {
  const rows: Case[] = [
    {name: 'unset: django-cron’s rule (the latest slot runs once, nothing recorded)', schedule: hourly, catchUp: null, runs: ran10, now: '2026-03-02T13:30', expect: 'due'},
    {name: "none: 11:00, 12:00 and 13:00 skipped, nothing runs", schedule: hourly, catchUp: 'none', runs: ran10, held: '2026-03-02T10:00', now: '2026-03-02T13:30', expect: 'skip', skips: ['11:00 catch-up: none', '12:00 catch-up: none', '13:00 catch-up: none']},
    {name: 'none: then nothing until 14:00', schedule: hourly, catchUp: 'none', runs: ran10, held: '2026-03-02T13:00', now: '2026-03-02T13:31', expect: 'not-due'},
    {name: 'none: 14:00 runs on time', schedule: hourly, catchUp: 'none', runs: ran10, held: '2026-03-02T13:00', now: '2026-03-02T14:00', expect: 'run 14:00'},
    {name: 'none: a period less than a tick late still runs', schedule: hourly, catchUp: 'none', runs: ran10, held: '2026-03-02T13:00', now: '2026-03-02T14:00:59', expect: 'run 14:00'},
    {name: 'none: a gap ending at a period skips the older ones and runs it', schedule: hourly, catchUp: 'none', runs: ran10, held: '2026-03-02T10:00', now: '2026-03-02T14:00', expect: 'run 14:00', skips: ['11:00 catch-up: none', '12:00 catch-up: none', '13:00 catch-up: none']},
    {name: 'latest: 13:00 runs late, 11:00 and 12:00 skipped', schedule: hourly, catchUp: 'latest', runs: ran10, held: '2026-03-02T10:00', now: '2026-03-02T13:30', expect: 'run 13:00', skips: ['11:00 catch-up: latest', '12:00 catch-up: latest']},
    {name: 'latest: outside its window, nothing runs', schedule: hourly, catchUp: 'latest', windowMins: 20, runs: ran10, held: '2026-03-02T10:00', now: '2026-03-02T13:30', expect: 'skip', skips: ['11:00 outside the catch-up window', '12:00 outside the catch-up window', '13:00 outside the catch-up window']},
    {name: 'all: the oldest first, 11:00', schedule: hourly, catchUp: 'all', runs: ran10, held: '2026-03-02T10:00', now: '2026-03-02T13:30', expect: 'run 11:00', skips: []},
    {name: 'all: then 12:00 (its run of 11:00 started at 13:30)', schedule: hourly, catchUp: 'all', runs: [run('succeeded', '2026-03-02T13:30:00', {period: '2026-03-02T11:00'})], held: '2026-03-02T11:00', now: '2026-03-02T13:30:05', expect: 'run 12:00', skips: []},
    {name: 'all: within a 90-minute window, 11:00 is skipped and 12:00 runs', schedule: hourly, catchUp: 'all', windowMins: 90, runs: ran10, held: '2026-03-02T10:00', now: '2026-03-02T13:30', expect: 'run 12:00', skips: ['11:00 outside the catch-up window']},
    {name: 'all: past 100 missed, the older ones are skipped', schedule: schedule({cron: '* * * * *'}), catchUp: 'all', held: '2026-03-02T10:00', now: '2026-03-02T11:41', expect: 'run 10:02', skips: ['10:01 catch-up: more than 100 missed']},
    {name: 'paused: each period that came is skipped as paused', schedule: hourly, catchUp: 'all', runs: ran10, held: '2026-03-02T10:00', paused: true, now: '2026-03-02T12:10', expect: 'skip', skips: ['11:00 paused', '12:00 paused']},
    {name: 'resumed at 12:30: 11:00 and 12:00 came while paused, 13:00 runs', schedule: hourly, catchUp: 'all', runs: ran10, held: '2026-03-02T10:00', resumed: '2026-03-02T12:30', now: '2026-03-02T13:30', expect: 'run 13:00', skips: ['11:00 paused', '12:00 paused']},
    {name: 'interval none: 11:00, 12:00, 13:00 skipped', schedule: schedule({runEveryMins: 60}), catchUp: 'none', runs: ran10, held: '2026-03-02T10:00', now: '2026-03-02T13:30', expect: 'skip', skips: ['11:00 catch-up: none', '12:00 catch-up: none', '13:00 catch-up: none']},
    {name: 'interval none: the next period (14:00) runs at the next tick after it', schedule: schedule({runEveryMins: 60}), catchUp: 'none', runs: ran10, held: '2026-03-02T13:00', now: '2026-03-02T14:01', expect: 'run 14:00'},
    {name: 'a failed run accounts for its period', schedule: hourly, catchUp: 'latest', runs: [run('failed', '2026-03-02T13:00:00.2', {period: '2026-03-02T13:00'})], held: '2026-03-02T13:00', now: '2026-03-02T13:10', expect: 'not-due'},
    {name: '…unless retryAfterFailureMins retries it, after the wait', schedule: schedule({cron: '0 * * * *', retryAfterFailureMins: 5}), catchUp: 'latest', runs: [run('failed', '2026-03-02T13:00:00.2', {period: '2026-03-02T13:00'})], held: '2026-03-02T13:00', now: '2026-03-02T13:10', expect: 'run 13:00'},
    {name: '…and not during the wait', schedule: schedule({cron: '0 * * * *', retryAfterFailureMins: 15}), catchUp: 'latest', runs: [run('failed', '2026-03-02T13:00:00.2', {period: '2026-03-02T13:00'})], held: '2026-03-02T13:00', now: '2026-03-02T13:10', expect: 'not-due'},
    {name: 'first run (nothing held): as isDue says, serving its slot', schedule: hourly, catchUp: 'none', now: '2026-03-02T13:00:20', expect: 'run 13:00'},
    {name: 'DST (Paris): all runs the 02:30 slot of the spring-forward day at the jump', schedule: schedule({runAtTimes: ['02:30']}), catchUp: 'all', zone: 'Europe/Paris', held: '2026-03-28T02:30', now: '2026-03-29T04:00', expect: 'run 03:00'},
  ]
  for (const row of rows) {
    it(row.name, () => {
      const zone = row.zone ?? 'UTC'
      const result = verdict(row)
      const reason = 'decision' in result ? result.decision.reason : result.kind
      if (row.expect === 'due') expect(result.kind, reason).to.equal('due')
      else expect(summary(result, zone), reason).to.equal(row.expect)
      expect(reason).to.be.a('string').and.not.equal('')
      if (row.skips !== undefined) {
        const skips = 'skips' in result ? (result.skips ?? []) : []
        expect(skips.map((skip) => `${times([skip.ms], zone)[0]} ${skip.reason}`)).to.deep.equal(row.skips)
      }
    })
  }
})

describe('overlap policies: the periods that fell due while the last run was live', () => {
  // Hourly; the run of 10:00 ran until 12:30 (11:00 and 12:00 fell due while it was live).
  const long = [run('succeeded', '2026-03-02T10:00:00.2', {period: '2026-03-02T10:00'})]
  long[0].endMs = at('2026-03-02T12:30')
  const rows: Array<Omit<Case, 'catchUp'> & {catchUp?: CatchUp | null; overlap: 'skip' | 'bufferOne' | 'bufferAll' | 'cancelOther'}> = [
    {name: 'skip: both skipped, nothing runs', schedule: hourly, overlap: 'skip', runs: long, held: '2026-03-02T10:00', now: '2026-03-02T12:31', expect: 'skip', skips: ['11:00 overlap: skip', '12:00 overlap: skip']},
    {name: 'bufferOne: the latest runs right after, the one before it skipped', schedule: hourly, overlap: 'bufferOne', runs: long, held: '2026-03-02T10:00', now: '2026-03-02T12:31', expect: 'run 12:00', skips: ['11:00 overlap: bufferOne (one waiting)']},
    {name: 'bufferAll: each in order, the oldest first', schedule: hourly, overlap: 'bufferAll', runs: long, held: '2026-03-02T10:00', now: '2026-03-02T12:31', expect: 'run 11:00', skips: []},
    {name: 'cancelOther: the latest runs once the cancelled run has ended', schedule: hourly, overlap: 'cancelOther', runs: long, held: '2026-03-02T10:00', now: '2026-03-02T12:31', expect: 'run 12:00', skips: ['11:00 overlap: cancelOther']},
    {name: 'a period after the run ended is its catch-up policy’s (unset: the latest runs)', schedule: hourly, overlap: 'skip', runs: long, held: '2026-03-02T10:00', now: '2026-03-02T13:30', expect: 'run 13:00', skips: ['11:00 overlap: skip', '12:00 overlap: skip']},
    {name: '…and with catchUp none, skipped too', schedule: hourly, overlap: 'bufferOne', catchUp: 'none', runs: [run('succeeded', '2026-03-02T12:00:05', {period: '2026-03-02T12:00'})], held: '2026-03-02T12:00', now: '2026-03-02T14:30', expect: 'skip', skips: ['13:00 catch-up: none', '14:00 catch-up: none']},
  ]
  for (const row of rows) {
    it(row.name, () => {
      const zone = 'UTC'
      const now = at(row.now)
      const history = {...historyFromRuns(row.runs ?? [], now), heldToMs: at(row.held!), resumedMs: null}
      const result = verdictOf(row.schedule, runPolicy({catchUp: row.catchUp ?? null, overlap: row.overlap}), history, now, {timeZone: zone})
      const reason = 'decision' in result ? result.decision.reason : result.kind
      expect(summary(result, zone), reason).to.equal(row.expect)
      const skips = 'skips' in result ? (result.skips ?? []) : []
      expect(skips.map((skip) => `${times([skip.ms], zone)[0]} ${skip.reason}`)).to.deep.equal(row.skips)
    })
  }

  it('a live run holds the job whatever the policy (running elsewhere)', () => {
    const now = at('2026-03-02T11:00:30')
    const live = [run('running', '2026-03-02T10:00:00.2', {period: '2026-03-02T10:00', leaseUntil: '2026-03-02T11:05'})]
    const result = verdictOf(hourly, runPolicy({overlap: 'bufferOne'}), {...historyFromRuns(live, now), heldToMs: at('2026-03-02T10:00'), resumedMs: null}, now, {timeZone: 'UTC'})
    expect(result.kind).to.equal('running-elsewhere')
  })
})

describe('overlap cancelOther: a newer period asks the live run to stop', () => {
  const live = () => [run('running', '2026-03-02T10:00:00.2', {period: '2026-03-02T10:00', leaseUntil: '2026-03-02T11:05'})]
  const verdictAt = (now: string, paused = false) => {
    const ms = at(now)
    return verdictOf(hourly, runPolicy({overlap: 'cancelOther'}), {...historyFromRuns(live(), ms), heldToMs: at('2026-03-02T10:00'), resumedMs: null}, ms, {timeZone: 'UTC', paused: paused ? {sinceMs: at('2026-03-02T10:30'), by: 'ops'} : null})
  }
  it('before its next period: running elsewhere, nothing asked', () => {
    expect(verdictAt('2026-03-02T10:59')).to.deep.include({kind: 'running-elsewhere'}).and.not.have.property('cancelFor')
  })
  it('its next period has come: the live run is to be cancelled for it', () => {
    expect((verdictAt('2026-03-02T11:00:10') as {cancelFor?: number}).cancelFor).to.equal(at('2026-03-02T11:00'))
  })
  it('paused: nothing is cancelled (no new period is called for)', () => {
    expect(verdictAt('2026-03-02T11:00:10', true)).to.not.have.property('cancelFor')
  })
})
