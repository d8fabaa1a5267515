import {expect} from 'chai'
import {auditJobSince, type AuditCounts} from '../../src/core/schedule/audit'
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
  /** Some of the counts the text and the JSON show. */
  counts?: Partial<AuditCounts>
  /** No run at all: said once, nothing counted. */
  neverRan?: boolean
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
  {
    name: 'every 5 min, the 10:05 tick never came: 3 periods (1 ran, 1 late, 1 missed before it), the counts adding up',
    schedule: every5,
    runs: [run('succeeded', '2026-01-05T10:00:01'), run('succeeded', '2026-01-05T10:10:01')],
    from: '2026-01-05T10:00:00',
    to: '2026-01-05T10:14:00',
    periods: ['10:00 ran', '10:05 late'],
    missed: 1,
    counts: {periods: 3, ran: 1, late: 1, missed: 1, twice: 0},
  },
  {
    name: 'a job deployed at 09:00 audited over the day before: from its first run, nothing missed before it',
    schedule: every5,
    runs: [run('succeeded', '2026-01-05T09:00:01'), run('succeeded', '2026-01-05T09:05:01'), run('succeeded', '2026-01-05T09:10:01')],
    from: '2026-01-04T09:14:00',
    to: '2026-01-05T09:14:00',
    periods: ['09:00 ran', '09:05 ran', '09:10 ran'],
    missed: 0,
    counts: {periods: 3, ran: 3},
  },
  {
    name: 'a job with no run at all: never ran, said once, nothing counted as missed',
    schedule: every5,
    runs: [],
    from: '2026-01-04T10:00:00',
    to: '2026-01-05T10:00:00',
    periods: [],
    missed: 0,
    counts: {periods: 0},
    neverRan: true,
  },
  {
    name: 'a job that ran before the window and not in it: every period of the window is missed',
    schedule: schedule({runAtTimes: ['06:00']}),
    runs: [run('succeeded', '2026-01-04T06:00:01', {slot: '06:00'})],
    from: '2026-01-05T00:00:00',
    to: '2026-01-06T23:59:00',
    periods: ['06:00 missed', '06:00 missed'],
    missed: 2,
  },
  {
    // Ticks at 00:MM:01, a run forced at 00:03:30 (runcrons --force, the dashboard's run now), audited at 00:21.
    name: 'a run forced by hand inside a served period: extra (forced), not ran twice; the schedule goes on from it',
    schedule: schedule({runEveryMins: 5}),
    runs: [run('succeeded', '2026-12-06T00:00:01'), run('succeeded', '2026-12-06T00:03:30', {forced: true}), run('succeeded', '2026-12-06T00:09:01'), run('succeeded', '2026-12-06T00:15:01')],
    from: '2026-12-06T00:00:00',
    to: '2026-12-06T00:21:00',
    periods: ['00:00 ran', '00:03 extra', '00:09 ran', '00:15 ran', '00:21 pending'],
    missed: 0,
    counts: {periods: 4, ran: 3, twice: 0, extra: 1, pending: 1},
  },
  {
    name: 'a run forced while a period waited for its tick: it serves the period',
    schedule: every5,
    runs: [run('succeeded', '2026-01-05T10:00:01'), run('succeeded', '2026-01-05T10:05:30', {forced: true})],
    from: '2026-01-05T10:00:00',
    to: '2026-01-05T10:09:00',
    periods: ['10:00 ran', '10:05 ran'],
    missed: 0,
  },
]

