import {expect} from 'chai'
import {driverSource, type DriverSource} from '../../src/core/db/connection-source'
import {SqlRunRecorder, type BeginRequest} from '../../src/core/run-log/recorder'
import {unlock} from '../../src/core/operate/unlock'
import {BACKENDS, freshDatabase, tableRows, type TestDatabase} from '../helpers/db'

/** The shared limits' slots (cron_limit_slot) on each real database: what the run recorder's begin does with them. */
for (const dialect of BACKENDS) describe(`limit slots on a real ${dialect} database`, () => {
  let t: TestDatabase
  const sources: DriverSource[] = []
  let sent: string[] = []
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())
  beforeEach(async () => {
    for (const table of ['cron_job_log', 'cron_job', 'cron_limit_slot']) await t.db(table).delete()
    sent = []
  })
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((source) => source.close()))
  })

  /** A recorder on a connection of its own, as another process has. */
  const recorder = () => {
    const source = driverSource(t.config, {onStatement: (sql) => sent.push(sql)})
    sources.push(source)
    return new SqlRunRecorder(source)
  }
  const nowMs = Date.now()
  const request = (code: string, slots: number | null, overrides: Partial<BeginRequest<string>> = {}): BeginRequest<string> => ({
    code,
    holder: {token: `token-${code}`, host: 'h', pid: 1},
    nowMs,
    leaseMs: 300_000,
    parallel: false,
    decide: () => ({start: true, slot: null}),
    limit: slots === null ? null : {group: 'reports', slots},
    ...overrides,
  })

  it('three begins at once on two slots: two start, one is held back, and no slot is held twice', async () => {
    // As the tick makes them before its claims (a first claim of two jobs at once would lock the same gap on MySQL).
    await t.db('cron_job').insert(['a', 'b', 'c'].map((code) => ({code})))
    const results = await Promise.all(['a', 'b', 'c'].map((code) => recorder().begin(request(code, 2))))
    expect(results.map((result) => result.kind).sort()).to.deep.equal(['limited', 'started', 'started'])
    const slots = await t.db('cron_limit_slot').orderBy('slot')
    const started = results.flatMap((result, index) => (result.kind === 'started' ? [['a', 'b', 'c'][index]] : []))
    expect(slots.map((slot: {code: string | null}) => slot.code).filter(Boolean).sort()).to.deep.equal(started.sort())
    expect((await tableRows(t.db, 'cron_job_log')).map((row) => row.code).sort()).to.deep.equal(started)
    const held = ['a', 'b', 'c'].find((code) => !started.includes(code))!
    const [job] = await t.db('cron_job').where({code: held})
    expect(job.lock_token).to.equal(null)
    expect(job.held_back_at).to.not.equal(null)
  })

  it("a period its limit held back, closed afterwards by the catch-up policy, is recorded skipped for the limit", async () => {
    await t.db('cron_job').insert(['a', 'b', 'c'].map((code) => ({code})))
    const first = recorder()
    for (const code of ['a', 'b']) await first.begin(request(code, 2))
    const periodMs = nowMs - 1000
    expect((await first.begin(request('c', 2, {decide: () => ({start: true, slot: null, periodMs}), ledger: true}))).kind).to.equal('limited')
    const later = {decide: () => ({start: false as const, why: 'skipped', skips: [{ms: periodMs - 3_600_000, slot: null, reason: 'catch-up: none'}, {ms: periodMs, slot: null, reason: 'catch-up: none'}]}), ledger: true}
    expect((await first.begin(request('c', 2, later))).kind).to.equal('declined')
    const skips = await t.db('cron_skip').where({code: 'c'}).orderBy('period_at')
    expect(skips.map((skip: {reason: string}) => skip.reason)).to.deep.equal(['catch-up: none', 'limit: reports (2 running)'])
  })

  it("crons:unlock frees the slots of the job's runs with its claim", async () => {
    const first = recorder()
    expect((await first.begin(request('a', 1))).kind).to.equal('started')
    expect((await first.begin(request('b', 1))).kind).to.equal('limited')
    const source = driverSource(t.config)
    sources.push(source)
    expect(await unlock(source, 'a', {force: true, nowMs, leaseNowMs: Date.now()})).to.deep.include({kind: 'released', wasLive: true, interrupted: 1})
    expect((await first.begin(request('b', 1))).kind).to.equal('started')
  })

  it('when the limit shrinks, a slot above it is never taken', async () => {
    const first = recorder()
    for (const code of ['a', 'b']) expect((await first.begin(request(code, 3))).kind).to.equal('started')
    // Slot 3 exists and is free, but the settings now give the group two slots.
    expect(await recorder().begin(request('c', 2))).to.deep.include({kind: 'limited', running: 2})
    expect((await recorder().begin(request('c', 3))).kind).to.equal('started')
  })

  it('a job without a limit sends no statement about the slots; one with a limit makes its slots once per recorder', async () => {
    const plain = recorder()
    await plain.begin(request('a', null))
    expect(sent.filter((sql) => /cron_limit_slot|held_back/.test(sql))).to.deep.equal([])
    const limited = recorder()
    await limited.begin(request('b', 2))
    await limited.begin(request('c', 2))
    expect(sent.filter((sql) => /INSERT.*cron_limit_slot/.test(sql))).to.have.length(1)
  })
})
