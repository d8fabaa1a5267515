import {expect} from 'chai'
import {auditJob, summarize} from '../../src/core/schedule/audit'
import type {Schedule} from '../../src/core/jobs/schedule'
import {context, lines, Sandbox} from '../helpers/cli'
import {at, run, schedule} from '../helpers/schedule'
import type {RunSummary} from '../../src/core/contract/run-types'

/** `manage audit`: every period a schedule called for, against the runs recorded, as a table. */
interface Row {
  name: string
  schedule: Schedule
  runs: RunSummary[]
  from: string
  to: string
  zone?: string
  paused?: string
  /** Each period as "due-time status", due times in `zone`. */
  periods: string[]
  missed: number
}

const every5 = schedule({runEveryMins: 5, runToleranceSeconds: 10})
const rows: Row[] = [
  {
    name: 'every 5 min, each run on its tick: three periods, each ran',
    schedule: every5,
    runs: [run('succeeded', '2026-01-05T10:00:01'), run('succeeded', '2026-01-05T10:05:01'), run('succeeded', '2026-01-05T10:10:01')],
    from: '2026-01-05T10:00:00',
    to: '2026-01-05T10:14:00',
    periods: ['10:00 ran', '10:05 ran', '10:10 ran'],
    missed: 0,
  },
  {
    name: 'every 5 min, the 10:05 tick never came: the next run serves it 5 min late, one period missed',
    schedule: every5,
    runs: [run('succeeded', '2026-01-05T10:00:01'), run('succeeded', '2026-01-05T10:10:01')],
    from: '2026-01-05T10:00:00',
    to: '2026-01-05T10:14:00',
    periods: ['10:00 ran', '10:05 late'],
    missed: 1,
  },
  {
    name: 'two processes ran the same period: ran twice',
    schedule: every5,
    runs: [run('succeeded', '2026-01-05T10:00:01'), run('succeeded', '2026-01-05T10:00:02')],
    from: '2026-01-05T10:00:00',
    to: '2026-01-05T10:04:00',
    periods: ['10:00 twice'],
    missed: 0,
  },
  {
    name: 'a second run inside a served period (--force, or another process): ran twice',
    schedule: every5,
    runs: [run('succeeded', '2026-01-05T10:00:01'), run('succeeded', '2026-01-05T10:02:30')],
    from: '2026-01-05T10:00:00',
    to: '2026-01-05T10:04:00',
    periods: ['10:00 twice'],
    missed: 0,
  },
  {
    name: 'a job with no schedule, run by hand: each run is extra, nothing missed',
    schedule: schedule({}),
    runs: [run('succeeded', '2026-01-05T10:00:01'), run('succeeded', '2026-01-05T11:00:01')],
    from: '2026-01-05T09:00:00',
    to: '2026-01-05T12:00:00',
    periods: ['10:00 extra', '11:00 extra'],
    missed: 0,
  },
  {
    name: 'a daily slot: ran, missed (its day ended without a run), ran',
    schedule: schedule({runAtTimes: ['06:00']}),
    runs: [run('succeeded', '2026-01-05T06:00:01', {slot: '06:00'}), run('succeeded', '2026-01-07T06:00:01', {slot: '06:00'})],
    from: '2026-01-05T00:00:00',
    to: '2026-01-07T23:59:00',
    periods: ['06:00 ran', '06:00 missed', '06:00 ran'],
    missed: 1,
  },
  {
    name: 'a failure and its retry 10 min later: failed, then ran',
    schedule: schedule({runEveryMins: 60, retryAfterFailureMins: 10, runToleranceSeconds: 10}),
    runs: [run('failed', '2026-01-05T10:00:01'), run('succeeded', '2026-01-05T10:10:01')],
    from: '2026-01-05T10:00:00',
    to: '2026-01-05T10:30:00',
    periods: ['10:00 failed', '10:10 ran'],
    missed: 0,
  },
  {
    name: 'DST day in Europe/Paris: the 02:30 slot does not exist on 29 March; served at 03:00, the first tick after the jump',
    schedule: schedule({runAtTimes: ['02:30'], timeZone: 'Europe/Paris'}),
    runs: [run('succeeded', '2026-03-28T02:30:01', {slot: '02:30', zone: 'Europe/Paris'}), run('succeeded', '2026-03-29T03:00:01', {slot: '02:30', zone: 'Europe/Paris'})],
    from: '2026-03-28T00:00:00',
    to: '2026-03-29T12:00:00',
    zone: 'Europe/Paris',
    periods: ['02:30 ran', '03:00 ran'],
    missed: 0,
  },
  {
    name: 'paused at 10:07: nothing is called for after it, nothing missed',
    schedule: every5,
    runs: [run('succeeded', '2026-01-05T10:00:01'), run('succeeded', '2026-01-05T10:05:01')],
    from: '2026-01-05T10:00:00',
    to: '2026-01-05T11:00:00',
    paused: '2026-01-05T10:07:00',
    periods: ['10:00 ran', '10:05 ran'],
    missed: 0,
  },
]

