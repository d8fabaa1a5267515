import {expect} from 'chai'
import type {CronClass, CronJobBase} from '../../src/core/contract/cron-job-base'
import type {LoadedJob} from '../../src/core/jobs/load-jobs'
import {explainJob} from '../../src/core/schedule/explain'
import {historyFromRuns} from '../../src/core/schedule/history'
import type {Schedule} from '../../src/core/jobs/schedule'
import {context, lines, Sandbox} from '../helpers/cli'
import {at, run, runPolicy, schedule} from '../helpers/schedule'
import type {PauseInfo, RunSummary} from '../../src/core/contract/run-types'

/** `manage why`: the decision of runcrons itself, traced rule by rule, as a table of (schedule, history, time) → answer. */
interface Row {
  name: string
  schedule: Schedule
  runs: RunSummary[]
  at: string
  zone?: string
  paused?: PauseInfo
  /** The answer and its reason. */
  verdict: string
  reason: RegExp
  /** The rules checked, in order, as "rule outcome". */
  steps?: string[]
  next?: string | null
}

const job = (s: Schedule): LoadedJob => ({className: 'ReportCronJob', code: 'app.report', job: {} as CronJobBase, jobClass: class {} as unknown as CronClass, schedule: s, policy: runPolicy(), pingUrl: null})

