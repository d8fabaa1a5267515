import {EventEmitter} from 'node:events'
import {expect} from 'chai'
import {Containment, type Crash, type Crashed} from '../../src/core/tick/containment'
import {installProcessGuards} from '../../src/core/tick/process-guards'
import {runCrons} from '../../src/core/tick/run-crons'
import {quietBeyond} from '../../src/core/tick/watchdog'
import {fixedClock} from '../../src/core/time/clock'
import {forever, job, ManualTimers, settingsWith} from '../fixtures/jobs'
import {freshDatabase, tableRows} from '../helpers/db'
import {at} from '../helpers/schedule'

/**
 * The guards a process that runs jobs installs once and shares between its ticks (signals, the
 * containment, each run's watchdog, late-crash listeners), on a stand-in for the process: no real
 * handler is installed, and no real time passes.
 */
class FakeProcess extends EventEmitter {
  exited: Array<number | string | null | undefined> = []
  exit = (code?: number | string | null) => void this.exited.push(code)
}

const BEAT_MS = 1000
const NOT_CHARGED = 'not charged'
/** What the run's watch was told by now (after the pending callbacks ran), or NOT_CHARGED. */
const chargedYet = (crashed: Promise<Crashed>) => Promise.race([crashed.then((value) => value.crashed.kind), new Promise((resolve) => setImmediate(() => resolve(NOT_CHARGED)))])
const HANDLED = ['SIGTERM', 'SIGINT', 'unhandledRejection', 'uncaughtException', 'beforeExit'] as const

describe('process guards: installed once, serving every tick of the process', () => {
  it('a second install shares the first (one handler each, the same shutdown signal and containment); the last release removes them', () => {
    const target = new FakeProcess()
    const realExit = target.exit
    const options = {neverSettled: {kind: 'loop-runs-dry' as const}, target: target as unknown as NodeJS.Process}
    const first = installProcessGuards(options)
    const second = installProcessGuards(options)
    expect(HANDLED.map((event) => target.listenerCount(event))).to.deep.equal([1, 1, 1, 1, 1])
    expect(second.shutdown).to.equal(first.shutdown)
    expect(second.containment).to.equal(first.containment)
    first.release()
    first.release() // once per install: a second call does not release the other's
    expect(HANDLED.map((event) => target.listenerCount(event))).to.deep.equal([1, 1, 1, 1, 1])
    expect(target.exit).to.not.equal(realExit)
    second.release()
    expect(HANDLED.map((event) => target.listenerCount(event))).to.deep.equal([0, 0, 0, 0, 0])
    expect(target.exit).to.equal(realExit)
    // Installed again after that: new guards, a fresh shutdown signal.
    const again = installProcessGuards(options)
    expect(again.shutdown).to.not.equal(first.shutdown)
    again.release()
  })

  it('the first SIGTERM / SIGINT aborts the shutdown signal every tick reads; the next ones are told as such', () => {
    const target = new FakeProcess()
    const told: Array<[string, boolean]> = []
    const guards = installProcessGuards({neverSettled: {kind: 'loop-runs-dry'}, target: target as unknown as NodeJS.Process, onSignal: (signal, first) => told.push([signal, first])})
    expect(guards.shutdown.aborted).to.equal(false)
    target.emit('SIGTERM', 'SIGTERM')
    expect(guards.shutdown.aborted).to.equal(true)
    expect(guards.shutdown.reason).to.equal('SIGTERM')
    target.emit('SIGINT', 'SIGINT')
    expect(guards.shutdown.reason).to.equal('SIGTERM')
    expect(told).to.deep.equal([
      ['SIGTERM', true],
      ['SIGINT', false],
    ])
    guards.release()
  })
})

