import {expect} from 'chai'
import type {RunStatus} from '../src/core/cron-job-base'
import {historyFromRuns, type RunSummary} from '../src/core/is-due'
import {KnexJobLock} from '../src/core/job-lock'
import {MAX_MESSAGE_BYTES, messageFromResult} from '../src/core/message'
import {KnexRunStore} from '../src/core/run-store'
import {freshDatabase, type TestDatabase} from './helpers/db'
import {at} from './helpers/schedule'

/** A small deterministic PRNG, so a failing case can be replayed. */
function prng(seed: number) {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

describe('KnexRunStore on a real sqlite file', () => {
  let t: TestDatabase
  let store: KnexRunStore

  beforeEach(async () => {
    t = await freshDatabase()
    store = new KnexRunStore(t.db, 'sqlite')
  })
  afterEach(() => t.close())

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
      inserted.push({id, code, status, startMs, ranAtTime, leaseExpiresMs, host: 'h', pid: 7})
    }
    const sortRuns = (runs: RunSummary[]) => [...runs].sort((x, y) => x.id - y.id)
    for (let k = 0; k < 25; k++) {
      const now = base + Math.floor(random() * 5 * 24 * 60 * 60_000)
      const histories = await store.histories(now)
      for (const code of codes) {
        const expected = historyFromRuns(inserted.filter((run) => run.code === code), now)
        const actual = histories.get(code)!
        expect(actual.lastRun, `lastRun ${code} @${now}`).to.deep.equal(expected.lastRun)
        expect(actual.lastSuccess, `lastSuccess ${code} @${now}`).to.deep.equal(expected.lastSuccess)
        expect(sortRuns(actual.running)).to.deep.equal(sortRuns(expected.running))
        expect(sortRuns(actual.recentSlotRuns)).to.deep.equal(sortRuns(expected.recentSlotRuns))
      }
    }
  })

  it('filters by code when asked', async () => {
    await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z')})
    await store.insertRun({code: 'b', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z')})
    const histories = await store.histories(at('2026-01-05T01:00:00Z'), ['b'])
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

  it('stores times as UTC text that sorts as time', async () => {
    await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-03-08T03:00:00-04:00')})
    const row = await t.db('cron_job_log').first()
    expect(row.start_time).to.equal('2026-03-08T07:00:00.000Z')
  })

  it('stores a message of more than 64 KiB cut, with a marker, never rejected', async () => {
    const huge = messageFromResult('é'.repeat(100_000))!
    expect(Buffer.byteLength(huge)).to.be.at.most(MAX_MESSAGE_BYTES)
    expect(huge).to.match(/message truncated: \d+ of 200000 bytes cut\]$/)
    const id = await store.insertRun({code: 'a', status: 'running', startMs: 0})
    await store.finishRun(id, 'succeeded', 1, huge)
    expect((await store.getRun(id))!.message).to.equal(huge)
  })

  it('marks only running rows whose lease ran out as interrupted, with host, pid and when last seen', async () => {
    const now = at('2026-01-05T01:00:00Z')
    const dead = await store.insertRun({code: 'a', status: 'running', startMs: now - 600_000, leaseExpiresMs: now - 1, host: 'web1', pid: 42})
    const live = await store.insertRun({code: 'a', status: 'running', startMs: now - 60_000, leaseExpiresMs: now + 60_000})
    const interrupted = await store.interruptStaleRuns('a', now)
    expect(interrupted.map((run) => run.id)).to.deep.equal([dead])
    const row = (await store.getRun(dead))!
    expect(row.status).to.equal('interrupted')
    expect(row.message).to.match(/process 42 on web1 stopped renewing its lease \(last seen 2026-01-05T00:50:00.000Z/)
    expect((await store.getRun(live))!.status).to.equal('running')
  })

  it('renews a running row, and refuses once it is finished', async () => {
    const id = await store.insertRun({code: 'a', status: 'running', startMs: 0, leaseExpiresMs: 1000})
    expect(await store.renewRun(id, 500, 5000)).to.equal(true)
    expect((await store.getRun(id))!.leaseExpiresMs).to.equal(5000)
    await store.finishRun(id, 'succeeded', 600, 'done')
    expect(await store.renewRun(id, 700, 9000)).to.equal(false)
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
    expect(left.map((row) => row.status)).to.deep.equal(['running', 'succeeded'])
  })
})

describe('KnexJobLock on a real sqlite file', () => {
  let t: TestDatabase
  beforeEach(async () => (t = await freshDatabase()))
  afterEach(() => t.close())

  const holder = (token: string) => ({token, host: 'h', pid: 1})

  it('lets one holder in, refuses the next until released', async () => {
    const lock = new KnexJobLock(t.db, 'sqlite')
    expect(await lock.claim('job', holder('a'), 1000, 60_000)).to.equal(true)
    expect(await lock.claim('job', holder('b'), 2000, 60_000)).to.equal(false)
    expect(await lock.holder('job')).to.deep.include({host: 'h', pid: 1, lockedMs: 1000, leaseExpiresMs: 61_000})
    await lock.release('job', 'b') // not the holder: no effect
    expect(await lock.claim('job', holder('b'), 3000, 60_000)).to.equal(false)
    await lock.release('job', 'a')
    expect(await lock.holder('job')).to.equal(null)
    expect(await lock.claim('job', holder('b'), 4000, 60_000)).to.equal(true)
  })

  it('never locks out forever: a lease that ran out can be claimed (a crashed holder)', async () => {
    const lock = new KnexJobLock(t.db, 'sqlite')
    expect(await lock.claim('job', holder('crashed'), 0, 60_000)).to.equal(true)
    expect(await lock.claim('job', holder('next'), 59_999, 60_000)).to.equal(false)
    expect(await lock.claim('job', holder('next'), 60_000, 60_000)).to.equal(true)
    // The crashed holder, if it ever comes back, can no longer renew or release someone else's claim.
    expect(await lock.renew('job', 'crashed', 60_001, 60_000)).to.equal(false)
    await lock.release('job', 'crashed')
    expect((await lock.holder('job'))!.leaseExpiresMs).to.equal(120_000)
  })

  it('renewing extends the lease, so a live holder keeps the job', async () => {
    const lock = new KnexJobLock(t.db, 'sqlite')
    await lock.claim('job', holder('a'), 0, 60_000)
    expect(await lock.renew('job', 'a', 50_000, 60_000)).to.equal(true)
    expect(await lock.claim('job', holder('b'), 70_000, 60_000)).to.equal(false)
  })

  it('has exactly one winner when many connections claim at once', async () => {
    const connections = Array.from({length: 8}, () => new KnexJobLock(t.connect(), 'sqlite'))
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all(connections.map((lock, i) => lock.claim(`job-${round}`, holder(`t${i}`), 1000, 60_000)))
      expect(results.filter(Boolean), `round ${round}`).to.have.length(1)
    }
  })
})
