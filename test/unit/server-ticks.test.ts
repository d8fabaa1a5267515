import {expect} from 'chai'
import {knexSource} from '../../src/core/db/connection-source'
import {SqlRunRecorder} from '../../src/core/run-log/recorder'
import {SqlServerTicks, type LoopLagSeen, type RunnerTick} from '../../src/core/run-log/server-ticks'
import {SqlRunStore} from '../../src/core/run-log/run-store'
import {BACKENDS, freshDatabase, plain, type TestDatabase} from '../helpers/db'
import * as runnerKind from '../../src/core/db/migrations/20261205000000_manage_runner_kind'
import * as lateness from '../../src/core/db/migrations/20261205000100_manage_lateness'
import {silentAlert} from '../../src/core/alerts/alert-text'
import {at} from '../helpers/schedule'

const MIN = 60_000

describe("runner_silent's text for a scheduler", () => {
  it('names the scheduler on its host, and its kind in the details; a crontab runner is said as before', () => {
    const scheduler = silentAlert({host: 'web2', kind: 'scheduler'}, at('2026-01-05T10:00:00Z'), at('2026-01-05T10:31:00Z'), [], 'web1')
    expect(scheduler.text.split('\n')[0]).to.equal('[manage] the scheduler on web2 has not ticked since 2026-01-05T10:00:00.000Z (31 min); other runners are ticking')
    expect(scheduler.details).to.deep.include({silentHost: 'web2', runner: 'scheduler'})
    expect(silentAlert({host: 'web2', kind: 'crontab'}, at('2026-01-05T10:00:00Z'), at('2026-01-05T10:31:00Z'), [], 'web1').text.split('\n')[0]).to.equal('[manage] web2 has not ticked since 2026-01-05T10:00:00.000Z (31 min); other servers are ticking')
  })
})

