import {expect} from 'chai'
import {driverSource, type DriverSource, knexSource} from '../../src/core/db/connection-source'
import {SqlRunRecorder, type BeginRequest} from '../../src/core/run-log/recorder'
import {SqlRunStore} from '../../src/core/run-log/run-store'
import {BACKENDS, expireLeases, freshDatabase, plain, tableRows, TestLock, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'
import type {JobHistory} from '../../src/core/contract/run-types'

for (const dialect of BACKENDS) describe(`SqlRunRecorder on a real ${dialect} database`, () => {
  let t: TestDatabase
  let recorder: SqlRunRecorder
  let store: SqlRunStore
  let lock: TestLock
  // The recorder on a driver connection of its own, as the tick has it; the test looks through knex.
  let source: DriverSource
  let sent: string[] = []
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())
  beforeEach(async () => {
    await t.db('cron_job_log').delete()
    await t.db('cron_job').delete()
    source = driverSource(t.config, {onStatement: (sql) => sent.push(sql.split(' ')[0].toUpperCase())})
    recorder = new SqlRunRecorder(source)
    store = new SqlRunStore(knexSource(t.db, t.dialect))
    lock = new TestLock(t.db, t.dialect)
  })
  afterEach(() => source.close())

  const now = at('2026-01-05T10:00:00Z')
  // On a server the lease clock is the server's: "live" is judged against it.
  const liveAt = () => (dialect === 'sqlite' ? now : Date.now())
  const request = (overrides: Partial<BeginRequest<string>> = {}): BeginRequest<string> => ({
    code: 'job',
    holder: {token: 'mine', host: 'h1', pid: 11},
    nowMs: now,
    leaseMs: 300_000,
    parallel: false,
    decide: () => ({start: true, slot: null}),
    ...overrides,
  })
  /** The statements the recorder sent while `body` ran (their first words). */
  const statementsOf = async (body: () => Promise<unknown>): Promise<string[]> => {
    sent = []
    await body()
    return sent
  }
  const holderOf = async () => (await lock.holder('job'))?.pid ?? null

  it("begins a run in one transaction: claim, fresh read, 'running' row with a lease, one commit", async () => {
    let begun: unknown
    const sent = await statementsOf(async () => (begun = await recorder.begin(request({decide: () => ({start: true, slot: '10:00'})}))))
    expect(sent.filter((sql) => sql === 'COMMIT')).to.have.length(1)
    expect(begun).to.deep.include({kind: 'started', slot: '10:00', previousSuccess: null, interrupted: []})
    const [row] = (await tableRows(t.db, 'cron_job_log')) as Array<Record<string, unknown>>
    expect(row).to.deep.include({code: 'job', status: 'running', ran_at_time: '10:00', host: 'h1', pid: 11})
    expect(row.lease_expires_at).to.not.equal(null)
    expect(await holderOf()).to.equal(11)
    expect(await lock.isHeld('job', liveAt())).to.equal(true)
  })

  it('marks the row of a run started by hand (--force, run now) forced, and only that one', async () => {
    const forced = await recorder.begin(request({forced: true}))
    await store.insertRun({code: 'job', status: 'succeeded', startMs: now + 60_000})
    const runs = await store.listRuns({code: 'job', limit: 10})
    expect(runs.map((run) => `${run.id === (forced.kind === 'started' ? forced.runId : -1) ? 'forced run' : 'scheduled run'} ${run.forced}`)).to.deep.equal(['scheduled run false', 'forced run true'])
  })

  it('decides on the history as it is inside the transaction, and gives the previous success in full', async () => {
    const id = await store.insertRun({code: 'job', status: 'succeeded', startMs: now - 3_600_000, endMs: now - 3_599_000, message: 'fetched 3'})
    let seen: JobHistory | undefined
    const begun = await recorder.begin(request({decide: (fresh) => ((seen = fresh), {start: true, slot: null})}))
    expect(seen!.lastSuccess!.id).to.equal(id)
    expect(begun.kind === 'started' && begun.previousSuccess).to.deep.include({id, message: 'fetched 3', endMs: now - 3_599_000})
  })

  it('writes nothing and commits nothing when the fresh decision says no', async () => {
    let begun: unknown
    const sent = await statementsOf(async () => (begun = await recorder.begin(request({decide: () => ({start: false, why: 'not due'})}))))
    expect(begun).to.deep.equal({kind: 'declined', why: 'not due', interrupted: []})
    expect(sent).to.not.include('COMMIT')
    expect(await t.db('cron_job_log').count({n: '*'})).to.deep.equal([{n: dialect === 'postgres' ? '0' : 0}])
    expect(await holderOf()).to.equal(null)
  })

  it('leaves a job claimed by a live process alone, without asking decide', async () => {
    await lock.claim('job', {token: 'other', host: 'h2', pid: 22}, liveAt(), 300_000)
    let asked = false
    const begun = await recorder.begin(request({nowMs: liveAt(), decide: () => ((asked = true), {start: true, slot: null})}))
    expect(begun).to.deep.include({kind: 'claimed-elsewhere'})
    // Who holds it, read in the same transaction.
    expect((begun as {holder: unknown}).holder).to.deep.include({host: 'h2', pid: 22})
    expect(asked).to.equal(false)
    expect(await holderOf()).to.equal(22)
    expect(await tableRows(t.db, 'cron_job_log')).to.deep.equal([])
  })

  it('is atomic: when deciding fails, the claim is rolled back with the rest', async () => {
    let error: unknown
    try {
      await recorder.begin(request({decide: () => {
        throw new Error('decide broke')
      }}))
    } catch (caught) {
      error = caught
    }
    expect((error as Error).message).to.equal('decide broke')
    expect(await holderOf()).to.equal(null)
    expect(await tableRows(t.db, 'cron_job_log')).to.deep.equal([])
    // …and the connection is fine afterwards.
    expect((await recorder.begin(request())).kind).to.equal('started')
  })

  it('records the dead runs it finds as interrupted, and keeps that even when it then declines (claim released)', async () => {
    await store.insertRun({code: 'job', status: 'running', startMs: now - 600_000, leaseExpiresMs: now - 300_000, host: 'h9', pid: 99})
    await expireLeases(t)
    const begun = await recorder.begin(request({decide: () => ({start: false, why: 'not due'})}))
    expect(begun.kind).to.equal('declined')
    expect(begun.kind === 'declined' && begun.interrupted.map((run) => run.pid)).to.deep.equal([99])
    const [row] = (await tableRows(t.db, 'cron_job_log')) as Array<Record<string, unknown>>
    expect(row.status).to.equal('interrupted')
    expect(row.message).to.match(/^interrupted: the process 99 on h9 stopped renewing its lease/)
    expect(await holderOf()).to.equal(null)
  })

  it('a parallel run lets go of the claim in the same transaction: its running row holds the period', async () => {
    const begun = await recorder.begin(request({parallel: true}))
    expect(begun.kind).to.equal('started')
    expect(await holderOf()).to.equal(null)
    expect((await tableRows(t.db, 'cron_job_log')).map((row) => row.status)).to.deep.equal(['running'])
  })

  it('ends a run in one transaction: outcome recorded, claim released, older successes removed when asked', async () => {
    const older = await store.insertRun({code: 'job', status: 'succeeded', startMs: now - 7_200_000})
    const failed = await store.insertRun({code: 'job', status: 'failed', startMs: now - 3_600_000})
    const begun = await recorder.begin(request())
    const runId = begun.kind === 'started' ? begun.runId : -1
    const sent = await statementsOf(() =>
      recorder.end({runId, code: 'job', status: 'succeeded', endMs: now + 1000, message: 'ok', releaseToken: 'mine', removeOtherSuccesses: true}),
    )
    expect(sent.filter((sql) => sql === 'COMMIT')).to.have.length(1)
    const rows = (await tableRows(t.db, 'cron_job_log')).map(plain)
    expect(rows.map((row) => [row.id, row.status, row.message])).to.deep.equal([
      [failed, 'failed', null],
      [runId, 'succeeded', 'ok'],
    ])
    expect(rows[1].lease_expires_at).to.equal(null)
    expect(older).to.be.below(failed)
    expect(await holderOf()).to.equal(null)
  })

  it("ending never releases a claim that is someone else's", async () => {
    const begun = await recorder.begin(request({parallel: true}))
    await lock.claim('job', {token: 'other', host: 'h2', pid: 22}, liveAt(), 300_000)
    const runId = begun.kind === 'started' ? begun.runId : -1
    await recorder.end({runId, code: 'job', status: 'failed', endMs: now + 1000, message: 'boom', releaseToken: 'mine', removeOtherSuccesses: false})
    expect(await holderOf()).to.equal(22)
    expect((await tableRows(t.db, 'cron_job_log')).map((row) => row.status)).to.deep.equal(['failed'])
  })
})
