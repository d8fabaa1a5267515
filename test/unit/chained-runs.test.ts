import {expect} from 'chai'
import {knexSource} from '../../src/core/db/connection-source'
import {SqlRunRecorder} from '../../src/core/run-log/recorder'
import {SqlRunStore} from '../../src/core/run-log/run-store'
import {runCrons, type RunCronsOptions} from '../../src/core/tick/run-crons'
import {fixedClock} from '../../src/core/time/clock'
import {job, settingsWith} from '../fixtures/jobs'
import {BACKENDS, faultySource, freshDatabase, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

/**
 * The runs of one lane of the crontab tick follow one another: a run's outcome is recorded in the
 * transaction that claims the next job, so a tick of N due jobs commits N + 1 times, not 2N. What
 * each transaction guarantees is unchanged: an outcome is durable before its claim is released, a
 * claim before its do() starts.
 */
/** MySQL's InnoDB does not chain (see SqlRunRecorder.chain): each run is its two transactions there. */
const chainsOn = (dialect: string) => dialect !== 'mysql'

for (const dialect of BACKENDS) describe(`a lane's runs chained, on ${dialect}`, () => {
  let t: TestDatabase
  const now = at('2026-01-05T10:00:00Z')
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())
  beforeEach(async () => {
    for (const table of ['cron_job_log', 'cron_job']) await t.db(table).delete()
  })

  const tick = (crons: RunCronsOptions['settings']['crons'], more: Partial<RunCronsOptions> = {}) =>
    runCrons({db: t.db, dialect: t.dialect, settings: settingsWith(crons), clock: fixedClock(now), leaseClock: fixedClock(now), host: 'here', pid: 1, ...more})

  /** The statements sent while `body` runs, by their first word (COMMIT, UPDATE…). */
  async function counting<T>(body: () => Promise<T>): Promise<{value: T; sent: string[]}> {
    const sent: string[] = []
    const listen = (query: {sql: string}) => sent.push(query.sql.trim().split(/\s+/)[0].toUpperCase())
    t.db.on('query', listen)
    try {
      return {value: await body(), sent}
    } finally {
      t.db.off('query', listen)
    }
  }

  async function locksHeld(): Promise<string[]> {
    return (await t.db('cron_job').whereNotNull('lock_token').select('code')).map((row) => String(row.code))
  }

  async function statuses(): Promise<string[]> {
    return (await t.db('cron_job_log').orderBy('id').select('code', 'status')).map((row) => `${row.code} ${row.status}`)
  }

  it(chainsOn(dialect) ? 'commits once per run and once more: each outcome with the next claim' : 'commits twice per run: MySQL does not chain', async () => {
    const ran: string[] = []
    const crons = ['j0', 'j1', 'j2'].map((code) => job(code, {runEveryMins: 60}, () => void ran.push(code)))
    await t.db('cron_job').insert(crons.map((cron) => ({code: new cron().code})))
    const {value: report, sent} = await counting(() => tick(crons))
    expect(report.outcomes.map((outcome) => `${outcome.code} ${outcome.kind}`)).to.deep.equal(['j0 succeeded', 'j1 succeeded', 'j2 succeeded'])
    expect(sent.filter((word) => word === 'COMMIT'), 'the commits').to.have.length(chainsOn(dialect) ? 4 : 6)
    expect(await statuses()).to.deep.equal(['j0 succeeded', 'j1 succeeded', 'j2 succeeded'])
    expect(await locksHeld()).to.deep.equal([])
  })

  it('commits the outcome and lets go of the next claim when the next job turns out not to be due', async () => {
    const elsewhere = new SqlRunStore(knexSource(t.connect(), t.dialect))
    // While j0 runs, another server runs j1: its claim in the chained transaction finds it ran.
    const first = job('j0', {runEveryMins: 60}, async () => void (await elsewhere.insertRun({code: 'j1', status: 'succeeded', startMs: now})))
    const report = await tick([first, job('j1', {runEveryMins: 60}, () => 'ran')])
    expect(report.outcomes.map((outcome) => `${outcome.code} ${outcome.kind}`)).to.deep.equal(['j0 succeeded', 'j1 not-due'])
    expect(await statuses(), "j0's run, then the other server's run of j1").to.deep.equal(['j0 succeeded', 'j1 succeeded'])
    expect(await locksHeld(), 'claims left held').to.deep.equal([])
  })

  it('writes each on its own when the chained transaction fails: the outcome, then the next claim', async () => {
    let claims = 0
    // The second claim is the one chained to j0's outcome: it fails once, as a busy database would.
    const source = faultySource(knexSource(t.db, t.dialect), (sql) => {
      if (!/^UPDATE cron_job SET lock_token = \?/.test(sql) || ++claims !== 2) return null
      return Object.assign(new Error('database is locked'), {code: 'SQLITE_BUSY'})
    })
    const ran: string[] = []
    const crons = ['j0', 'j1'].map((code) => job(code, {runEveryMins: 60}, () => void ran.push(code)))
    await t.db('cron_job').insert([{code: 'j0'}, {code: 'j1'}])
    const report = await tick(crons, {recorder: new SqlRunRecorder(source)})
    expect(report.exitCode).to.equal(0)
    expect(report.outcomes.map((outcome) => `${outcome.code} ${outcome.kind}`)).to.deep.equal(['j0 succeeded', 'j1 succeeded'])
    expect(ran).to.deep.equal(['j0', 'j1'])
    // Unchained (MySQL), j1's claim is the second one too, sent on its own and tried again.
    expect(claims, 'claims sent: j0, the chained j1, j1 on its own').to.equal(3)
    expect(await statuses()).to.deep.equal(['j0 succeeded', 'j1 succeeded'])
    expect(await locksHeld()).to.deep.equal([])
  })

  it('records the run before a claim that fails for good, and fails naming the job that could not start', async () => {
    const source = faultySource(knexSource(t.db, t.dialect), (sql) => (/^UPDATE cron_job SET lock_token = \?/.test(sql) && failing ? new Error('the disk is not a database') : null))
    let failing = false
    const crons = [job('j0', {runEveryMins: 60}, () => void (failing = true)), job('j1', {runEveryMins: 60}, () => 'ran')]
    await t.db('cron_job').insert([{code: 'j0'}, {code: 'j1'}])
    const error = await tick(crons, {recorder: new SqlRunRecorder(source)}).then(
      () => null,
      (thrown: unknown) => thrown as Error,
    )
    expect(error?.message).to.match(/j1: claiming it and recording its start/)
    expect(await statuses()).to.deep.equal(['j0 succeeded'])
    expect(await locksHeld()).to.deep.equal([])
  })
})
