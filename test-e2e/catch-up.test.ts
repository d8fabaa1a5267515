import {expect} from 'chai'
import path from 'node:path'
import {context, type Result, ROOT, sandboxOnFreshDatabase, type Sandbox} from '../test/helpers/cli'
import {BACKENDS} from '../test/helpers/db'

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'policies-settings.cjs')

/** Each period's record: 'HH:MM ran <what the run served>' or 'HH:MM skipped <reason>', oldest first. */
async function ledger(sandbox: Sandbox, code: string): Promise<string[]> {
  return sandbox.withDb(async (db) => {
    const time = (value: unknown) => new Date(value instanceof Date ? value : String(value)).toISOString().slice(11, 16)
    const runs = await db('cron_job_log').where({code}).select('period_at', 'status', 'message')
    const skips = await db('cron_skip').where({code}).select('period_at', 'reason')
    const records = [
      ...runs.map((row) => ({at: new Date(row.period_at instanceof Date ? row.period_at : String(row.period_at)).getTime(), text: `${time(row.period_at)} ${row.status} ${row.message}`})),
      ...skips.map((row) => ({at: new Date(row.period_at instanceof Date ? row.period_at : String(row.period_at)).getTime(), text: `${time(row.period_at)} skipped ${row.reason}`})),
    ]
    return records.sort((a, b) => a.at - b.at).map((record) => record.text)
  })
}

/**
 * The catch-up policies end to end: real `manage runcrons` processes, two "servers" at each tick
 * (started together, on one database), hourly cron jobs that ran at 10:00 and see no tick again
 * until 13:30. Every period from 10:00 to 14:00 ends with exactly one record, a run or a skip.
 */
for (const dialect of BACKENDS) describe(`catch-up after a 3-hour gap, two servers, on ${dialect}`, function () {
  this.timeout(120_000)
  const on = sandboxOnFreshDatabase(dialect, SETTINGS)

  async function tick(now: string): Promise<Result[]> {
    const env = {MANAGE_NOW: now, TEST_CRONS: 'CatchUpNoneJob,CatchUpLatestJob,CatchUpAllJob,CatchUpAllEveryJob'}
    const results = await Promise.all([on.sandbox.spawn(['runcrons', '-v', '2'], env), on.sandbox.spawn(['runcrons', '-v', '2'], env)])
    for (const result of results) expect(result.code, context(result)).to.equal(0)
    return results
  }

  it('none skips 11:00–13:00 and runs at 14:00; latest runs 13:00 late; all runs 11:00, 12:00, 13:00 in order; each period once', async () => {
    for (const now of ['2026-03-02T10:00:00Z', '2026-03-02T13:30:00Z', '2026-03-02T14:00:00Z']) await tick(now)
    expect(await ledger(on.sandbox, 'policy.none')).to.deep.equal([
      '10:00 succeeded served 2026-03-02T10:00:00Z',
      '11:00 skipped catch-up: none',
      '12:00 skipped catch-up: none',
      '13:00 skipped catch-up: none',
      '14:00 succeeded served 2026-03-02T14:00:00Z',
    ])
    expect(await ledger(on.sandbox, 'policy.latest')).to.deep.equal([
      '10:00 succeeded served 2026-03-02T10:00:00Z',
      '11:00 skipped catch-up: latest',
      '12:00 skipped catch-up: latest',
      '13:00 succeeded served 2026-03-02T13:00:00Z',
      '14:00 succeeded served 2026-03-02T14:00:00Z',
    ])
    expect(await ledger(on.sandbox, 'policy.all')).to.deep.equal([
      '10:00 succeeded served 2026-03-02T10:00:00Z',
      '11:00 succeeded served 2026-03-02T11:00:00Z',
      '12:00 succeeded served 2026-03-02T12:00:00Z',
      '13:00 succeeded served 2026-03-02T13:00:00Z',
      '14:00 succeeded served 2026-03-02T14:00:00Z',
    ])
    // An interval's periods follow its first run's minute; runToleranceSeconds lets 14:00 in on time.
    expect(await ledger(on.sandbox, 'policy.all_every')).to.deep.equal([
      '10:00 succeeded served 2026-03-02T10:00:00Z',
      '11:00 succeeded served 2026-03-02T11:00:00Z',
      '12:00 succeeded served 2026-03-02T12:00:00Z',
      '13:00 succeeded served 2026-03-02T13:00:00Z',
      '14:00 succeeded served 2026-03-02T14:00:00Z',
    ])

    // The ledger, as crons:history and the audit show it: every period accounted for.
    const env = {MANAGE_NOW: '2026-03-02T14:05:00Z', TEST_CRONS: 'CatchUpNoneJob,CatchUpLatestJob,CatchUpAllJob,CatchUpAllEveryJob'}
    const history = await on.sandbox.spawn(['crons:history', 'policy.none', '--status', 'skipped', '--json'], env)
    expect((JSON.parse(history.stdout) as Array<{period: string; reason: string}>).map((skip) => `${skip.period} ${skip.reason}`)).to.deep.equal([
      '2026-03-02T13:00:00.000Z catch-up: none',
      '2026-03-02T12:00:00.000Z catch-up: none',
      '2026-03-02T11:00:00.000Z catch-up: none',
    ])
    const audit = await on.sandbox.spawn(['audit', '--since', '1d', '--json'], env)
    expect(audit.code, context(audit)).to.equal(0)
    const report = JSON.parse(audit.stdout) as {ok: boolean; jobs: Array<{code: string; unaccounted: number; counts: {periods: number; skipped: number; twice: number}}>}
    expect(report.ok).to.equal(true)
    expect(report.jobs.map((job) => `${job.code} ${job.counts.periods} periods, ${job.counts.skipped} skipped, ${job.unaccounted} unaccounted, ${job.counts.twice} twice`)).to.deep.equal([
      'policy.none 5 periods, 3 skipped, 0 unaccounted, 0 twice',
      'policy.latest 5 periods, 2 skipped, 0 unaccounted, 0 twice',
      'policy.all 5 periods, 0 skipped, 0 unaccounted, 0 twice',
      'policy.all_every 5 periods, 0 skipped, 0 unaccounted, 0 twice',
    ])
  })
})
