import {expect} from 'chai'
import path from 'node:path'
import {knexSource} from '../../src/core/db/connection-source'
import {runCrons} from '../../src/core/tick/run-crons'
import {fixedClock} from '../../src/core/time/clock'
import {DashboardData} from '../../src/dashboard/data'
import {jobPage} from '../../src/dashboard/pages'
import {job, settingsWith} from '../fixtures/jobs'
import {context, lines, ROOT, Sandbox} from '../helpers/cli'
import {BACKENDS, freshDatabase, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'policies-settings.cjs')

/** The policies in words: check explains each, crons:list names them, why names the one that decided (in this process, sqlite). */
describe('policies, shown: check, crons:list, why', function () {
  this.timeout(60_000)
  let sandbox: Sandbox
  before(async () => {
    sandbox = new Sandbox({settings: SETTINGS, tier: 'in-process'})
    await sandbox.migrate()
  })
  after(() => sandbox.remove())

  it('check explains each policy of each job in words', async () => {
    const result = await sandbox.run(['check'], {TEST_CRONS: 'CatchUpNoneJob,CatchUpSlotsJob,BufferOneJob'})
    expect(result.code, context(result)).to.equal(0)
    const text = result.stdout + result.stderr
    expect(text).to.include("catch-up 'none': a period missed by more than a tick is skipped, and recorded so; the next period on time runs")
    expect(text).to.include("catch-up 'all': each missed period runs, oldest first, one at a time, within 24 h (older ones are skipped, outside the catch-up window)")
    expect(text).to.include("overlap 'bufferOne': the latest period that falls due while a run is live starts right after it ends; the others are recorded skipped")
    expect(text).to.include('catch-up (not set): after missed periods the latest runs once')
  })

  it('crons:list names the policies beside the schedule', async () => {
    const result = await sandbox.run(['crons:list'], {TEST_CRONS: 'CatchUpLatestJob,BufferOneJob'})
    expect(result.code, context(result)).to.equal(0)
    expect(result.stdout).to.include('catch-up latest')
    expect(result.stdout).to.include('overlap bufferOne')
  })

  it('why names the policy that decided, and the next period after the ledger’s hold', async () => {
    const env = {TEST_CRONS: 'CatchUpNoneJob'}
    for (const now of ['2026-03-02T10:00:00Z', '2026-03-02T13:30:00Z']) {
      const tick = await sandbox.runcrons('CatchUpNoneJob', now)
      expect(tick.code, context(tick)).to.equal(0)
    }
    const why = await sandbox.run(['why', 'policy.none', '--at', '2026-03-02T13:45:00Z'], env)
    expect(why.code, context(why)).to.equal(0)
    expect(lines(why.stdout)[0]).to.equal("policy.none (CatchUpNoneJob) at 2026-03-02 13:45:00 UTC: not due: catch-up 'none': every period up to 2026-03-02 13:00:00 is accounted for, and none has come since")
    expect(why.stdout).to.include('Next due: 2026-03-02 14:00:00 UTC')
    const dry = await sandbox.run(['crons:clean', '--older-than', '90m', '--dry-run'], {...env, MANAGE_NOW: '2026-03-02T13:45:00Z'})
    expect(lines(dry.stdout)).to.include('Would delete 2 skipped period(s) of the ledger, before then.')
    const skipped = await sandbox.run(['crons:history', 'policy.none', '--status', 'skipped'], env)
    expect(lines(skipped.stdout).slice(1).map((line) => line.split(/\s{2,}/).slice(1, 3).concat(line.replace(/.*\s{2,}/, '')).join(' | '))).to.deep.equal([
      'policy.none | 2026-03-02 13:00:00 UTC | catch-up: none',
      'policy.none | 2026-03-02 12:00:00 UTC | catch-up: none',
      'policy.none | 2026-03-02 11:00:00 UTC | catch-up: none',
    ])
  })
})

/** The dashboard's job page: a policy job's skipped periods, and its next periods after its ledger's hold (each backend, in this process). */
for (const dialect of BACKENDS) describe(`policies on the dashboard, on ${dialect}`, function () {
  this.timeout(30_000)
  let t: TestDatabase
  before(async () => {
    t = await freshDatabase({dialect})
  })
  after(() => t.close())

  it('the job page lists the skipped periods and why; upcoming starts after the hold', async () => {
    const settings = settingsWith([job('app.hourly', {cron: '0 * * * *', catchUp: 'none'})])
    for (const now of ['2026-03-02T10:00:00Z', '2026-03-02T13:30:00Z']) await runCrons({db: t.db, dialect: t.dialect, settings, clock: fixedClock(at(now))})
    const data = new DashboardData(knexSource(t.db, t.dialect), settings)
    const page = (await data.job('app.hourly', at('2026-03-02T13:31:00Z')))!
    expect(page.skips.map((skip) => `${new Date(skip.periodMs).toISOString().slice(11, 16)} ${skip.reason}`)).to.deep.equal(['13:00 catch-up: none', '12:00 catch-up: none', '11:00 catch-up: none'])
    expect(new Date(page.upcoming[0]).toISOString()).to.equal('2026-03-02T14:00:00.000Z')
    const html = jobPage({title: 'app.hourly', user: null, csrf: null}, {...page, nowMs: at('2026-03-02T13:31:00Z')}, 'UTC')
    expect(html).to.include('<h2>Skipped periods (its policies; each period has one record)</h2>')
    expect(html).to.include('<tr><td>2026-03-02 12:00:00</td><td>catch-up: none</td>')
  })

  it('deleteLogsOlderThanDays: a policy job trims its old skips when it records new ones', async () => {
    const settings = settingsWith([job('app.trimmed', {cron: '0 * * * *', catchUp: 'none'})], {deleteLogsOlderThanDays: 1})
    for (const now of ['2026-03-02T10:00:00Z', '2026-03-02T13:30:00Z', '2026-03-04T10:30:00Z']) await runCrons({db: t.db, dialect: t.dialect, settings, clock: fixedClock(at(now))})
    const periods = (await t.db('cron_skip').where({code: 'app.trimmed'}).select('period_at')).map((row) => new Date(row.period_at instanceof Date ? row.period_at : String(row.period_at)).getTime())
    // Day 2's gap recorded (from 14:00 on 03-02 to 10:00 on 03-04), those before 03-03 10:30 deleted as it was.
    expect(periods.length).to.be.above(0)
    expect(Math.min(...periods)).to.be.at.least(at('2026-03-03T10:30:00Z'))
  })
})
