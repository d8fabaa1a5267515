import {expect} from 'chai'
import {knexSource} from '../../src/core/db/connection-source'
import {SqlJobLock, type JobLock} from '../../src/core/run-log/job-lock'
import {SqlRunRecorder, type BeginRequest, type RunRecorder} from '../../src/core/run-log/recorder'
import {SqlRunStore, type RunStore} from '../../src/core/run-log/run-store'
import {MemoryRunLog} from '../../src/testing/memory-run-log'
import {BACKENDS, expireLeases, freshDatabase, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'
import type {JobHistory} from '../../src/core/contract/run-types'

/** One implementation of the run log's three interfaces, with its clock and a way to let every lease run out. */
interface Subject {
  store: RunStore
  lock: JobLock
  recorder: RunRecorder
  /** The callers' now: pinned for the fake and sqlite (whose leases follow it), the real one on a server (whose leases follow its own clock). */
  now(): number
  /** Time passes beyond every lease. */
  expire(): Promise<void>
  close(): Promise<void>
}

const LEASE_MS = 300_000

function memorySubject(): Subject {
  const log = new MemoryRunLog()
  let clock = at('2026-01-05T00:00:00Z')
  return {store: log.store, lock: log.lock, recorder: log.recorder, now: () => clock, expire: async () => void (clock += LEASE_MS + 1), close: async () => {}}
}

async function sqlSubject(dialect: TestDatabase['dialect']): Promise<Subject> {
  const t = await freshDatabase({dialect})
  const source = knexSource(t.db, t.dialect)
  let clock = dialect === 'sqlite' ? at('2026-01-05T00:00:00Z') : Date.now()
  return {
    store: new SqlRunStore(source),
    lock: new SqlJobLock(source),
    recorder: new SqlRunRecorder(source),
    now: () => (dialect === 'sqlite' ? clock : Date.now()),
    expire: async () => (dialect === 'sqlite' ? void (clock += LEASE_MS + 1) : expireLeases(t)),
    close: () => t.close(),
  }
}

const subjects: Array<[string, () => Promise<Subject>]> = [['MemoryRunLog (the fake)', async () => memorySubject()], ...BACKENDS.map((dialect): [string, () => Promise<Subject>] => [`SQL on ${dialect}`, () => sqlSubject(dialect)])]

for (const [name, make] of subjects) {
  describe(`the run log's contract: ${name}`, () => {
    let s: Subject
    beforeEach(async () => (s = await make()))
    afterEach(() => s.close())

    const holder = (token: string) => ({token, host: `host-${token}`, pid: token.length})
    const begin = (token: string, decide: BeginRequest<string>['decide'] = () => ({start: true, slot: null}), parallel = false) =>
      s.recorder.begin<string>({code: 'job', holder: holder(token), nowMs: s.now(), leaseMs: LEASE_MS, parallel, decide})
    const history = async (): Promise<JobHistory | undefined> => (await s.store.histories(s.now())).get('job')
    const end = (runId: number, status: 'succeeded' | 'failed', releaseToken: string | null, removeOtherSuccesses = false) =>
      s.recorder.end({runId, code: 'job', status, endMs: s.now(), message: status, releaseToken, removeOtherSuccesses})

    it('begin claims and records the run as running; another begin is claimed elsewhere until end releases the claim', async () => {
      const started = await begin('a')
      expect(started).to.deep.include({kind: 'started', slot: null, previousSuccess: null, interrupted: []})
      const runId = (started as {runId: number}).runId
      expect((await history())!.running.map((run) => run.id)).to.deep.equal([runId])
      expect(await s.lock.holder('job')).to.deep.include({host: 'host-a', pid: 1})
      expect(await begin('b')).to.deep.include({kind: 'claimed-elsewhere'})
      expect((await begin('b') as {holder: unknown}).holder).to.deep.include({host: 'host-a', pid: 1})

      await end(runId, 'succeeded', 'a')
      expect(await s.lock.holder('job')).to.equal(null)
      const seen: JobHistory[] = []
      expect(await begin('b', (fresh) => (seen.push(fresh), {start: false, why: 'ran already'}))).to.deep.equal({kind: 'declined', why: 'ran already', interrupted: []})
      expect(seen[0].lastSuccess?.id).to.equal(runId)
      expect(await s.store.getRun(runId)).to.deep.include({status: 'succeeded', message: 'succeeded', leaseExpiresMs: null})
    })

    it('a declined begin writes nothing: no row, and the claim stays free', async () => {
      expect(await begin('a', () => ({start: false, why: 'not due'}))).to.deep.equal({kind: 'declined', why: 'not due', interrupted: []})
      expect(await s.store.listRuns({limit: 10})).to.deep.equal([])
      expect(await s.lock.holder('job')).to.equal(null)
    })

    it('a begin whose decision throws leaves nothing behind', async () => {
      const failing = begin('a', () => {
        throw new Error('decision failed')
      })
      await failing.then(
        () => expect.fail('begin should have failed'),
        (error: Error) => expect(error.message).to.equal('decision failed'),
      )
      expect(await s.lock.holder('job')).to.equal(null)
      expect(await s.store.listRuns({limit: 10})).to.deep.equal([])
    })

    it('a run whose lease ran out is recorded interrupted by the next begin, which takes the claim over', async () => {
      const {runId} = (await begin('dead')) as {runId: number}
      await s.expire()
      const seen: JobHistory[] = []
      const declined = await begin('next', (fresh) => (seen.push(fresh), {start: false, why: 'looked'}))
      expect(seen[0].running.map((run) => run.id)).to.deep.equal([runId])
      expect(declined).to.deep.include({kind: 'declined', why: 'looked'})
      const [interrupted] = (declined as {interrupted: Array<{id: number; status: string; message: string}>}).interrupted
      expect(interrupted).to.deep.include({id: runId, status: 'interrupted'})
      expect(interrupted.message).to.match(/^interrupted: the process 4 on host-dead stopped renewing its lease/)
      expect(await s.store.getRun(runId)).to.deep.include({status: 'interrupted'})
      // The interruption was committed, and the claim released with it.
      expect(await s.lock.holder('job')).to.equal(null)
      expect((await history())!.running).to.deep.equal([])
    })

    it('a parallel run lets go of its claim at once; its running row holds the period', async () => {
      const started = (await begin('a', undefined, true)) as {kind: string; runId: number}
      expect(started.kind).to.equal('started')
      expect(await s.lock.holder('job')).to.equal(null)
      expect((await history())!.running.map((run) => run.id)).to.deep.equal([started.runId])
      await end(started.runId, 'failed', null)
      expect((await history())!.lastRun).to.deep.include({id: started.runId, status: 'failed'})
    })

    it('a run that ends after its lease was taken over keeps its outcome, marked as overrun', async () => {
      const {runId} = (await begin('slow')) as {runId: number}
      await s.expire()
      await begin('next', () => ({start: false, why: 'looked'})) // records the slow run interrupted
      expect(await s.store.getRun(runId)).to.deep.include({status: 'interrupted', leaseOverrun: false})
      expect(await s.recorder.end({runId, code: 'job', status: 'succeeded', endMs: s.now(), message: 'done at last', releaseToken: 'slow', removeOtherSuccesses: false})).to.deep.equal({overran: true})
      expect(await s.store.getRun(runId)).to.deep.include({status: 'succeeded', message: 'done at last', leaseOverrun: true})
      const {runId: other} = (await begin('third')) as {runId: number}
      expect(await s.recorder.end({runId: other, code: 'job', status: 'succeeded', endMs: s.now(), message: 'on time', releaseToken: 'third', removeOtherSuccesses: false})).to.deep.equal({overran: false})
      expect(await s.store.getRun(other)).to.deep.include({leaseOverrun: false})
    })

    it('end with removeOtherSuccesses keeps the latest success only; failures stay', async () => {
      const old = await s.store.insertRun({code: 'job', status: 'succeeded', startMs: s.now() - 120_000})
      const failed = await s.store.insertRun({code: 'job', status: 'failed', startMs: s.now() - 60_000})
      const {runId, previousSuccess} = (await begin('a')) as {runId: number; previousSuccess: {id: number} | null}
      expect(previousSuccess?.id).to.equal(old)
      await end(runId, 'succeeded', 'a', true)
      expect((await s.store.listRuns({limit: 10})).map((run) => run.id)).to.deep.equal([runId, failed])
    })

    it('renew: the holder extends its claim, another token cannot, and a finished run is not renewed', async () => {
      const {runId} = (await begin('a')) as {runId: number}
      expect(await s.lock.renew('job', 'a', s.now(), LEASE_MS)).to.equal(true)
      expect(await s.lock.renew('job', 'b', s.now(), LEASE_MS)).to.equal(false)
      expect(await s.store.renewRun(runId, s.now(), LEASE_MS)).to.equal(true)
      expect(await s.lock.isHeld('job', s.now())).to.equal(true)
      await end(runId, 'succeeded', 'a')
      expect(await s.store.renewRun(runId, s.now(), LEASE_MS)).to.equal(false)
      expect(await s.lock.isHeld('job', s.now())).to.equal(false)
    })

    it('deleteRunsBefore never deletes a running row, keeps failures when asked, and only counts on a dry run', async () => {
      const start = s.now() - 10 * 86_400_000
      for (const status of ['succeeded', 'failed', 'running'] as const) await s.store.insertRun({code: 'job', status, startMs: start})
      const cutoff = s.now() - 86_400_000
      expect(await s.store.deleteRunsBefore(cutoff, {dryRun: true})).to.equal(2)
      expect(await s.store.deleteRunsBefore(cutoff, {keepFailed: true})).to.equal(1)
      expect((await s.store.listRuns({limit: 10})).map((run) => run.status).sort()).to.deep.equal(['failed', 'running'])
    })

    describe('a limit (two slots of reports)', () => {
      const reports = {group: 'reports', slots: 2}
      const limited = (code: string, token: string, parallel = false) =>
        s.recorder.begin<string>({code, holder: holder(token), nowMs: s.now(), leaseMs: LEASE_MS, parallel, decide: () => ({start: true, slot: null, periodMs: s.now() - 1000}), limit: reports})
      const ended = (code: string, runId: number, token: string) =>
        s.recorder.end({runId, code, status: 'succeeded', endMs: s.now(), message: null, releaseToken: token, removeOtherSuccesses: false, releaseSlot: {group: 'reports', token}})

      it('starts two runs of the group; the third is held back (no run, claim released) and starts late, with the reason, once a run ends', async () => {
        const a = (await limited('a', 'ta')) as {kind: string; runId: number}
        const b = (await limited('b', 'tb')) as {kind: string; runId: number}
        expect([a.kind, b.kind]).to.deep.equal(['started', 'started'])
        expect(await limited('c', 'tc')).to.deep.equal({kind: 'limited', group: 'reports', running: 2, interrupted: []})
        expect((await s.store.listRuns({code: 'c', limit: 10})).length).to.equal(0)
        expect(await s.lock.holder('c')).to.equal(null)
        // Held back again: still no run.
        expect((await limited('c', 'tc2')).kind).to.equal('limited')

        await ended('a', a.runId, 'ta')
        const c = (await limited('c', 'tc3')) as {kind: string; runId: number}
        expect(c.kind).to.equal('started')
        const row = await s.store.getRun(c.runId)
        expect(row).to.deep.include({lateReason: 'limit: reports'})
        expect(row!.startedLateMs).to.be.at.least(1)
        // The mark is cleared: the next start of c is on time.
        await ended('c', c.runId, 'tc3')
        const again = (await limited('c', 'tc4')) as {runId: number}
        expect(await s.store.getRun(again.runId)).to.deep.include({startedLateMs: null, lateReason: null})
      })

      it("a slot whose holder's lease ran out is taken; renewal keeps a slot its own, ending frees it", async () => {
        await limited('a', 'ta')
        const b = (await limited('b', 'tb', true)) as {runId: number}
        expect(await s.lock.renewSlot('reports', 'tb', s.now(), LEASE_MS)).to.equal(true)
        expect(await s.lock.renewSlot('reports', 'nobody', s.now(), LEASE_MS)).to.equal(false)
        expect((await limited('c', 'tc')).kind).to.equal('limited')
        await s.expire()
        expect((await limited('c', 'tc2')).kind).to.equal('started')
        await s.recorder.end({runId: b.runId, code: 'b', status: 'failed', endMs: s.now(), message: null, releaseToken: null, removeOtherSuccesses: false, releaseSlot: {group: 'reports', token: 'tb'}})
        expect(await s.lock.renewSlot('reports', 'tb', s.now(), LEASE_MS)).to.equal(false)
      })
    })

    it('pause and resume say whether anything changed; pausedJobs lists the paused ones', async () => {
      expect(await s.store.setPaused('job', {sinceMs: at('2026-01-05T00:00:00Z'), by: 'ops'})).to.equal(true)
      expect(await s.store.setPaused('job', {sinceMs: at('2026-01-05T00:00:00Z'), by: 'ops'})).to.equal(false)
      expect([...(await s.store.pausedJobs())]).to.deep.equal([['job', {sinceMs: at('2026-01-05T00:00:00Z'), by: 'ops'}]])
      expect(await s.store.setPaused('job', null)).to.equal(true)
      expect(await s.store.setPaused('job', null)).to.equal(false)
      expect((await s.store.pausedJobs()).size).to.equal(0)
    })

    it('pauseAfterFailures: the Nth failure in a row pauses the job with its note; after a resume N fresh ones are needed; dead runs a claim finds count', async () => {
      // Runs a minute apart from now (the decisions' clock, which leases do not follow on a server).
      const base = s.now()
      const minute = (n: number) => base + n * 60_000
      const fail = async (token: string, n: number) => {
        const begun = await s.recorder.begin<string>({code: 'job', holder: holder(token), nowMs: minute(n), leaseNowMs: s.now(), leaseMs: LEASE_MS, parallel: true, decide: () => ({start: true, slot: null})})
        const {runId} = begun as {runId: number}
        return (await s.recorder.end({runId, code: 'job', status: 'failed', endMs: minute(n) + 1000, message: `Error: ${token}\n  at x`, releaseToken: null, removeOtherSuccesses: false, pauseAfterFailures: 2})).paused
      }
      const by = 'manage (pauseAfterFailures)'
      expect(await fail('a', 0)).to.equal(undefined)
      const pause = {sinceMs: minute(1) + 1000, by, note: 'paused after 2 failures: Error: b'}
      expect(await fail('b', 1)).to.deep.equal(pause)
      expect([...(await s.store.pausedJobs())]).to.deep.equal([['job', pause]])
      expect(await s.store.setPaused('job', null, minute(2))).to.equal(true)
      expect(await fail('c', 3)).to.equal(undefined)
      // A run whose process died, found by the next claim: the second failure since the resume.
      await s.store.insertRun({code: 'job', status: 'running', startMs: minute(4), leaseExpiresMs: s.now() + 1, host: 'h9', pid: 9})
      await s.expire()
      const given: unknown[] = []
      const decide: BeginRequest<string>['decide'] = (_fresh, paused) => (given.push(paused), {start: false, why: 'paused'})
      const begun = await s.recorder.begin<string>({code: 'job', holder: holder('d'), nowMs: minute(10), leaseNowMs: s.now(), leaseMs: LEASE_MS, parallel: false, pauseAfterFailures: 2, decide})
      expect(begun).to.deep.include({kind: 'declined', why: 'paused'})
      expect(given).to.deep.equal([{sinceMs: minute(10), by, note: (given[0] as {note: string}).note}])
      expect((given[0] as {note: string}).note).to.match(/^paused after 2 failures: interrupted: the process 9 on h9 stopped renewing its lease/)
      expect((await s.store.pausedJobs()).get('job')).to.deep.equal(given[0])
    })
  })
}
