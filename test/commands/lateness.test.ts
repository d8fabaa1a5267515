import {expect} from 'chai'
import {knexSource} from '../../src/core/db/connection-source'
import {SqlRunRecorder} from '../../src/core/run-log/recorder'
import {SqlRunStore} from '../../src/core/run-log/run-store'
import {SqlServerTicks} from '../../src/core/run-log/server-ticks'
import {runPage} from '../../src/dashboard/pages'
import {context, lines, Sandbox} from '../helpers/cli'
import {BACKENDS, freshDatabase, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

/**
 * What a resident scheduler records of its lateness, as the commands show it (in this process, on
 * each backend): a run that waited for a free slot (cron_job_log.started_late_ms) in crons:history
 * and the dashboard's run page; a scheduler's worst event-loop lag (cron_tick.lag_ms, lag_jobs) in
 * `manage runners`. The rows are written as the scheduler writes them (the recorder, the heartbeat).
 */
for (const dialect of BACKENDS) describe(`a scheduler's lateness, shown, on ${dialect}`, function () {
  this.timeout(30_000)
  let t: TestDatabase
  let sandbox: Sandbox
  before(async () => {
    t = await freshDatabase({dialect})
    sandbox = new Sandbox({databaseUrl: t.url, tier: 'in-process'})
  })
  after(async () => {
    sandbox.remove()
    await t.close()
  })
  beforeEach(async () => {
    for (const table of ['cron_tick', 'cron_job_log', 'cron_job']) await t.db(table).delete()
  })

  /** A finished run of test.success at `start`, late by `lateMs` (null: on time). */
  async function run(start: string, lateMs: number | null, message: string | null): Promise<number> {
    const recorder = new SqlRunRecorder(knexSource(t.db, t.dialect))
    const token = `t-${start}`
    const begun = await recorder.begin({code: 'test.success', holder: {token, host: 'web1', pid: 7}, nowMs: at(start), leaseMs: 60_000, parallel: false, decide: () => ({start: true, slot: null}), startedLateMs: lateMs})
    const runId = (begun as {runId: number}).runId
    await recorder.end({runId, code: 'test.success', status: 'succeeded', endMs: at(start) + 250, message, releaseToken: token, removeOtherSuccesses: false})
    return runId
  }

  it('crons:history says how late a run started (waited for a slot), --json gives startedLateMs (null on time); the run page says it too', async () => {
    const late = await run('2026-01-05T10:00:02.400Z', 2400, 'done')
    await run('2026-01-05T10:01:00Z', null, 'done too')
    const env = {TEST_CRONS: 'SuccessJob', MANAGE_NOW: '2026-01-05T10:05:00Z'}
    const table = await sandbox.run(['crons:history'], env)
    expect(table.code, context(table)).to.equal(0)
    const rows = lines(table.stdout)
    expect(rows[1]).to.match(/ done too$/)
    expect(rows[2]).to.match(/ started 2\.4 s late \(waited for a slot\); done$/)
    const json = JSON.parse((await sandbox.run(['crons:history', '--json'], env)).stdout) as Array<{id: number; startedLateMs: number | null}>
    expect(json.map((entry) => [entry.id, entry.startedLateMs])).to.deep.equal([
      [late + 1, null],
      [late, 2400],
    ])
    const full = lines((await sandbox.run(['crons:history', '--full'], env)).stdout)
    expect(full[2]).to.match(/^#\d+ test\.success succeeded 2026-01-05 10:00:02 UTC \(250 ms\) on web1 pid 7, started 2\.4 s late \(waited for a slot\)$/)

    const store = new SqlRunStore(knexSource(t.db, t.dialect))
    const page = runPage({title: 'run', user: null, csrf: null}, (await store.getRun(late))!, 'UTC')
    expect(page).to.include('<th>Started late</th><td><span id="started-late">started 2.4 s late (waited for a slot)</span></td>')
    expect(runPage({title: 'run', user: null, csrf: null}, (await store.getRun(late + 1))!, 'UTC')).not.to.include('Started late')
  })

  it("runners: a scheduler's worst event-loop lag since its last heartbeat (LAG), a warning naming its jobs past a second, and --json", async () => {
    const ticks = new SqlServerTicks(knexSource(t.db, t.dialect))
    await ticks.record({kind: 'crontab', host: 'web1', pid: 100, version: '0.1.0', atMs: at('2026-01-05T10:04:00Z'), silentAfterMs: 600_000})
    await ticks.record({kind: 'scheduler', host: 'web1', pid: 500, version: '0.1.0', atMs: at('2026-01-05T10:04:30Z'), sinceMs: at('2026-01-05T10:00:00Z'), lag: {lagMs: 2400, codes: ['app.crunch', 'app.report']}})
    await ticks.record({kind: 'scheduler', host: 'web2', pid: 600, version: '0.1.0', atMs: at('2026-01-05T10:04:40Z'), sinceMs: at('2026-01-05T10:00:00Z'), lag: {lagMs: 12, codes: ['app.quick']}})
    const env = {MANAGE_NOW: '2026-01-05T10:05:00Z'}
    const table = await sandbox.run(['runners'], env)
    expect(table.code, context(table)).to.equal(0)
    expect(lines(table.stdout)).to.deep.equal([
      'HOST  KIND       VERSION  SINCE                    LAST TICK                AGO        LAG    STATE',
      'web1  crontab    0.1.0    2026-01-05 10:04:00 UTC  2026-01-05 10:04:00 UTC  1 min ago         ticking',
      'web1  scheduler  0.1.0    2026-01-05 10:00:00 UTC  2026-01-05 10:04:30 UTC  just now   2.4 s  ticking',
      'web2  scheduler  0.1.0    2026-01-05 10:00:00 UTC  2026-01-05 10:04:40 UTC  just now   12 ms  ticking',
      "[!] the scheduler on web1 lagged 2.4 s (its event loop blocked) while app.crunch, app.report ran in its process: every other job's start waits; give the one that computes isolate = true (its own process)",
    ])
    const json = JSON.parse((await sandbox.run(['runners', '--json'], env)).stdout) as Array<{host: string; kind: string; lagMs: number | null; lagJobs: string[] | null}>
    expect(json.map(({host, kind, lagMs, lagJobs}) => ({host, kind, lagMs, lagJobs}))).to.deep.equal([
      {host: 'web1', kind: 'crontab', lagMs: null, lagJobs: null},
      {host: 'web1', kind: 'scheduler', lagMs: 2400, lagJobs: ['app.crunch', 'app.report']},
      {host: 'web2', kind: 'scheduler', lagMs: 12, lagJobs: ['app.quick']},
    ])
    // The next heartbeat with no job run in its process since: no lag, no warning.
    await ticks.record({kind: 'scheduler', host: 'web1', pid: 500, version: '0.1.0', atMs: at('2026-01-05T10:05:00Z'), sinceMs: at('2026-01-05T10:00:00Z'), lag: null})
    expect((await sandbox.run(['runners'], env)).stdout).not.to.include('[!]')
  })
})
