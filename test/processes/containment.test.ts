import {EventEmitter} from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import {expect} from 'chai'
import {Containment, JobExitError, type Crash} from '../../src/core/tick/containment'
import {installProcessGuards} from '../../src/core/tick/process-guards'
import {context, lines, ROOT, Sandbox, type LogRow} from '../helpers/cli'
import {receiver} from '../helpers/receivers'
import {BACKENDS, freshDatabase, type TestDatabase} from '../helpers/db'

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'misbehaving-settings.cjs')

/**
 * A job is untrusted code: whatever it leaves behind is recorded against it, with its stack; the
 * other jobs still run, every claim is released, and the tick exits 1. Real `bin/manage` processes,
 * on every backend (test/fixtures/misbehaving-settings.cjs).
 */
for (const dialect of BACKENDS) {
  describe(`containment: a misbehaving job never takes the tick down (${dialect})`, function () {
    this.timeout(60_000)
    let t: TestDatabase | undefined
    let box: Sandbox
    beforeEach(async () => {
      if (dialect !== 'sqlite') t = await freshDatabase({dialect, migrated: false})
      box = new Sandbox({databaseUrl: t?.url, settings: SETTINGS})
      await box.migrate()
    })
    afterEach(async () => {
      box.remove()
      await t?.close()
      t = undefined
    })

    const tick = (crons: string, args: string[] = [], env: Record<string, string> = {}) => box.runcrons(crons, '2026-01-05T00:00:00Z', args, env)
    const recorded = async () => (await box.rows()).map((row: LogRow) => `${row.code} ${row.status} ${(row.message ?? '').split('\n')[0]}`)
    const claims = () => box.withDb(async (db) => (await db('cron_job').whereNotNull('lock_token').pluck('code')) as string[])

    it('a promise left behind that rejects later: recorded failed with its stack, and alerted; the next jobs run; exit 1', async () => {
      const hook = await receiver()
      const result = await tick('FloatingJob,SlowJob,AfterJob', [], {TEST_ALERT_WEBHOOK: hook.url}).finally(() => hook.close())
      // Its success, then its crash, both feed its incident: one alert, for the crash.
      expect(hook.got.map((request) => `${request.body.kind} ${request.body.code} ${request.body.message}`)).to.deep.equal([
        'failed bad.floating crashed: a promise it did not await rejected after its do() had returned: Error: rejected 200 ms after do() returned',
      ])
      expect(lines(result.stdout), context(result)).to.deep.equal([
        '[✔] bad.floating',
        '[✘] bad.floating: crashed: a promise it did not await rejected after its do() had returned: Error: rejected 200 ms after do() returned',
        '[✔] good.slow',
        '[✔] good.after',
      ])
      expect(result.code, context(result)).to.equal(1)
      expect(await recorded()).to.deep.equal([
        'bad.floating failed crashed: a promise it did not await rejected after its do() had returned: Error: rejected 200 ms after do() returned',
        'good.slow succeeded slow done',
        'good.after succeeded after done',
      ])
      expect((await box.rows())[0].message).to.include('misbehaving-settings.cjs') // the stack says where
      expect(await claims()).to.deep.equal([])
    })

    it('the same promise in the last (or only) job of its tick: the tick waits for it and records the failure; exit 1', async () => {
      const result = await tick('AfterJob,FloatingJob')
      expect(lines(result.stdout), context(result)).to.deep.equal([
        '[✔] good.after',
        '[✔] bad.floating',
        '[✘] bad.floating: crashed: a promise it did not await rejected after its do() had returned: Error: rejected 200 ms after do() returned',
      ])
      expect(result.code, context(result)).to.equal(1)
      expect(await recorded()).to.deep.equal(['good.after succeeded after done', 'bad.floating failed crashed: a promise it did not await rejected after its do() had returned: Error: rejected 200 ms after do() returned'])
    })

    it('work still pending past the grace period (1 s here) is cut, and the tick says so in one line naming the job', async () => {
      const result = await tick('LateFloatingJob', [], {TEST_FLOAT_MS: '5000'})
      expect(lines(result.stdout), context(result)).to.deep.equal(['[✔] bad.late_floating'])
      expect(lines(result.stderr), context(result)).to.deep.equal([
        '    manage warn: work left pending after do() returned by bad.late_floating (1 timer) was still going 1 s after the jobs ended: cut as the tick ends, and a failure it raises is not recorded; end (or unref) what a job starts before its do() returns',
      ])
      expect(result.code).to.equal(0)
      expect(await recorded()).to.deep.equal(['bad.late_floating succeeded returned'])
    })

    it('process.exit() 300 ms after do() returned: one failure, one line', async () => {
      const result = await tick('LateExitJob')
      expect(lines(result.stdout), context(result)).to.deep.equal([
        '[✔] bad.late_exit',
        '[✘] bad.late_exit: crashed: it called process.exit() after its do() had returned: JobExitError: the job called process.exit(3); a job must return or throw, never end the process',
      ])
      expect(result.code, context(result)).to.equal(1)
      expect(await recorded()).to.deep.equal(['bad.late_exit failed crashed: it called process.exit() after its do() had returned: JobExitError: the job called process.exit(3); a job must return or throw, never end the process'])
    })

    it('an exception thrown in a callback: charged to that job alone, even with another job running beside it', async () => {
      const result = await tick('TimerThrowJob,SlowJob,AfterJob', ['--concurrency', '2'])
      expect(lines(result.stdout).sort(), context(result)).to.deep.equal([
        '[✔] good.after',
        '[✔] good.slow',
        '[✘] bad.timer_throw: crashed: an exception no code caught (thrown in a callback?): Error: thrown in a setTimeout callback',
      ])
      expect(result.code).to.equal(1)
      expect((await recorded()).sort()).to.deep.equal([
        'bad.timer_throw failed crashed: an exception no code caught (thrown in a callback?): Error: thrown in a setTimeout callback',
        'good.after succeeded after done',
        'good.slow succeeded slow done',
      ])
      expect(await claims()).to.deep.equal([])
    })

    it('process.exit(0) in do(): recorded failed, the tick goes on, exit 1 (cron monitors see the failure)', async () => {
      const result = await tick('ExitJob,AfterJob')
      expect(lines(result.stdout), context(result)).to.deep.equal([
        '[✘] bad.exit: crashed: it called process.exit(): JobExitError: the job called process.exit(0); a job must return or throw, never end the process',
        '[✔] good.after',
      ])
      expect(result.code).to.equal(1)
      expect(await recorded()).to.deep.equal([
        'bad.exit failed crashed: it called process.exit(): JobExitError: the job called process.exit(0); a job must return or throw, never end the process',
        'good.after succeeded after done',
      ])
      expect(await claims()).to.deep.equal([])
    })

    it('isolate = true: do() in a process of its own, killed when it does not stop; a dying process is recorded; the others run', async () => {
      const running = box.start(['runcrons'], {TEST_CRONS: 'IsolatedJob,IsolatedHangJob,IsolatedExitJob,AfterJob', MANAGE_NOW: '2026-01-05T00:00:00Z'})
      const result = await running.done
      expect(lines(result.stdout), context(result)).to.deep.equal([
        '[✔] iso.ok',
        '[✘] iso.hang: timed out — timed out after 0.05 min; it did not stop within the 1 s grace period and its process was killed',
        '[✘] iso.exit: crashed: its isolated process died (process.exit(), a native crash, out of memory?): Error: its process ended (exit code 3) before do() settled',
        '[✔] good.after',
      ])
      expect(result.code).to.equal(1)
      const [ok] = await box.rows()
      const [, child, parent] = /^ran in pid (\d+), a child of (\d+), at 2026-01-05T00:00:00\.000Z, grace 1$/.exec(ok.message ?? '') ?? []
      expect(Number(parent), ok.message ?? '').to.equal(running.pid)
      expect(Number(child)).to.not.equal(running.pid)
      expect(result.stderr).to.include(`iso.ok warn: isolated in pid ${child}`)
      expect(await claims()).to.deep.equal([])
      // The hung child was killed, not left behind.
      const hung = Number(fs.readdirSync(box.dir).find((name) => name.startsWith('iso.hang.pid-'))!.slice('iso.hang.pid-'.length))
      expect(() => process.kill(hung, 0)).to.throw()
    })

    it('a do() that never settles, with nothing else pending: recorded failed, the later jobs run, exit 1', async () => {
      const result = await tick('NeverJob,AfterJob')
      expect(lines(result.stdout), context(result)).to.deep.equal([
        '[✘] bad.never: crashed: it never settled: Error: do() never settled, and nothing was left pending that could settle it (a promise nobody resolves?)',
        '[✔] good.after',
      ])
      expect(result.code).to.equal(1)
      expect(await recorded()).to.deep.equal([
        'bad.never failed crashed: it never settled: Error: do() never settled, and nothing was left pending that could settle it (a promise nobody resolves?)',
        'good.after succeeded after done',
      ])
      expect(fs.existsSync(box.file('good.after.done'))).to.equal(true)
      expect(await claims()).to.deep.equal([])
    })
  })
}

