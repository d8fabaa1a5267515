import {expect} from 'chai'
import type {CronContext, CronJobBase} from '../../src/core/contract/cron-job-base'
import {runCrons, type Outcome, type RunCronsOptions} from '../../src/core/tick/run-crons'
import {fixedClock} from '../../src/core/time/clock'
import {forever, job as jobClass, ManualTimers, settingsWith, untilAborted} from '../fixtures/jobs'
import {freshDatabase, tableRows, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

const TIMEOUT_MS = 60_000 // timeoutMins = 1
const GRACE_MS = 10_000 // graceSeconds = 10

/** A job that runs every minute unless its schedule says otherwise. */
const job = (code: string, schedule: Partial<CronJobBase>, body: (ctx: CronContext) => unknown) => jobClass(code, {runEveryMins: 1, ...schedule}, body)

describe('runCrons: timeouts and shutdown (timers driven by the test)', function () {
  this.timeout(10_000)
  let t: TestDatabase
  let timers: ManualTimers
  beforeEach(async () => {
    t = await freshDatabase()
    timers = new ManualTimers()
  })
  afterEach(() => t.close())

  const tick = (crons: unknown[], options: Partial<RunCronsOptions> = {}) =>
    runCrons({db: t.db, dialect: 'sqlite', settings: settingsWith(crons, {graceMs: GRACE_MS}), clock: fixedClock(at('2026-01-05T00:00:00Z')), timers, ...options})
  const kinds = (outcomes: Outcome[]) => outcomes.map((o) => `${o.kind}:${o.code}`)
  const rows = () => tableRows(t.db, 'cron_job_log')
  const locks = async () => (await tableRows(t.db, 'cron_job')).map((row) => row.lock_token)

  it('timeoutMins fires ctx.signal; a job that stops is recorded timed_out, with what it said', async () => {
    const Slow = job('slow', {timeoutMins: 1}, (ctx) => {
      timers.elapse(TIMEOUT_MS) // a minute passes inside do()
      return untilAborted(ctx.signal)
    })
    const report = await tick([Slow])
    expect(kinds(report.outcomes)).to.deep.equal(['timed_out:slow'])
    expect(report.outcomes[0]).to.deep.include({abandoned: false})
    expect(report.exitCode).to.equal(1)
    const [row] = await rows()
    expect(row.status).to.equal('timed_out')
    expect(row.message).to.match(/^timed out after 1 min; it stopped with: Error: stopped: timed out after 1 min/)
    expect(await locks()).to.deep.equal([null])
  })

  it('a job that ignores its signal is abandoned after the grace period: timed_out, claim released, the next job runs', async () => {
    const Stuck = job('stuck', {timeoutMins: 1}, () => {
      timers.elapse(TIMEOUT_MS)
      return forever()
    })
    let nextRan = false
    const Next = job('next', {}, () => (nextRan = true))
    timers.onSleep = (ms) => {
      if (ms === GRACE_MS) timers.elapse(GRACE_MS) // the grace period runs out
    }
    const report = await tick([Stuck, Next])
    expect(kinds(report.outcomes)).to.deep.equal(['timed_out:stuck', 'succeeded:next'])
    expect(report.outcomes[0]).to.deep.include({abandoned: true})
    expect(report.abandoned).to.equal(true)
    expect(nextRan).to.equal(true)
    const [stuck] = await rows()
    expect(stuck).to.deep.include({status: 'timed_out', lease_expires_at: null})
    expect(stuck.message).to.equal('timed out after 1 min; it did not stop within the 10 s grace period and was abandoned')
    expect(await locks()).to.deep.equal([null, null])
  })

  it('a job that finishes within its time is not touched by the timeout', async () => {
    const Quick = job('quick', {timeoutMins: 1}, () => 'done')
    const report = await tick([Quick])
    expect(kinds(report.outcomes)).to.deep.equal(['succeeded:quick'])
    expect(timers.pending(TIMEOUT_MS)).to.equal(0) // cancelled, so it never fires later
  })

  it('SIGTERM during a job: no new job starts, the running one is asked to stop and recorded interrupted', async () => {
    const shutdown = new AbortController()
    const First = job('first', {}, (ctx) => {
      shutdown.abort('SIGTERM') // the signal arrives while the job runs
      return untilAborted(ctx.signal)
    })
    let secondRan = false
    const Second = job('second', {}, () => (secondRan = true))
    const report = await tick([First, Second], {signal: shutdown.signal})
    expect(kinds(report.outcomes)).to.deep.equal(['interrupted:first'])
    expect(secondRan).to.equal(false)
    expect(report.stoppedBy).to.equal('SIGTERM')
    const [row] = await rows()
    expect(row.status).to.equal('interrupted')
    expect(row.message).to.match(/^interrupted by SIGTERM; it stopped with: Error: stopped: interrupted by SIGTERM/)
    expect(await locks()).to.deep.equal([null, null]) // both jobs' rows exist (made up front), neither is held
  })

  it('SIGTERM and a job that ignores it: abandoned after the grace period, interrupted, claim released', async () => {
    const shutdown = new AbortController()
    const Stuck = job('stuck', {}, () => {
      shutdown.abort('SIGINT')
      return forever()
    })
    timers.onSleep = (ms) => {
      if (ms === GRACE_MS) timers.elapse(GRACE_MS)
    }
    const report = await tick([Stuck], {signal: shutdown.signal})
    expect(report.outcomes[0]).to.deep.include({kind: 'interrupted', abandoned: true})
    expect(report.stoppedBy).to.equal('SIGINT')
    expect((await rows())[0].message).to.equal('interrupted by SIGINT; it did not stop within the 10 s grace period and was abandoned')
    expect(await locks()).to.deep.equal([null])
  })

  it('a job that still finishes its work within the grace period is recorded as succeeded', async () => {
    const shutdown = new AbortController()
    const Finisher = job('finisher', {}, async () => {
      shutdown.abort('SIGTERM')
      await Promise.resolve()
      return 'finished anyway'
    })
    const report = await tick([Finisher], {signal: shutdown.signal})
    expect(kinds(report.outcomes)).to.deep.equal(['succeeded:finisher'])
    expect((await rows())[0]).to.deep.include({status: 'succeeded', message: 'finished anyway'})
  })

  it('a signal before the tick starts any job: nothing runs', async () => {
    const shutdown = new AbortController()
    shutdown.abort('SIGTERM')
    let ran = false
    const report = await tick([job('a', {}, () => (ran = true))], {signal: shutdown.signal})
    expect(report.outcomes).to.deep.equal([])
    expect(ran).to.equal(false)
    expect(report.stoppedBy).to.equal('SIGTERM')
    expect(await rows()).to.deep.equal([])
  })
})
