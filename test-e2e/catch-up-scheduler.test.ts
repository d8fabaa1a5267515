import {expect} from 'chai'
import path from 'node:path'
import {ROOT, sandboxOnFreshDatabase, schedulersUntil} from '../test/helpers/cli'
import {BACKENDS} from '../test/helpers/db'

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'policies-settings.cjs')

/**
 * Under resident schedulers (real time, two of them on one database): a job every 2 s whose ledger
 * stops 3 minutes ago. Its first decision skips every missed period but the latest ('latest'),
 * runs that one, then each period on time: every period from the hold on has exactly one record.
 */
for (const dialect of BACKENDS) describe(`catch-up under two resident schedulers, on ${dialect}`, function () {
  this.timeout(60_000)
  const on = sandboxOnFreshDatabase(dialect, SETTINGS)

  it('skips the missed periods but the latest, runs it, then runs each period once', async () => {
    const heldMs = Math.floor(Date.now() / 2000) * 2000 - 180_000
    await on.sandbox.withDb(async (db) => {
      const held = dialect === 'sqlite' ? new Date(heldMs).toISOString() : new Date(heldMs)
      await db('cron_job').insert({code: 'policy.every2', held_to: held})
      await db('cron_job_log').insert({code: 'policy.every2', status: 'succeeded', start_time: held, end_time: held, period_at: held, message: 'seeded'})
    })
    const env = {TEST_CRONS: 'CatchUpEveryTwoJob'}
    // Real time, short periods: until three runs after the seeded one are recorded (their count, polled).
    const ranSince = () => on.sandbox.withDb(async (db) => Number((await db('cron_job_log').where({code: 'policy.every2', status: 'succeeded'}).count({n: '*'}))[0].n))
    await schedulersUntil(on.sandbox, 2, env, async () => (await ranSince()) >= 4, 20_000)
    const records = await on.sandbox.withDb(async (db) => {
      const ms = (value: unknown) => new Date(value instanceof Date ? value : String(value)).getTime()
      const runs = (await db('cron_job_log').where({code: 'policy.every2'}).select('period_at', 'status')).map((row) => ({at: ms(row.period_at), what: String(row.status)}))
      const skips = (await db('cron_skip').where({code: 'policy.every2'}).select('period_at', 'reason')).map((row) => ({at: ms(row.period_at), what: String(row.reason)}))
      return [...runs, ...skips].sort((a, b) => a.at - b.at)
    })
    // One record per period, every 2 s from the hold to the last: no period twice, none left out.
    const periods = records.map((record) => record.at)
    expect(new Set(periods).size, 'a period recorded twice').to.equal(periods.length)
    for (let i = 1; i < periods.length; i++) expect(periods[i] - periods[i - 1], `gap after ${new Date(periods[i - 1]).toISOString()}`).to.equal(2000)
    expect(periods[0]).to.equal(heldMs)
    const skipped = records.filter((record) => record.what === 'catch-up: latest')
    const ran = records.slice(1).filter((record) => record.what === 'succeeded')
    // 3 minutes of 2-second periods: all but the latest skipped (about 90), then a run per period.
    expect(skipped.length).to.be.within(85, 95)
    expect(ran.length).to.be.at.least(3)
    expect(records.slice(1 + skipped.length).every((record) => record.what === 'succeeded' || record.what === 'running')).to.equal(true)
  })
})