describe('manage audit: periods called for against runs recorded (auditJob)', () => {
  for (const row of rows) {
    it(row.name, () => {
      const zone = row.zone ?? 'UTC'
      const paused = row.paused ? {sinceMs: at(row.paused, zone), by: 'ops'} : null
      const audit = auditJobSince(row.schedule, row.runs, at(row.from, zone), at(row.to, zone), {timeZone: zone, paused})
      const local = (ms: number) => new Intl.DateTimeFormat('en-GB', {timeZone: zone, hour: '2-digit', minute: '2-digit', hour12: false}).format(ms)
      expect(audit.periods.map((period) => `${local(period.dueMs)} ${period.status}`)).to.deep.equal(row.periods)
      expect(audit.counts.missed).to.equal(row.missed)
      if (row.counts) expect(audit.counts).to.deep.include(row.counts)
      expect(audit.neverRan).to.equal(row.neverRan ?? false)
      expect(audit.bad).to.equal(audit.counts.missed > 0 || audit.counts.twice > 0)
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
      expect(head).to.equal('test.success (every 5 min): 3 period(s) since 2026-01-05 10:00:00 UTC (its first run): 1 ran, 1 late (at most 9 min 0 s), 1 missed')
      expect(late).to.match(/^ {2}late {4}2026-01-05 10:06:00 UTC {2}by 9 min 0 s \(run 2 on \S+ pid \d+\): 1 period\(s\) missed before it$/)
      const json = JSON.parse((await box.run(['audit', 'test.success', '--since', '20m', '--json'], {TEST_CRONS: 'SuccessJob', MANAGE_NOW: '2026-01-05T10:19:00Z'})).stdout)
      expect(json).to.deep.include({ok: false, from: '2026-01-05T09:59:00.000Z', to: '2026-01-05T10:19:00.000Z'})
      expect(json.jobs[0]).to.deep.include({code: 'test.success', from: '2026-01-05T10:00:00.000Z', neverRan: false})
      expect(json.jobs[0].counts).to.deep.equal({periods: 3, ran: 1, late: 1, missed: 1, twice: 0, failed: 0, pending: 0, skipped: 0, extra: 0, maxLateMs: 540_000})
      const bad = await box.run(['audit', '--since', 'a week'], {TEST_CRONS: 'SuccessJob'})
      expect(bad.stderr).to.equal("error: --since 'a week' is not a duration: use e.g. --since 7d (m, h, d or w)\n")
      expect(bad.code).to.equal(2)
    } finally {
      box.remove()
    }
  })

  it('the issue\'s day: a run forced by hand is extra, a job that never ran is said once, and the text\'s numbers are the JSON\'s', async () => {
    const box = new Sandbox({tier: 'in-process'})
    try {
      await box.migrate()
      for (let minute = 0; minute <= 20; minute++) {
        const mm = String(minute).padStart(2, '0')
        expect((await box.runcrons('SuccessJob', `2026-12-06T00:${mm}:01Z`)).code).to.equal(0)
        if (minute === 3) expect((await box.runcrons('SuccessJob', '2026-12-06T00:03:30Z', ['test.success', '--force'])).code).to.equal(0)
      }
      const env = {TEST_CRONS: 'SuccessJob,FailJob', MANAGE_NOW: '2026-12-06T00:21:00Z'}
      const text = await box.run(['audit', '--since', '21m'], env)
      expect(text.code, context(text)).to.equal(0)
      expect(lines(text.stdout)).to.deep.equal([
        'test.success (every 5 min): 4 period(s) since 2026-12-06 00:00:00 UTC: 3 ran, 1 due now, 1 extra',
        '  extra   2026-12-06 00:03:30 UTC  run 2 on ' + /run 2 on (\S+ pid \d+)/.exec(text.stdout)![1] + ' (forced): run by hand (--force, run now)',
        '  pending 2026-12-06 00:21:00 UTC  due now, no run yet',
        'test.fail (every 5 min): never ran (no run recorded by 2026-12-06 00:21:00 UTC; nothing counted as missed)',
      ])
      const json = JSON.parse((await box.run(['audit', '--since', '21m', '--json'], env)).stdout)
      expect(json.ok).to.equal(true)
      expect(json.jobs.map((job: {code: string; neverRan: boolean}) => `${job.code} ${job.neverRan}`)).to.deep.equal(['test.success false', 'test.fail true'])
      // Each number of the text is the JSON's count of that name.
      const words: Record<string, string> = {'period(s)': 'periods', ran: 'ran', late: 'late', missed: 'missed', 'ran twice': 'twice', failed: 'failed', 'due now': 'pending', extra: 'extra'}
      const said = [...lines(text.stdout)[0].matchAll(/(\d+) (period\(s\)|ran twice|ran|late|missed|failed|due now|extra)/g)].map((match) => [words[match[2]], Number(match[1])])
      expect(said).to.have.length(4)
      for (const [name, value] of said) expect(json.jobs[0].counts[name], String(name)).to.equal(value)
    } finally {
      box.remove()
    }
  })
})
