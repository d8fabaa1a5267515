import {expect} from 'chai'
import path from 'node:path'
import {ROOT, type Sandbox, sandboxOnFreshDatabase, schedulersUntil} from '../test/helpers/cli'
import {BACKENDS} from '../test/helpers/db'

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'policies-settings.cjs')

interface Record {
  periodMs: number
  what: string
  startMs?: number
  endMs?: number | null
  pid?: number
}

/** A job's ledger, oldest period first: its runs (with their times) and its skips. */
async function ledgerOf(sandbox: Sandbox, code: string): Promise<Record[]> {
  return sandbox.withDb(async (db) => {
    const ms = (value: unknown) => (value === null ? null : new Date(value instanceof Date ? value : String(value)).getTime())
    const runs = (await db('cron_job_log').where({code}).select('period_at', 'status', 'start_time', 'end_time', 'pid')).map((row): Record => ({periodMs: ms(row.period_at)!, what: String(row.status), startMs: ms(row.start_time)!, endMs: ms(row.end_time), pid: Number(row.pid)}))
    const skips = (await db('cron_skip').where({code}).select('period_at', 'reason')).map((row): Record => ({periodMs: ms(row.period_at)!, what: String(row.reason)}))
    return [...runs, ...skips].sort((a, b) => a.periodMs - b.periodMs)
  })
}

/**
 * Overlap policies across servers: two resident schedulers (real time) on one database, a job
 * every second whose runs take 2.5 s, so that each outlives its period.
 */
for (const dialect of BACKENDS) describe(`overlap across two schedulers, on ${dialect}`, function () {
  this.timeout(90_000)
  const on = sandboxOnFreshDatabase(dialect, SETTINGS)

  it("bufferOne: the latest period that fell due during a run starts right after it, the others are skipped; runs never overlap; each period once", async () => {
    const env = {TEST_CRONS: 'BufferOneJob'}
    await schedulersUntil(on.sandbox, 2, env, async () => (await ledgerOf(on.sandbox, 'policy.buffer_one')).filter((record) => record.what === 'succeeded').length >= 3, 40_000)

    const records = await ledgerOf(on.sandbox, 'policy.buffer_one')
    const periods = records.map((record) => record.periodMs)
    expect(new Set(periods).size, 'a period recorded twice').to.equal(periods.length)
    // From the first run on, every period (each second) has its record.
    for (let i = 1; i < periods.length; i++) expect(periods[i] - periods[i - 1], `gap after ${new Date(periods[i - 1]).toISOString()}`).to.equal(1000)
    const runs = records.filter((record) => record.startMs !== undefined && record.endMs !== null)
    for (let i = 1; i < runs.length; i++) {
      // Never two at once, and the buffered one starts right after the one before it ends.
      expect(runs[i].startMs!, 'overlapping runs').to.be.at.least(runs[i - 1].endMs!)
      expect(runs[i].startMs! - runs[i - 1].endMs!, 'started right after').to.be.below(1000)
      // It serves the latest period that fell due while the one before ran.
      expect(runs[i].periodMs).to.be.at.most(runs[i - 1].endMs!)
      expect(runs[i].periodMs).to.be.above(runs[i - 1].endMs! - 1000)
    }
    const skips = records.filter((record) => record.startMs === undefined)
    expect(skips.length).to.be.at.least(2)
    expect(new Set(skips.map((skip) => skip.what))).to.deep.equal(new Set(['overlap: bufferOne (one waiting)']))
  })

  for (const servers of [2, 1]) it(`cancelOther, ${servers} scheduler(s): each period stops the live run (recorded cancelled, by that period) and starts once it has ended; each period once`, async () => {
    await on.sandbox.withDb(async (db) => {
      for (const table of ['cron_skip', 'cron_job_log', 'cron_job']) await db(table).where({code: 'policy.cancel_other'}).delete()
    })
    const env = {TEST_CRONS: 'CancelOtherJob'}
    await schedulersUntil(on.sandbox, servers, env, async () => (await ledgerOf(on.sandbox, 'policy.cancel_other')).filter((record) => record.what === 'cancelled').length >= 3, 40_000)

    const records = await ledgerOf(on.sandbox, 'policy.cancel_other')
    const periods = records.map((record) => record.periodMs)
    expect(new Set(periods).size, 'a period recorded twice').to.equal(periods.length)
    const runs = records.filter((record) => record.startMs !== undefined)
    const messages = await on.sandbox.withDb(async (db) => (await db('cron_job_log').where({code: 'policy.cancel_other', status: 'cancelled'}).orderBy('id')).map((row) => String(row.message)))
    for (const message of messages) expect(message).to.match(/^cancelled for the period of \S+ \(overlap: cancelOther\); it returned: served /)
    for (let i = 1; i < runs.length; i++) {
      if (runs[i - 1].what !== 'cancelled') continue
      // The new one starts once the cancelled one has ended, soon after its period came.
      expect(runs[i].startMs!, 'overlapping runs').to.be.at.least(runs[i - 1].endMs!)
      expect(runs[i].startMs! - runs[i].periodMs, 'started soon after its period').to.be.below(3000)
    }
  })
})