describe('Containment: late crashes have listeners, not one slot', () => {
  it('two listeners (two ticks) both hear a late crash; one that stopped listening does not; with none left it is stray', () => {
    const containment = new Containment()
    const heard: string[] = []
    const strays: Crash[] = []
    const stopA = containment.onLateCrash((code, runId, crash) => heard.push(`A ${code} ${runId} ${crash.kind}`))
    const stopB = containment.onLateCrash((code, runId) => heard.push(`B ${code} ${runId}`))
    containment.onStrayCrash((crash) => strays.push(crash))
    const target = new FakeProcess()
    const uninstall = containment.install(target as unknown as NodeJS.Process)
    const run = containment.watch('a', 7)
    run.end()
    // A promise the run left behind rejects after it was recorded.
    const throwLate = (error: Error) => run.run(() => target.emit('unhandledRejection', error))
    throwLate(new Error('first'))
    expect(heard).to.deep.equal(['A a 7 unhandled-rejection', 'B a 7'])
    stopA()
    throwLate(new Error('second'))
    expect(heard).to.deep.equal(['A a 7 unhandled-rejection', 'B a 7', 'B a 7'])
    expect(strays).to.deep.equal([])
    stopB()
    const third = new Error('third')
    throwLate(third)
    expect(heard).to.have.length(3)
    expect(strays).to.deep.equal([{kind: 'unhandled-rejection', error: third}])
    uninstall()
  })
})

describe("embedded (in a host's process): a job's crash is its own, the rest is the host's", () => {
  /** A stand-in process, the guards installed embedded on it, and what they raised again for the host (a real raise ends the process). */
  function embedded(execArgv: string[] = []) {
    const target = Object.assign(new FakeProcess(), {execArgv, env: {}})
    const raised: unknown[] = []
    const strays: Crash[] = []
    const guards = installProcessGuards({embedded: true, neverSettled: {kind: 'watchdog', beatMs: 60_000}, target: target as unknown as NodeJS.Process, raise: (error) => raised.push(error)})
    guards.containment.onStrayCrash((crash) => strays.push(crash))
    const run = guards.containment.watch('a', 1)
    return {target, guards, run, raised, strays}
  }

  it('installs no signal handler; process.exit is taken over only while installed, and only inside a run', () => {
    const target = new FakeProcess()
    const realExit = target.exit
    const guards = installProcessGuards({embedded: true, neverSettled: {kind: 'watchdog', beatMs: 60_000}, target: target as unknown as NodeJS.Process})
    expect(HANDLED.map((event) => target.listenerCount(event))).to.deep.equal([0, 0, 1, 1, 0])
    const run = guards.containment.watch('a', 1)
    expect(() => run.run(() => target.exit(3))).to.throw(/the job called process\.exit\(3\)/)
    target.exit(4) // the host's own: the real one
    expect(target.exited).to.deep.equal([4])
    run.end()
    guards.release()
    expect(HANDLED.map((event) => target.listenerCount(event))).to.deep.equal([0, 0, 0, 0, 0])
    expect(target.exit).to.equal(realExit)
  })

  it("a crash in a run's async context is charged to that run, and to no other; the host's listeners are not the guards' business", async () => {
    const {target, guards, run, raised} = embedded()
    const other = guards.containment.watch('b', 2)
    run.run(() => target.emit('uncaughtException', new Error('in a')))
    expect(await chargedYet(run.crashed)).to.equal('uncaught-exception')
    expect(await chargedYet(other.crashed)).to.equal(NOT_CHARGED)
    expect(raised).to.deep.equal([])
    guards.release()
  })

  it('outside every run, while runs go on: charged to none; with no listener of the host, raised again as Node would (our listener off first)', async () => {
    const {target, guards, run, raised, strays} = embedded()
    const exception = new Error('the host\'s bug')
    target.emit('uncaughtException', exception)
    expect(raised).to.deep.equal([exception])
    expect(target.listenerCount('uncaughtException'), 'no one left to catch it: the process crashes').to.equal(0)
    expect(await chargedYet(run.crashed)).to.equal(NOT_CHARGED)
    expect(strays).to.deep.equal([])
    guards.release()
  })

  it('a rejection outside every run: raised as an uncaught exception (a reason that is not an Error wrapped as Node wraps it), unless the host listens', () => {
    const {target, guards, raised} = embedded()
    const hostHeard: unknown[] = []
    const host = (reason: unknown) => hostHeard.push(reason)
    target.on('uncaughtException', host)
    target.emit('unhandledRejection', 'a string')
    expect((raised[0] as Error & {code: string}).code).to.equal('ERR_UNHANDLED_REJECTION')
    expect(target.listenerCount('uncaughtException'), "the host's listener will catch it: ours stays").to.equal(2)
    target.on('unhandledRejection', host)
    target.emit('unhandledRejection', new Error('heard by the host'))
    target.emit('uncaughtException', new Error('heard by the host too'))
    expect(raised).to.have.length(1)
    expect(hostHeard.map((error) => (error as Error).message)).to.deep.equal(['heard by the host', 'heard by the host too'])
    guards.release()
  })

  it('--unhandled-rejections=none: a rejection outside every run is left alone, as Node would', () => {
    const {target, guards, raised} = embedded(['--unhandled-rejections=none'])
    target.emit('unhandledRejection', new Error('ignored'))
    expect(raised).to.deep.equal([])
    guards.release()
  })
})

