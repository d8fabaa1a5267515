import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {knexSource} from '../../src/core/db/connection-source'
import {SqlRunStore} from '../../src/core/run-log/run-store'
import {runCrons} from '../../src/core/tick/run-crons'
import {fixedClock} from '../../src/core/time/clock'
import {DeleteOldRunLogsCronJob} from '../../src/crons/delete-old-run-logs'
import {HeartbeatCronJob} from '../../src/crons/heartbeat'
import {settingsWith} from '../fixtures/jobs'
import {freshDatabase, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

describe('the example cron jobs', () => {
  let t: TestDatabase
  let dir: string
  beforeEach(async () => {
    t = await freshDatabase()
    dir = mkdtempSync(path.join(tmpdir(), 'manage-examples-'))
  })
  afterEach(async () => {
    await t.close()
    rmSync(dir, {recursive: true, force: true})
  })

  const tick = (crons: unknown[], now: string, values: Record<string, unknown>, timeZone = 'UTC') =>
    runCrons({db: t.db, dialect: 'sqlite', clock: fixedClock(at(now)), settings: settingsWith(crons, {timeZone, cronsDir: dir, values})})

  it('the heartbeat appends "DD/MM/YYYY-HH:MM:SS <app> is alive" in the settings zone, once a minute', async () => {
    const file = path.join(dir, 'nested', 'heartbeat.log')
    const values = {appName: 'shop', heartbeatFile: file}
    for (const now of ['2026-11-23T05:00:00Z', '2026-11-23T05:00:30Z', '2026-11-23T05:00:52Z', '2026-11-23T05:02:00Z']) {
      await tick([HeartbeatCronJob], now, values, 'Europe/Paris')
    }
    // Every minute with 10 s tolerance: 05:00:52 is within 10 s of 05:01:00, so it runs; 05:00:30 does not.
    expect(readFileSync(file, 'utf8')).to.equal(['23/11/2026-06:00:00 shop is alive', '23/11/2026-06:00:52 shop is alive', '23/11/2026-06:02:00 shop is alive', ''].join('\n'))
  })

  it('the run-log cleaner deletes rows older than runLogKeepDays at 03:30, never a running one', async () => {
    const store = new SqlRunStore(knexSource(t.db, 'sqlite'))
    await store.insertRun({code: 'x', status: 'succeeded', startMs: at('2026-10-01T00:00:00Z')})
    await store.insertRun({code: 'x', status: 'failed', startMs: at('2026-10-20T00:00:00Z')})
    await store.insertRun({code: 'x', status: 'running', startMs: at('2026-10-01T00:00:00Z'), leaseExpiresMs: at('2026-10-01T00:05:00Z')})
    await store.insertRun({code: 'x', status: 'succeeded', startMs: at('2026-11-20T00:00:00Z')})

    const early = await tick([DeleteOldRunLogsCronJob], '2026-11-23T03:29:00Z', {runLogKeepDays: 30})
    expect(early.outcomes[0].kind).to.equal('not-due')
    const report = await tick([DeleteOldRunLogsCronJob], '2026-11-23T03:30:00Z', {runLogKeepDays: 30})
    expect(report.outcomes[0]).to.deep.include({kind: 'succeeded', slot: '03:30', message: 'deleted 2 run-log row(s) started before 2026-10-24T03:30:00.000Z'})
    const left = await t.db('cron_job_log').where('code', 'x').orderBy('id')
    expect(left.map((row) => `${row.status} ${row.start_time}`)).to.deep.equal(['running 2026-10-01T00:00:00.000Z', 'succeeded 2026-11-20T00:00:00.000Z'])
  })

  it('the run-log cleaner fails loudly on a bad runLogKeepDays instead of deleting everything', async () => {
    await new SqlRunStore(knexSource(t.db, 'sqlite')).insertRun({code: 'x', status: 'succeeded', startMs: at('2026-11-22T00:00:00Z')})
    const report = await tick([DeleteOldRunLogsCronJob], '2026-11-23T03:30:00Z', {runLogKeepDays: 0})
    expect(report.outcomes[0].kind).to.equal('failed')
    expect(await t.db('cron_job_log').where('code', 'x')).to.have.length(1)
  })
})
