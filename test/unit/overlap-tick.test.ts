import {expect} from 'chai'
import type {Knex} from 'knex'
import type {CronContext} from '../../src/core/contract/cron-job-base'
import {runCrons, type RunCronsOptions} from '../../src/core/tick/run-crons'
import type {Clock} from '../../src/core/time/clock'
import {job, settingsWith} from '../fixtures/jobs'
import {BACKENDS, freshDatabase, plain, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

/**
 * The overlap policies under the crontab tick, two processes (two connections, each tick with its
 * own clock): a run outlives its period, the other process's tick at the next minute finds it live,
 * and the policy decides what becomes of the periods that fell due meanwhile. The resident
 * scheduler's side is test-e2e/overlap.test.ts, with real processes.
 */
for (const dialect of BACKENDS) describe(`overlap under the crontab tick, two processes, on ${dialect}`, () => {
  let t: TestDatabase
  let other: Knex
  before(async () => {
    t = await freshDatabase({dialect})
    other = t.connect()
  })
  after(() => t.close())
  beforeEach(async () => {
    for (const table of ['cron_skip', 'cron_job_log', 'cron_job']) await t.db(table).delete()
  })

  /** A process's tick at its clock's instants (its leases by the same clock). */
  const tick = (db: Knex, crons: unknown[], clock: Clock, options: Partial<RunCronsOptions> = {}) =>
    runCrons({db, dialect: t.dialect, settings: settingsWith(crons), clock, leaseClock: clock, host: 'test-host', pid: db === t.db ? 1 : 2, cancelPollMs: 10, ...options})
  const minute = (iso: unknown) => String(iso).slice(11, 16)
  const runs = async (code: string) => (await t.db('cron_job_log').where({code}).orderBy('id')).map((row: Record<string, unknown>) => plain(row)).map((row) => `${minute(row.period_at)} ${String(row.status)}: ${String(row.message)}`)
  const skips = async (code: string) => (await t.db('cron_skip').where({code}).orderBy('period_at')).map((row: Record<string, unknown>) => plain(row)).map((row) => `${minute(row.period_at)} ${String(row.reason)}`)
  /**
   * Process 1's tick at 10:00:05 (its clock moved by `moveTo`), running a cron job every minute with this
   * overlap policy whose first run waits for `release` (or its signal), then says which period it served.
   * Resolves once that run is under way.
   */
  const outliving = async (code: string, overlap: 'bufferOne' | 'cancelOther') => {
    let started!: () => void
    let release!: () => void
    const running = new Promise<void>((resolve) => (started = resolve))
    const released = new Promise<void>((resolve) => (release = resolve))
    let first = true
    const body = async (ctx: CronContext) => {
      if (first) {
        first = false
        started()
        await Promise.race([released, new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, {once: true}))])
      }
      return `served ${ctx.now.toFormat('HH:mm')}`
    }
    const Job = job(code, {cron: '* * * * *', overlap}, body)
    let nowA = at('2026-03-02T10:00:05Z')
    const ticking = tick(t.db, [Job], () => nowA)
    await running
    return {Job, ticking, release, moveTo: (iso: string) => void (nowA = at(iso))}
  }

  it("bufferOne: the next minute's tick elsewhere finds the run live and leaves the period waiting; it starts right after the run ends, the one before it skipped; every period once", async () => {
    const {Job, ticking, release, moveTo} = await outliving('buffered', 'bufferOne')
    // Process 2 at 10:01 and 10:02: the run of 10:00 is live, on process 1.
    for (const now of ['2026-03-02T10:01:05Z', '2026-03-02T10:02:05Z']) {
      const result = await tick(other, [Job], () => at(now))
      expect(result.outcomes.map((outcome) => outcome.kind)).to.deep.equal(['running-elsewhere'])
    }
    expect(await skips('buffered'), 'nothing decided while it runs').to.deep.equal([])
    // The run ends at 10:02:30: process 1's tick goes on with the latest period that waited.
    moveTo('2026-03-02T10:02:30Z')
    release()
    const result = await ticking
    expect(result.outcomes.map((outcome) => outcome.kind)).to.deep.equal(['succeeded', 'succeeded'])
    await tick(other, [Job], () => at('2026-03-02T10:03:05Z'))
    expect(await runs('buffered')).to.deep.equal(['10:00 succeeded: served 10:00', '10:02 succeeded: served 10:02', '10:03 succeeded: served 10:03'])
    expect(await skips('buffered')).to.deep.equal(['10:01 overlap: bufferOne (one waiting)'])
  })

  it("cancelOther: the next minute's tick elsewhere asks the live run to stop; it is recorded cancelled, and the new period starts once it has ended", async () => {
    const {Job, ticking, moveTo} = await outliving('cancelling', 'cancelOther')
    moveTo('2026-03-02T10:01:06Z')
    const asked = await tick(other, [Job], () => at('2026-03-02T10:01:05Z'))
    expect(asked.outcomes.map((outcome) => outcome.kind)).to.deep.equal(['running-elsewhere'])
    // Process 1's run sees the request (its poll), stops, and its tick runs the period that asked.
    const result = await ticking
    expect(result.outcomes.map((outcome) => outcome.kind)).to.deep.equal(['cancelled', 'succeeded'])
    expect(await runs('cancelling')).to.deep.equal(['10:00 cancelled: cancelled for the period of 2026-03-02T10:01:00.000Z (overlap: cancelOther); it returned: served 10:00', '10:01 succeeded: served 10:01'])
    expect(await skips('cancelling')).to.deep.equal([])
    expect(await t.db('cron_job').whereNotNull('lock_token').pluck('code'), 'no claim left held').to.deep.equal([])
  })

  it("catchUp 'all': the missed periods in turn, then the tick stops without another claim (an on-time run has nothing left)", async () => {
    const served: string[] = []
    const Job = job('catching', {cron: '0 * * * *', catchUp: 'all'}, (ctx) => void served.push(ctx.now.toFormat('HH:mm')))
    const claims: string[] = []
    const listen = (query: {sql: string}) => {
      if (/^UPDATE cron_job SET lock_token = \?/.test(query.sql)) claims.push(query.sql)
    }
    await tick(t.db, [Job], () => at('2026-03-02T10:00:05Z'))
    t.db.on('query', listen)
    try {
      // 11:00 and 12:00 missed; 13:00 on time.
      await tick(t.db, [Job], () => at('2026-03-02T13:00:05Z'))
    } finally {
      t.db.off('query', listen)
    }
    expect(served).to.deep.equal(['10:00', '11:00', '12:00', '13:00'])
    expect(claims, 'one claim per period run').to.have.length(3)
  })
})