/** The containment's rules, on a stand-in for the process (no real handlers are installed). */
describe('Containment: charging a crash to the run that caused it', () => {
  class FakeProcess extends EventEmitter {
    exited: Array<number | string | null | undefined> = []
    exit = (code?: number | string | null) => void this.exited.push(code)
  }
  const crashOf = async (promise: Promise<{crashed: Crash}>) => (await promise).crashed

  it("charges an error raised in a run's context to that run only", async () => {
    const target = new FakeProcess()
    const containment = new Containment()
    const uninstall = containment.install(target as unknown as NodeJS.Process)
    const a = containment.watch('a', 1)
    const b = containment.watch('b', 2)
    const error = new Error('boom')
    a.run(() => target.emit('uncaughtException', error))
    expect(await crashOf(a.crashed)).to.deep.equal({kind: 'uncaught-exception', error})
    const pending = await Promise.race([b.crashed, new Promise((resolve) => setImmediate(() => resolve('not charged')))])
    expect(pending).to.equal('not charged')
    uninstall()
    expect(target.listenerCount('uncaughtException')).to.equal(0)
  })

  it('charges an error from outside every run to each run going, saying so; with none going it is stray', async () => {
    const target = new FakeProcess()
    const containment = new Containment()
    const strays: Crash[] = []
    containment.onStrayCrash((crash) => strays.push(crash))
    containment.install(target as unknown as NodeJS.Process)
    const a = containment.watch('a', 1)
    const b = containment.watch('b', 2)
    target.emit('unhandledRejection', 'why')
    expect(await crashOf(a.crashed)).to.deep.equal({kind: 'unhandled-rejection', error: 'why', shared: true})
    expect(await crashOf(b.crashed)).to.deep.equal({kind: 'unhandled-rejection', error: 'why', shared: true})
    a.end()
    b.end()
    target.emit('unhandledRejection', 'later')
    expect(strays).to.deep.equal([{kind: 'unhandled-rejection', error: 'later'}])
  })

  it("a run's process.exit() throws in its place; outside every run, process.exit is the real one", async () => {
    const target = new FakeProcess()
    const containment = new Containment()
    containment.install(target as unknown as NodeJS.Process)
    const a = containment.watch('a', 1)
    expect(() => a.run(() => target.exit(3))).to.throw(JobExitError, 'the job called process.exit(3)')
    expect((await crashOf(a.crashed)).kind).to.equal('process-exit')
    target.exit(143)
    expect(target.exited).to.deep.equal([143])
  })

  it('when the loop runs dry, every run still waiting never settled; a crash after a run ended is a late one', async () => {
    const target = new FakeProcess()
    const guards = installProcessGuards({neverSettled: {kind: 'loop-runs-dry'}, target: target as unknown as NodeJS.Process})
    const {containment} = guards
    const late: Array<[string, number, string]> = []
    containment.onLateCrash((code, runId, crash) => late.push([code, runId, crash.kind]))
    const a = containment.watch('a', 1)
    target.emit('beforeExit')
    expect((await crashOf(a.crashed)).kind).to.equal('never-settled')
    a.end()
    a.run(() => target.emit('unhandledRejection', new Error('left behind')))
    expect(late).to.deep.equal([['a', 1, 'unhandled-rejection']])
    guards.release()
    expect(target.listenerCount('beforeExit')).to.equal(0)
  })
})
