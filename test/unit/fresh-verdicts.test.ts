import {expect} from 'chai'
import {knexSource} from '../../src/core/db/connection-source'
import {SqlRunStore} from '../../src/core/run-log/run-store'
import {runCrons} from '../../src/core/tick/run-crons'
import {fixedClock} from '../../src/core/time/clock'
import {job, settingsWith} from '../fixtures/jobs'
import {BACKENDS, freshDatabase, TestLock, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

/**
 * Several servers ticking at once: once a tick loses a claim, it reads the histories of the jobs
 * still to come again (one statement) and passes over those another server ran or holds since its
 * plan, without claiming each.
 */
for (const dialect of BACKENDS) describe(`a tick that loses a claim reads the rest again, on ${dialect}`, () => {
  let t: TestDatabase
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())
  beforeEach(async () => {
    for (const table of ['cron_job_log', 'cron_job']) await t.db(table).delete()
  })

  it('passes over the jobs another server ran since the plan, without a claim each, and runs the one still due', async () => {
    const now = at('2026-01-05T10:00:00Z')
    const codes = ['j0', 'j1', 'j2', 'j3', 'j4', 'j5', 'j6']
    const ran: string[] = []
    const other = new TestLock(t.connect(), t.dialect)
    const elsewhere = new SqlRunStore(knexSource(t.connect(), t.dialect))
    // While this tick runs j0 (every job was due at its plan), another server takes j1 and runs j2 to j5.
    const first = job('j0', {runEveryMins: 60}, async () => {
      ran.push('j0')
      await other.claim('j1', {token: 'other', host: 'web2', pid: 99}, now, 300_000)
      for (const code of ['j2', 'j3', 'j4', 'j5']) await elsewhere.insertRun({code, status: 'succeeded', startMs: now})
    })
    const rest = codes.slice(1).map((code) => job(code, {runEveryMins: 60}, () => void ran.push(code)))
    const claimed: string[] = []
    const listen = (query: {sql: string; bindings?: unknown[]}) => {
      if (/^UPDATE cron_job SET lock_token = \?/.test(query.sql)) claimed.push(String(query.bindings?.find((value) => codes.includes(String(value)))))
    }
    t.db.on('query', listen)
    let kinds: string[]
    try {
      const report = await runCrons({db: t.db, dialect: t.dialect, settings: settingsWith([first, ...rest]), clock: fixedClock(now), leaseClock: fixedClock(now), host: 'here', pid: 1})
      kinds = report.outcomes.map((outcome) => `${outcome.code} ${outcome.kind}`)
    } finally {
      t.db.off('query', listen)
    }
    expect(kinds).to.deep.equal(['j0 succeeded', 'j1 running-elsewhere', 'j2 not-due', 'j3 not-due', 'j4 not-due', 'j5 not-due', 'j6 succeeded'])
    expect(ran).to.deep.equal(['j0', 'j6'])
    expect(claimed, 'the jobs claimed').to.deep.equal(['j0', 'j1', 'j6'])
  })
})