describe('manage audit: periods called for against runs recorded (auditJob)', () => {
  for (const row of rows) {
    it(row.name, () => {
      const zone = row.zone ?? 'UTC'
      const paused = row.paused ? {sinceMs: at(row.paused, zone), by: 'ops'} : null
      const periods = auditJob(row.schedule, row.runs, at(row.from, zone), at(row.to, zone), {timeZone: zone, paused})
      const local = (ms: number) => new Intl.DateTimeFormat('en-GB', {timeZone: zone, hour: '2-digit', minute: '2-digit', hour12: false}).format(ms)
      expect(periods.map((period) => `${local(period.dueMs)} ${period.status}`)).to.deep.equal(row.periods)
      expect(summarize(periods).missed).to.equal(row.missed)
    })
  }
})

describe('manage audit (the command)', function () {
  this.timeout(30_000)
  it('prints each job\'s periods and what went wrong, with --json; exit 1 when a period was missed', async () => {
    const box = new Sandbox({tier: 'in-process'})
    try {
      await box.migrate()
      for (const now of ['2026-01-05T10:00:00Z', '2026-01-05T10:05:00Z', '2026-01-05T10:15:00Z']) expect((await box.runcrons('SuccessJob', now)).code).to.equal(0)
      const result = await box.run(['audit', '--since', '20m'], {TEST_CRONS: 'SuccessJob', MANAGE_NOW: '2026-01-05T10:19:00Z'})
      expect(result.code, context(result)).to.equal(1)
      // Every 5 min with no tolerance: the 10:05 tick is not due (strictly after 10:05:00), so the
      // period opens at 10:06 and waits for the 10:15 tick: 9 min late, a whole period missed.
      const [head, late] = lines(result.stdout)
      expect(head).to.equal('test.success (every 5 min): 2 period(s) since 2026-01-05 09:59:00 UTC: 1 ran, 1 late (at most 9 min 0 s), 1 missed')
      expect(late).to.match(/^ {2}late {4}2026-01-05 10:06:00 UTC {2}by 9 min 0 s \(run 2 on \S+ pid \d+\): 1 period\(s\) missed before it$/)
      const json = JSON.parse((await box.run(['audit', 'test.success', '--since', '20m', '--json'], {TEST_CRONS: 'SuccessJob', MANAGE_NOW: '2026-01-05T10:19:00Z'})).stdout)
      expect(json).to.deep.include({ok: false, from: '2026-01-05T09:59:00.000Z', to: '2026-01-05T10:19:00.000Z'})
      expect(json.jobs[0]).to.deep.include({code: 'test.success', periods: 2, missed: 1})
      const bad = await box.run(['audit', '--since', 'a week'], {TEST_CRONS: 'SuccessJob'})
      expect(bad.stderr).to.equal("error: --since 'a week' is not a duration: use e.g. --since 7d (m, h, d or w)\n")
      expect(bad.code).to.equal(2)
    } finally {
      box.remove()
    }
  })
})