const rows: Row[] = [
  {
    name: 'every 5 min, ran at 10:00:03: not due at 10:04, next 10:05:03, rule by rule',
    schedule: schedule({runEveryMins: 5}),
    runs: [run('succeeded', '2026-01-05T10:00:03')],
    at: '2026-01-05T10:04:00',
    verdict: 'not-due',
    reason: /^every 5 min; last successful start 2026-01-05 10:00:03, due after 2026-01-05 10:05:03$/,
    steps: ['paused passes', 'month-day not-set', 'weekday not-set', 'retry not-set', 'interval blocks'],
    next: '2026-01-05T10:06:00.000Z',
  },
  {
    name: 'a slot with no successful run today: would run, serving it',
    schedule: schedule({runAtTimes: ['06:00']}),
    runs: [run('succeeded', '2026-01-04T06:00:00', {slot: '06:00'})],
    at: '2026-01-05T06:00:00',
    verdict: 'due',
    reason: /^slot 06:00 has not run today$/,
    steps: ['paused passes', 'month-day not-set', 'weekday not-set', 'retry not-set', 'interval not-set', 'cron not-set', 'slot due'],
  },
  {
    name: 'a failure inside its retry wait: held back by the retry rule',
    schedule: schedule({runEveryMins: 5, retryAfterFailureMins: 15}),
    runs: [run('failed', '2026-01-05T10:00:00')],
    at: '2026-01-05T10:10:00',
    verdict: 'not-due',
    reason: /^the run of 2026-01-05 10:00:00 failed; retrying after 2026-01-05 10:15:00$/,
    steps: ['paused passes', 'month-day not-set', 'weekday not-set', 'retry blocks'],
    next: '2026-01-05T10:16:00.000Z',
  },
  {
    name: 'paused: says since when and by whom, and has no next due time',
    schedule: schedule({runEveryMins: 5}),
    runs: [],
    at: '2026-01-05T10:00:00',
    paused: {sinceMs: at('2026-01-04T09:00:00'), by: 'ops@web1'},
    verdict: 'paused',
    reason: /^paused since 2026-01-04 09:00 by ops@web1 \(manage crons:resume to resume\)$/,
    steps: ['paused blocks'],
    next: null,
  },
  {
    name: 'a live run elsewhere: running elsewhere, with host, pid and lease',
    schedule: schedule({runEveryMins: 5}),
    runs: [run('running', '2026-01-05T09:59:00', {leaseUntil: '2026-01-05T10:04:00'})],
    at: '2026-01-05T10:00:00',
    verdict: 'running-elsewhere',
    reason: /^running elsewhere: run \d+ on test-host, pid 1, lease until 2026-01-05T10:04:00.000Z$/,
    steps: [],
  },
  {
    name: 'weekdays only, on a Sunday: held back by the weekday rule',
    schedule: schedule({runAtTimes: ['09:00'], runWeeklyOnDays: [0, 1, 2, 3, 4]}),
    runs: [],
    at: '2026-01-04T09:30:00',
    verdict: 'not-due',
    reason: /^runs only on Monday, Tuesday, Wednesday, Thursday, Friday; today is Sunday$/,
    steps: ['paused passes', 'month-day not-set', 'weekday blocks'],
    next: '2026-01-05T09:00:00.000Z',
  },
  {
    name: 'DST day in Europe/Paris (clocks go forward at 02:00): the 02:30 slot does not exist, runs at 03:00 local',
    schedule: schedule({runAtTimes: ['02:30'], timeZone: 'Europe/Paris'}),
    runs: [run('succeeded', '2026-03-28T02:30:00', {slot: '02:30', zone: 'Europe/Paris'})],
    at: '2026-03-29T03:00:00',
    zone: 'Europe/Paris',
    verdict: 'due',
    reason: /^slot 02:30 has not run today$/,
  },
  {
    name: 'DST day in Europe/Paris (clocks go back at 03:00): ran at 02:58 (+02:00); at 02:01 (+01:00) only 3 minutes have passed: not due, next 02:04 (+01:00)',
    schedule: schedule({runEveryMins: 5}),
    runs: [run('succeeded', '2026-10-25T02:58:00+02:00')],
    at: '2026-10-25T02:01:00+01:00',
    zone: 'Europe/Paris',
    verdict: 'not-due',
    reason: /^every 5 min; last successful start 2026-10-25 02:58:00, due after 2026-10-25 02:03:00$/,
    next: '2026-10-25T01:04:00.000Z',
  },
  {
    name: 'a cron expression between slots: held back by the cron rule, next slot given',
    schedule: schedule({cron: '0 */6 * * *'}),
    runs: [run('succeeded', '2026-01-05T06:00:00')],
    at: '2026-01-05T07:00:00',
    verdict: 'not-due',
    reason: /^cron '0 \*\/6 \* \* \*': no slot since the last run$/,
    steps: ['paused passes', 'month-day not-set', 'weekday not-set', 'retry not-set', 'interval not-set', 'cron blocks'],
    next: '2026-01-05T12:00:00.000Z',
  },
  {
    name: 'every 5 s, ran at 10:00:00.400: not due at 10:00:03, and the crontab tick next runs it at 10:01',
    schedule: schedule({runEverySeconds: 5}),
    runs: [run('succeeded', '2026-01-05T10:00:00.400')],
    at: '2026-01-05T10:00:03',
    verdict: 'not-due',
    reason: /^every 5 s; last successful start 2026-01-05 10:00:00, due after 2026-01-05 10:00:05$/,
    steps: ['paused passes', 'month-day not-set', 'weekday not-set', 'retry not-set', 'interval blocks'],
    next: '2026-01-05T10:01:00.000Z',
  },
  {
    name: "cron '*/10 * * * * *' at 10:00:15 after a run at 10:00:00.400: due, its slot named to the second",
    schedule: schedule({cron: '*/10 * * * * *'}),
    runs: [run('succeeded', '2026-01-05T10:00:00.400')],
    at: '2026-01-05T10:00:15',
    verdict: 'due',
    reason: /^cron '\*\/10 \* \* \* \* \*': slot 2026-01-05 10:00:10 has not run$/,
    steps: ['paused passes', 'month-day not-set', 'weekday not-set', 'retry not-set', 'interval not-set', 'cron due'],
  },
  {
    name: "cron '*/10 * * * * *' at 10:00:05 after a run at 10:00:00.400: not due, next the crontab tick at 10:01",
    schedule: schedule({cron: '*/10 * * * * *'}),
    runs: [run('succeeded', '2026-01-05T10:00:00.400')],
    at: '2026-01-05T10:00:05',
    verdict: 'not-due',
    reason: /^cron '\*\/10 \* \* \* \* \*': no slot since the last run$/,
    next: '2026-01-05T10:01:00.000Z',
  },
]