for (const dialect of BACKENDS) describe(`runners' heartbeats (cron_tick by host and kind) and runs' code versions on a real ${dialect} database`, () => {
  let t: TestDatabase
  let ticks: SqlServerTicks
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())
  beforeEach(async () => {
    for (const table of ['cron_tick', 'cron_job_log', 'cron_job']) await t.db(table).delete()
    ticks = new SqlServerTicks(knexSource(t.db, t.dialect))
  })
  const crontab = (host: string, time: string, pid = 100): RunnerTick => ({kind: 'crontab', host, pid, version: '0.1.0', atMs: at(time), silentAfterMs: 10 * MIN})
  const tickTime = (iso: string) => (dialect === 'sqlite' ? new Date(iso).toISOString() : new Date(iso))
  const shown = async () => (await ticks.list()).map((r) => `${r.host} ${r.kind} pid ${r.pid} since ${new Date(r.sinceMs).toISOString().slice(11, 16)} last ${new Date(r.atMs).toISOString().slice(11, 16)}`)

  it("a crontab tick and a scheduler on one server are two rows; the crontab's since is its first tick after a silence; the last tick never moves back", async () => {
    await ticks.record(crontab('web1', '2026-01-05T10:00:00Z'))
    await ticks.record(crontab('web1', '2026-01-05T10:01:00Z', 101))
    await ticks.record({kind: 'scheduler', host: 'web1', pid: 500, version: '0.1.0', atMs: at('2026-01-05T10:01:10Z'), sinceMs: at('2026-01-05T10:01:05Z')})
    // A long tick started at 10:00 writes at its end, after 10:09's: the last tick stays 10:09.
    await ticks.record(crontab('web1', '2026-01-05T10:09:00Z', 109))
    await ticks.record(crontab('web1', '2026-01-05T10:00:00Z', 110))
    expect(await shown()).to.deep.equal(['web1 crontab pid 110 since 10:00 last 10:09', 'web1 scheduler pid 500 since 10:01 last 10:01'])
    // Back after 9 min 59 s: the same run. After 10 min or more (silent): a new one.
    await ticks.record(crontab('web1', '2026-01-05T10:18:59Z'))
    expect((await shown())[0]).to.equal('web1 crontab pid 100 since 10:00 last 10:18')
    await ticks.record(crontab('web1', '2026-01-05T10:28:59Z'))
    expect((await shown())[0]).to.equal('web1 crontab pid 100 since 10:28 last 10:28')
    // A restarted scheduler takes its row over, with its own since.
    await ticks.record({kind: 'scheduler', host: 'web1', pid: 600, version: '0.2.0', atMs: at('2026-01-05T10:30:00Z'), sinceMs: at('2026-01-05T10:29:50Z')})
    expect((await shown())[1]).to.equal('web1 scheduler pid 600 since 10:29 last 10:30')
    const state = await ticks.tickState()
    expect(state.ticks.map((tick) => `${tick.host} ${tick.kind} ${tick.version} ${new Date(tick.sinceMs).toISOString()}`).sort()).to.deep.equal(['web1 crontab 0.1.0 2026-01-05T10:28:59.000Z', 'web1 scheduler 0.2.0 2026-01-05T10:29:50.000Z'])
    expect(await ticks.forget('web1', 'scheduler')).to.equal(true)
    expect(await shown()).to.deep.equal(['web1 crontab pid 100 since 10:28 last 10:28'])
    expect(await ticks.forget('web1')).to.equal(true)
    expect(await ticks.forget('web1')).to.equal(false)
  })

  it('the migration keeps each server\'s heartbeat as its crontab runner (since its first tick), and down() keeps the crontab rows', async () => {
    await lateness.down(t.db)
    await runnerKind.down(t.db)
    await t.db('cron_tick').insert({host: 'web1', pid: 7, version: '0.1.0', tick_at: tickTime('2026-01-05T10:09:00Z'), first_tick_at: tickTime('2026-01-01T00:00:00Z')})
    await runnerKind.up(t.db)
    await lateness.up(t.db)
    expect(await shown()).to.deep.equal(['web1 crontab pid 7 since 00:00 last 10:09'])
    expect(new Date((await ticks.list())[0].sinceMs).toISOString()).to.equal('2026-01-01T00:00:00.000Z')
    await ticks.record({kind: 'scheduler', host: 'web1', pid: 9, version: '0.1.0', atMs: at('2026-01-05T10:10:00Z'), sinceMs: at('2026-01-05T10:00:00Z')})
    await lateness.down(t.db)
    await runnerKind.down(t.db)
    expect((await t.db('cron_tick').select('host', 'pid')).map(plain)).to.deep.equal([{host: 'web1', pid: 7}])
    await runnerKind.up(t.db)
    await lateness.up(t.db)
  })

  it("a scheduler's heartbeat records its worst event-loop lag since the last one (null: none measured); the crontab's leaves the columns alone", async () => {
    const scheduler = (time: string, lag: LoopLagSeen | null): RunnerTick => ({kind: 'scheduler', host: 'web1', pid: 500, version: '0.1.0', atMs: at(time), sinceMs: at('2026-01-05T10:00:00Z'), lag})
    const lags = async () => (await ticks.list()).map((r) => `${r.kind} ${r.lag === null ? '-' : `${r.lag.lagMs} ms ${r.lag.codes.join('+')}`}`)
    await ticks.record(scheduler('2026-01-05T10:00:00Z', {lagMs: 2345.6, codes: ['app.crunch', 'app,odd']}))
    await ticks.record(crontab('web1', '2026-01-05T10:00:30Z'))
    expect(await lags()).to.deep.equal(['crontab -', 'scheduler 2346 ms app.crunch+app,odd'])
    await ticks.record(scheduler('2026-01-05T10:00:30Z', null))
    expect(await lags()).to.deep.equal(['crontab -', 'scheduler -'])
    await ticks.record(scheduler('2026-01-05T10:01:00Z', {lagMs: 3, codes: ['app.quick']}))
    expect((await ticks.list())[1].lag).to.deep.equal({lagMs: 3, codes: ['app.quick']})
  })

  it("the lateness migration goes down and up again on a run log with rows (existing databases: manage migrate)", async () => {
    await ticks.record(crontab('web1', '2026-01-05T10:00:00Z'))
    await lateness.down(t.db)
    expect(await t.db.schema.hasColumn('cron_job_log', 'started_late_ms')).to.equal(false)
    expect(await t.db.schema.hasColumn('cron_tick', 'lag_ms')).to.equal(false)
    await lateness.up(t.db)
    expect(await shown()).to.deep.equal(['web1 crontab pid 100 since 10:00 last 10:00'])
    expect((await ticks.list())[0].lag).to.equal(null)
  })

  it("a run's row records the version of its code when known (the insert names the column only then)", async () => {
    const recorder = new SqlRunRecorder(knexSource(t.db, t.dialect))
    const begin = (code: string, version: string | null) =>
      recorder.begin({code, holder: {token: `t-${code}`, host: 'web1', pid: 1}, nowMs: at('2026-01-05T10:00:00Z'), leaseMs: 60_000, parallel: false, decide: () => ({start: true, slot: null}), version})
    const known = await begin('a', '1.4.2+3f9c2ab')
    const unknown = await begin('b', null)
    const store = new SqlRunStore(knexSource(t.db, t.dialect))
    expect((await store.getRun((known as {runId: number}).runId))!.version).to.equal('1.4.2+3f9c2ab')
    expect((await store.getRun((unknown as {runId: number}).runId))!.version).to.equal(null)
  })

  it("a run that waited for a scheduler's free slot records how long (started_late_ms); one on time records null", async () => {
    const recorder = new SqlRunRecorder(knexSource(t.db, t.dialect))
    const begin = async (code: string, startedLateMs: number | null) =>
      ((await recorder.begin({code, holder: {token: `t-${code}`, host: 'web1', pid: 1}, nowMs: at('2026-01-05T10:00:02.400Z'), leaseMs: 60_000, parallel: false, decide: () => ({start: true, slot: null}), startedLateMs})) as {runId: number}).runId
    const late = await begin('late', 2400.4)
    const onTime = await begin('on-time', null)
    const store = new SqlRunStore(knexSource(t.db, t.dialect))
    expect((await store.getRun(late))!.startedLateMs).to.equal(2400)
    expect((await store.getRun(onTime))!.startedLateMs).to.equal(null)
  })
})