describe("a run's watchdog, in a process that stays alive (no beforeExit ever comes)", () => {
  const watchdogContainment = (timers: ManualTimers, isQuiet: () => boolean) => new Containment({beatMs: BEAT_MS, timers, isQuiet})

  it('charges never-settled to a run when the process stays quiet for two beats in a row, and not before', async () => {
    const timers = new ManualTimers()
    let quiet = true
    const run = watchdogContainment(timers, () => quiet).watch('a', 1)
    timers.elapse(BEAT_MS)
    expect(await chargedYet(run.crashed)).to.equal(NOT_CHARGED)
    quiet = false // work under way between the beats starts the count again
    timers.elapse(BEAT_MS)
    expect(await chargedYet(run.crashed)).to.equal(NOT_CHARGED)
    quiet = true
    timers.elapse(BEAT_MS)
    expect(await chargedYet(run.crashed)).to.equal(NOT_CHARGED)
    timers.elapse(BEAT_MS)
    expect(await chargedYet(run.crashed)).to.equal('never-settled')
  })

  it('looks in no more once the run has ended', async () => {
    const timers = new ManualTimers()
    const run = watchdogContainment(timers, () => true).watch('a', 1)
    expect(timers.pending(BEAT_MS)).to.equal(1)
    run.end()
    expect(timers.pending(BEAT_MS)).to.equal(0)
  })

  it('a tick in this (long-lived) process: a do() that never settles is recorded failed, and the next job runs', async function () {
    this.timeout(10_000)
    const t = await freshDatabase()
    const target = new FakeProcess()
    const beats = new ManualTimers()
    // Each beat comes on the next turn of the loop, and finds the process quiet.
    beats.onSleep = (ms) => setImmediate(() => beats.elapse(ms))
    const guards = installProcessGuards({neverSettled: {kind: 'watchdog', beatMs: BEAT_MS, timers: beats, isQuiet: () => true}, target: target as unknown as NodeJS.Process})
    try {
      const crons = [job('never', {runEveryMins: 1}, forever), job('after', {runEveryMins: 1}, () => 'done')]
      const report = await runCrons({db: t.db, dialect: 'sqlite', settings: settingsWith(crons), clock: fixedClock(at('2026-01-05T00:00:00Z')), containment: guards.containment, signal: guards.shutdown})
      expect(report.outcomes.map((outcome) => `${outcome.kind}:${outcome.code}`)).to.deep.equal(['failed:never', 'succeeded:after'])
      const rows = (await tableRows(t.db, 'cron_job_log')).map((row) => `${row.code} ${row.status} ${String(row.message).split('\n')[0]}`)
      expect(rows).to.deep.equal([
        'never failed crashed: it never settled: Error: do() never settled, and nothing was left pending that could settle it (a promise nobody resolves?)',
        'after succeeded done',
      ])
    } finally {
      guards.release()
      await t.close()
    }
  })
})

describe('quietBeyond: the loop running dry, told in a process that stays alive', () => {
  it('is quiet when nothing beyond the baseline keeps the process alive: a timer is work, an unref\'d one is not', () => {
    const quiet = quietBeyond()
    expect(quiet()).to.equal(true)
    const timer = setTimeout(() => {}, 60_000)
    expect(quiet()).to.equal(false)
    timer.unref()
    expect(quiet()).to.equal(true)
    clearTimeout(timer)
    expect(quiet()).to.equal(true)
  })
})