describe('manage why: the decision, rule by rule (explainJob)', () => {
  for (const row of rows) {
    it(row.name, () => {
      const zone = row.zone ?? 'UTC'
      const nowMs = at(row.at, zone)
      const explained = explainJob(job(row.schedule), historyFromRuns(row.runs, nowMs), row.paused ?? null, nowMs, {timeZone: zone})
      expect(explained.verdict, explained.reason).to.equal(row.verdict)
      expect(explained.reason).to.match(row.reason)
      if (row.steps) expect(explained.steps.map((step) => `${step.rule} ${step.outcome}`)).to.deep.equal(row.steps)
      if (row.next !== undefined) expect(explained.nextDueMs === null ? null : new Date(explained.nextDueMs).toISOString()).to.equal(row.next)
      expect(explained.rows.map((r) => r.id)).to.deep.equal([...row.runs].sort((a, b) => b.startMs - a.startMs).map((r) => r.id))
    })
  }
})

describe('manage why (the command)', function () {
  this.timeout(30_000)
  let box: Sandbox
  beforeEach(async () => {
    box = new Sandbox({tier: 'in-process'})
    await box.migrate()
  })
  afterEach(() => box.remove())

  it('in words and with --json, at a pinned time; --at sees no later rows; a bad --at is one line, exit 2', async () => {
    const tick = await box.runcrons('SuccessJob', '2026-01-05T10:00:00Z')
    expect(tick.code, context(tick)).to.equal(0)
    const words = await box.run(['why', 'SuccessJob', '--at', '2026-01-05T10:00:30Z'], {TEST_CRONS: 'SuccessJob'})
    expect(words.code, context(words)).to.equal(0)
    const shown = lines(words.stdout)
    expect(shown[0]).to.match(/^test\.success \(SuccessJob\) at 2026-01-05 10:00:30 UTC: not due: every 5 min; last successful start 2026-01-05 10:00:00, due after 2026-01-05 10:05:00$/)
    expect(shown).to.include('  ✗ interval    every 5 min; last successful start 2026-01-05 10:00:00, due after 2026-01-05 10:05:00')
    expect(shown).to.include('Next due: 2026-01-05 10:06:00 UTC')
    expect(shown.at(-1)).to.match(/^ {2}run 1 {2}succeeded {3}2026-01-05 10:00:00 UTC on \S+, pid \d+$/)

    // A run a scheduler started late (it waited for a free slot) says so, and its row in --json by how much.
    await box.withDb((db) => db('cron_job_log').where({id: 1}).update({started_late_ms: 2400}))
    const late = await box.run(['why', 'SuccessJob', '--at', '2026-01-05T10:00:30Z'], {TEST_CRONS: 'SuccessJob'})
    expect(lines(late.stdout).at(-1)).to.match(/^ {2}run 1 {2}succeeded {3}2026-01-05 10:00:00 UTC on \S+, pid \d+, started 2\.4 s late \(waited for a slot\)$/)
    const lateJson = JSON.parse((await box.run(['why', 'SuccessJob', '--at', '2026-01-05T10:00:30Z', '--json'], {TEST_CRONS: 'SuccessJob'})).stdout)
    expect(lateJson.rows.map((row: {id: number; startedLateMs: number | null}) => [row.id, row.startedLateMs])).to.deep.equal([[1, 2400]])

    const before = JSON.parse((await box.run(['why', 'test.success', '--at', '2026-01-05T09:59:00Z', '--json'], {TEST_CRONS: 'SuccessJob'})).stdout)
    expect(before).to.deep.include({code: 'test.success', verdict: 'due', reason: 'every 5 min; no successful run yet', rows: [], nextDue: null})

    const bad = await box.run(['why', 'SuccessJob', '--at', 'yesterday'], {TEST_CRONS: 'SuccessJob'})
    expect(bad.stderr).to.match(/^error: --at='yesterday' is not an ISO-8601 time: use e\.g\. --at=2026-11-23T05:00:00Z/)
    expect(bad.code).to.equal(2)
  })
})
