import {expect} from 'chai'
import type {RunStatus, RunSummary} from '../../src/core/contract/run-types'
import {MAX_MESSAGE_BYTES, messageFromResult} from '../../src/core/jobs/message'
import {knexSource} from '../../src/core/db/connection-source'
import {SqlRunRecorder} from '../../src/core/run-log/recorder'
import {SqlRunStore} from '../../src/core/run-log/run-store'
import {historyFromRuns} from '../../src/core/schedule/history'
import {BACKENDS, expireLeases, freshDatabase, itOn, plain, TestLock, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

/** A small deterministic PRNG, so a failing case can be replayed. */
function prng(seed: number) {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

for (const dialect of BACKENDS) describe(`SqlRunStore on a real ${dialect} database`, () => {
  let t: TestDatabase
  let store: SqlRunStore

  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())
  beforeEach(async () => {
    await t.db('cron_job_log').delete()
    await t.db('cron_job').delete()
    store = new SqlRunStore(knexSource(t.db, t.dialect))
  })
  /** A run's outcome, recorded as the tick records it (the recorder's end). */
  const finish = (runId: number, status: RunStatus, endMs: number, message: string) =>
    new SqlRunRecorder(knexSource(t.db, t.dialect)).end({runId, code: 'a', status, endMs, message, releaseToken: null, removeOtherSuccesses: false})

  it('builds, in one query, the same histories as historyFromRuns over the whole log (random logs, many instants)', async () => {
    const random = prng(20261123)
    const statuses: RunStatus[] = ['succeeded', 'succeeded', 'failed', 'running', 'interrupted']
    const codes = ['a', 'b', 'c', 'd']
    const base = at('2026-01-05T00:00:00Z')
    const inserted: RunSummary[] = []
    for (let i = 0; i < 400; i++) {
      const code = codes[Math.floor(random() * codes.length)]
      const status = statuses[Math.floor(random() * statuses.length)]
      // Times fall on whole minutes often, so that equal start times (ties broken by id) occur.
      const startMs = base + Math.floor(random() * 4 * 24 * 60) * 60_000 + (random() < 0.3 ? Math.floor(random() * 1000) : 0)
      const ranAtTime = random() < 0.4 ? ['00:00', '10:00', '23:59'][Math.floor(random() * 3)] : null
      const leaseExpiresMs = status === 'running' ? startMs + Math.floor(random() * 20) * 60_000 : null
      const id = await store.insertRun({code, status, startMs, ranAtTime, host: 'h', pid: 7, leaseExpiresMs})
      // Inserted without an end: the histories read each row's end_time (null here).
      inserted.push({id, code, status, startMs, ranAtTime, leaseExpiresMs, host: 'h', pid: 7, endMs: null, periodMs: null, forced: false})
    }
    // On a server, leases follow its clock (now, not 2026-01): every seeded lease has run out, and
    // the store reports them on the caller's clock; compare the rest exactly, and check they are dead.
    const server = dialect !== 'sqlite'
    const comparable = (run: RunSummary | null) => (run && server ? {...run, leaseExpiresMs: null} : run)
    const sortRuns = (runs: RunSummary[]) => [...runs].sort((x, y) => x.id - y.id).map(comparable)
    for (let k = 0; k < 25; k++) {
      const now = base + Math.floor(random() * 5 * 24 * 60 * 60_000)
      const histories = await store.histories(now)
      for (const code of codes) {
        const expected = historyFromRuns(inserted.filter((run) => run.code === code), now)
        const actual = histories.get(code)!
        expect(comparable(actual.lastRun), `lastRun ${code} @${now}`).to.deep.equal(comparable(expected.lastRun))
        expect(comparable(actual.lastSuccess), `lastSuccess ${code} @${now}`).to.deep.equal(comparable(expected.lastSuccess))
        if (server) for (const run of actual.running) expect(run.leaseExpiresMs!).to.be.at.most(now)
        expect(sortRuns(actual.running)).to.deep.equal(sortRuns(expected.running))
        expect(sortRuns(actual.recentSlotRuns)).to.deep.equal(sortRuns(expected.recentSlotRuns))
      }
    }
  })

  it('filters by code when asked', async () => {
    await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z')})
    await store.insertRun({code: 'b', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z')})
    const histories = await store.histories(at('2026-01-05T01:00:00Z'), {codes: ['b']})
    expect([...histories.keys()]).to.deep.equal(['b'])
  })

  it('keeps millisecond precision: 00:05:00.001 is later than 00:05:00', async () => {
    const id1 = await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-01-05T00:05:00.001Z')})
    await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-01-05T00:05:00.000Z')})
    const history = (await store.histories(at('2026-01-05T01:00:00Z'))).get('a')!
    expect(history.lastSuccess!.id).to.equal(id1)
    expect(history.lastSuccess!.startMs).to.equal(at('2026-01-05T00:05:00.001Z'))
    expect((await store.histories(at('2026-01-05T00:05:00.000Z'))).get('a')!.lastSuccess!.id).to.not.equal(id1)
  })

  it('stores times in UTC to the millisecond (fixed-width ISO text on sqlite, so text order is time order)', async () => {
    await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-03-08T03:00:00.123-04:00')})
    const row = await t.db('cron_job_log').first()
    if (dialect === 'sqlite') expect(row.start_time).to.equal('2026-03-08T07:00:00.123Z')
    expect(plain(row).start_time).to.equal('2026-03-08T07:00:00.123Z')
  })

  it('stores a message of more than 64 KiB cut, with a marker, never rejected', async () => {
    const huge = messageFromResult('é'.repeat(100_000))!
    expect(Buffer.byteLength(huge)).to.be.at.most(MAX_MESSAGE_BYTES)
    expect(huge).to.match(/message truncated: \d+ of 200000 bytes cut\]$/)
    const id = await store.insertRun({code: 'a', status: 'running', startMs: 0})
    await finish(id, 'succeeded', 1, huge)
    expect((await store.getRun(id))!.message).to.equal(huge)
  })

  it('marks only running rows whose lease ran out as interrupted, with host, pid and when last seen', async () => {
    // Leases follow the lease clock: the caller's on sqlite, the server's elsewhere (≈ Date.now()).
    const now = dialect === 'sqlite' ? at('2026-01-05T01:00:00Z') : Date.now()
    const dead = await store.insertRun({code: 'a', status: 'running', startMs: at('2026-01-05T00:50:00Z'), leaseExpiresMs: now - 60_000, host: 'web1', pid: 42})
    const live = await store.insertRun({code: 'a', status: 'running', startMs: now - 60_000, leaseExpiresMs: now + 120_000})
    const interrupted = await store.interruptStaleRuns('a', now)
    expect(interrupted.map((run) => run.id)).to.deep.equal([dead])
    const row = (await store.getRun(dead))!
    expect(row.status).to.equal('interrupted')
    expect(row.message).to.match(/process 42 on web1 stopped renewing its lease \(last seen 2026-01-05T00:50:00.000Z/)
    expect((await store.getRun(live))!.status).to.equal('running')
  })

  it('renews a running row by the lease clock, and refuses once it is finished', async () => {
    const id = await store.insertRun({code: 'a', status: 'running', startMs: 0, leaseExpiresMs: 1000})
    const before = Date.now()
    expect(await store.renewRun(id, 500, 50_000)).to.equal(true)
    const lease = (await store.getRun(id))!.leaseExpiresMs!
    if (dialect === 'sqlite') expect(lease).to.equal(50_500)
    else expect(lease).to.be.within(before + 50_000 - 2000, Date.now() + 50_000 + 2000) // the server's clock, not the caller's 500
    await finish(id, 'succeeded', 600, 'done')
    expect(await store.renewRun(id, 700, 9000)).to.equal(false)
  })

  it('a run inserted with leaseMs gets its lease from the lease clock', async () => {
    const id = await store.insertRun({code: 'a', status: 'running', startMs: at('2026-01-05T00:00:00Z'), leaseMs: 300_000})
    const lease = (await store.getRun(id))!.leaseExpiresMs!
    if (dialect === 'sqlite') expect(lease).to.equal(at('2026-01-05T00:05:00Z'))
    else expect(lease).to.be.within(Date.now() + 300_000 - 5000, Date.now() + 300_000 + 5000)
  })

  it('ensureJobs creates the rows of a thousand new jobs at once (past sqlite\'s 500-term compound SELECT), and again changes nothing', async () => {
    const codes = Array.from({length: 1200}, (_, i) => `job.${i}`)
    await store.ensureJobs(codes.slice(0, 10))
    await store.ensureJobs(codes)
    await store.ensureJobs(codes)
    const rows = await t.db('cron_job').select('code')
    expect(rows.map((row: {code: string}) => row.code).sort()).to.deep.equal([...codes].sort())
  })

  it('deleteRunsBefore never deletes a running row, and can keep failures', async () => {
    const old = at('2025-01-01T00:00:00Z')
    await store.insertRun({code: 'a', status: 'succeeded', startMs: old})
    await store.insertRun({code: 'a', status: 'failed', startMs: old})
    await store.insertRun({code: 'a', status: 'running', startMs: old, leaseExpiresMs: old})
    await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-01-01T00:00:00Z')})
    expect(await store.deleteRunsBefore(at('2025-06-01T00:00:00Z'), {keepFailed: true})).to.equal(1)
    expect(await store.deleteRunsBefore(at('2025-06-01T00:00:00Z'))).to.equal(1)
    const left = await t.db('cron_job_log').select('status').orderBy('id')
    expect(left.map((row: {status: string}) => row.status)).to.deep.equal(['running', 'succeeded'])
  })
})

for (const dialect of BACKENDS) describe(`KnexJobLock on a real ${dialect} database`, () => {
  let t: TestDatabase
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())
  beforeEach(() => t.db('cron_job').delete())

  const holder = (token: string) => ({token, host: 'h', pid: 1})

  it('lets one holder in, refuses the next until released', async () => {
    const lock = new TestLock(t.db, t.dialect)
    expect(await lock.claim('job', holder('a'), 1000, 60_000)).to.equal(true)
    expect(await lock.claim('job', holder('b'), 2000, 60_000)).to.equal(false)
    expect(await lock.holder('job')).to.deep.include({host: 'h', pid: 1})
    if (dialect === 'sqlite') expect(await lock.holder('job')).to.deep.include({lockedMs: 1000, leaseExpiresMs: 61_000})
    await lock.release('job', 'b') // not the holder: no effect
    expect(await lock.claim('job', holder('b'), 3000, 60_000)).to.equal(false)
    await lock.release('job', 'a')
    expect(await lock.holder('job')).to.equal(null)
    expect(await lock.claim('job', holder('b'), 4000, 60_000)).to.equal(true)
  })

  if (dialect === 'sqlite') {
    it('never locks out forever: a lease that ran out can be claimed (a crashed holder)', async () => {
      const lock = new TestLock(t.db, t.dialect)
      expect(await lock.claim('job', holder('crashed'), 0, 60_000)).to.equal(true)
      expect(await lock.claim('job', holder('next'), 59_999, 60_000)).to.equal(false)
      expect(await lock.claim('job', holder('next'), 60_000, 60_000)).to.equal(true)
      // The crashed holder, if it ever comes back, can no longer renew or release someone else's claim.
      expect(await lock.renew('job', 'crashed', 60_001, 60_000)).to.equal(false)
      await lock.release('job', 'crashed')
      expect((await lock.holder('job'))!.leaseExpiresMs).to.equal(120_000)
    })

    it('renewing extends the lease, so a live holder keeps the job', async () => {
      const lock = new TestLock(t.db, t.dialect)
      await lock.claim('job', holder('a'), 0, 60_000)
      expect(await lock.renew('job', 'a', 50_000, 60_000)).to.equal(true)
      expect(await lock.claim('job', holder('b'), 70_000, 60_000)).to.equal(false)
    })
  } else {
    it("leases follow the server's clock: a caller whose clock is 10 minutes ahead cannot steal a live lease", async () => {
      const lock = new TestLock(t.db, t.dialect)
      expect(await lock.claim('job', holder('a'), Date.now(), 60_000)).to.equal(true)
      expect(await lock.claim('job', holder('skewed'), Date.now() + 10 * 60_000, 60_000)).to.equal(false)
      expect(await lock.isHeld('job', Date.now() + 10 * 60_000)).to.equal(true)
    })

    it('never locks out forever: once the lease has run out (by the server clock) the job can be claimed', async () => {
      const lock = new TestLock(t.db, t.dialect)
      expect(await lock.claim('job', holder('crashed'), Date.now(), 60_000)).to.equal(true)
      expect(await lock.claim('job', holder('next'), Date.now(), 60_000)).to.equal(false)
      await expireLeases(t)
      expect(await lock.isHeld('job', Date.now())).to.equal(false)
      expect(await lock.claim('job', holder('next'), Date.now(), 60_000)).to.equal(true)
      expect(await lock.renew('job', 'crashed', Date.now(), 60_000)).to.equal(false)
      await lock.release('job', 'crashed')
      expect(await lock.isHeld('job', Date.now())).to.equal(true)
    })

    it('renewing moves the lease forward by the server clock, whatever the caller says now is', async () => {
      const lock = new TestLock(t.db, t.dialect)
      await lock.claim('job', holder('a'), Date.now(), 60_000)
      expect(await lock.renew('job', 'a', 0, 120_000)).to.equal(true)
      const lease = (await lock.holder('job'))!.leaseExpiresMs!
      expect(lease).to.be.within(Date.now() + 120_000 - 5000, Date.now() + 120_000 + 5000)
    })
  }

  it('forceRelease frees a lock whoever holds it', async () => {
    const lock = new TestLock(t.db, t.dialect)
    await lock.claim('job', holder('a'), Date.now(), 60_000)
    expect(await lock.forceRelease('job')).to.equal(true)
    expect(await lock.holder('job')).to.equal(null)
    expect(await lock.forceRelease('job')).to.equal(false)
  })

  it('has exactly one winner when many connections claim at once', async () => {
    const connections = Array.from({length: 8}, () => new TestLock(t.connect(), t.dialect))
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all(connections.map((lock, i) => lock.claim(`job-${round}`, holder(`t${i}`), dialect === 'sqlite' ? 1000 : Date.now(), 60_000)))
      expect(results.filter(Boolean), `round ${round}`).to.have.length(1)
    }
  })
})

describe('the run log on a MySQL database made with the old 3-byte utf8', () => {
  itOn('mysql')('migrate makes its tables utf8mb4 with exact codes: a 4-byte character is stored, and case matters', async () => {
    const t = await freshDatabase({dialect: 'mysql', createOptions: 'CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci'})
    try {
      const store = new SqlRunStore(knexSource(t.db, t.dialect))
      const id = await store.insertRun({code: 'Report', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z'), message: 'shipped 🚀'})
      await store.insertRun({code: 'report', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z')})
      expect((await store.getRun(id))?.message).to.equal('shipped 🚀')
      expect((await t.db('cron_job').pluck('code')).sort()).to.deep.equal(['Report', 'report'])
    } finally {
      await t.close()
    }
  })
})
