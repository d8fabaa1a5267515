import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import v8 from 'node:v8'
import {expect} from 'chai'
import {startScheduler, type SchedulerHandle, type StartSchedulerOptions} from '../../src/scheduler'
import {ROOT, THROWING_SETTINGS, waitForFile} from '../helpers/cli'
import {BACKENDS, freshDatabase, type TestDatabase} from '../helpers/db'

/**
 * startScheduler in this process (the app's own), against real databases, in real time: a job
 * that never ran is due at once. The jobs are test/fixtures/embedded-settings.cjs (it needs the
 * build: it requires manage-cli by its name). The run log is polled, with a generous timeout.
 */

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'embedded-settings.cjs')
const WATCHED = ['SIGTERM', 'SIGINT', 'uncaughtException', 'unhandledRejection', 'beforeExit'] as const
const listenerCounts = () => WATCHED.map((event) => process.listenerCount(event))
type HostListener = (error: unknown) => void

describe('startScheduler: the scheduler in the app\'s own process', function () {
  this.timeout(30_000)
  this.slow(3_000)

  let t: TestDatabase | undefined
  let dir: string
  let handle: SchedulerHandle | undefined
  let lines: string[]
  const savedEnv = {...process.env}

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-embedded-'))
    lines = []
  })

  afterEach(async () => {
    await handle?.stop()
    handle = undefined
    for (const key of ['TEST_DIR', 'TEST_CRONS', 'TEST_GRACE']) if (savedEnv[key] === undefined) delete process.env[key]
    fs.rmSync(dir, {recursive: true, force: true})
    await t?.close()
    t = undefined
  })

  /** Start it on the fixture's `crons` (the settings module loaded afresh: it reads TEST_CRONS as it loads). */
  function start(crons: string, options: StartSchedulerOptions & {grace?: string} = {}): SchedulerHandle {
    Object.assign(process.env, {TEST_DIR: dir, TEST_CRONS: crons, TEST_GRACE: options.grace ?? '10'})
    delete require.cache[options.settings ?? SETTINGS]
    handle = startScheduler({project: ROOT, settings: SETTINGS, env: {DATABASE_URL: t!.url}, logger: {info: (line) => lines.push(line), error: (line) => lines.push(`! ${line}`)}, ...options})
    return handle
  }

  async function until(done: (rows: string[]) => boolean, timeoutMs = 15_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const rows = (await t!.db('cron_job_log').orderBy('id').select('code', 'status')).map((row) => `${row.code} ${row.status}`)
      if (done(rows)) return rows
      if (Date.now() > deadline) throw new Error(`the run log never got there: ${JSON.stringify(rows)}\n${lines.join('\n')}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /**
   * Run `fn` as the host, with these listeners instead of mocha's (which would fail the test on
   * any uncaught error, a job's included: an emit calls every listener). Mocha's come back after.
   */
  async function asHost(listeners: {exception: HostListener; rejection: HostListener}, fn: () => Promise<void>): Promise<void> {
    const mocha = {uncaughtException: process.listeners('uncaughtException'), unhandledRejection: process.listeners('unhandledRejection')}
    for (const listener of mocha.uncaughtException) process.off('uncaughtException', listener)
    for (const listener of mocha.unhandledRejection) process.off('unhandledRejection', listener)
    process.on('uncaughtException', listeners.exception)
    process.on('unhandledRejection', listeners.rejection)
    try {
      await fn()
    } finally {
      await handle?.stop()
      process.off('uncaughtException', listeners.exception)
      process.off('unhandledRejection', listeners.rejection)
      for (const listener of mocha.uncaughtException) process.on('uncaughtException', listener)
      for (const listener of mocha.unhandledRejection) process.on('unhandledRejection', listener)
    }
  }

  for (const dialect of BACKENDS) {
    it(`${dialect}: the first tick resolves, a due job runs and is recorded; stop() ends it; no signal handler, process.exit given back`, async () => {
      t = await freshDatabase({dialect})
      const before = listenerCounts()
      const exit = process.exit
      const h = start('QuickJob')
      expect(h.health()).to.deep.equal({healthy: false, status: 503, body: '{"status":"unhealthy","reason":"starting: the first wake has not reached the database yet"}'})
      await h.started
      expect(process.listenerCount('SIGTERM'), 'no SIGTERM handler').to.equal(before[0])
      expect(process.listenerCount('SIGINT'), 'no SIGINT handler').to.equal(before[1])
      await until((rows) => rows.includes('emb.quick succeeded'))
      expect(h.health()).to.deep.include({healthy: true, status: 200})
      expect(JSON.parse(h.health().body)).to.have.property('status', 'ok')
      const ticks = await t.db('cron_tick').select('kind', 'pid')
      expect(ticks.map((row) => [row.kind, Number(row.pid)])).to.deep.equal([['scheduler', process.pid]])
      expect(await h.stop()).to.deep.equal({abandoned: false})
      expect(listenerCounts(), 'every listener removed').to.deep.equal(before)
      expect(process.exit, 'process.exit given back').to.equal(exit)
      expect(lines).to.include('[✔] emb.quick')
      expect(fs.readFileSync(path.join(dir, 'calls.log'), 'utf8').trim()).to.equal(`emb.quick ${process.pid}`)
    })
  }

  it("leaves the host's V8 flags alone (manage scheduler alone holds the young generation: young-generation.ts)", async () => {
    t = await freshDatabase({dialect: 'sqlite'})
    const set: string[] = []
    const setFlagsFromString = v8.setFlagsFromString
    v8.setFlagsFromString = (flags: string) => void set.push(flags)
    try {
      const h = start('QuickJob')
      await h.started
      await until((rows) => rows.includes('emb.quick succeeded'))
      expect(await h.stop()).to.deep.equal({abandoned: false})
    } finally {
      v8.setFlagsFromString = setFlagsFromString
    }
    expect(set).to.deep.equal([])
  })

  it('stop() drains a running job: no new claim, the job given graceSeconds, recorded, every claim released', async () => {
    t = await freshDatabase()
    const h = start('WaitingJob')
    await h.started
    await waitForFile(path.join(dir, 'waiting.started'))
    const stopping = h.stop()
    fs.writeFileSync(path.join(dir, 'waiting.release'), '')
    expect(await stopping).to.deep.equal({abandoned: false})
    expect(await until(() => true)).to.deep.equal(['emb.waiting succeeded'])
    expect(await t.db('cron_job').whereNotNull('lock_token').select('code'), 'every claim released').to.deep.equal([])
  })

  it('a job that ignores its signal past graceSeconds: recorded interrupted, stop() says abandoned', async () => {
    t = await freshDatabase()
    const h = start('WaitingJob', {grace: '0.2'})
    await h.started
    await waitForFile(path.join(dir, 'waiting.started'))
    expect(await h.stop()).to.deep.equal({abandoned: true})
    expect(await until(() => true)).to.deep.equal(['emb.waiting interrupted'])
  })

  describe('start errors: `started` rejects with the command\'s one line, and nothing is left installed', () => {
    const cases: Array<{name: string; crons: string; settings?: string; migrated?: boolean; message: RegExp}> = [
      {name: 'no jobs', crons: '', message: /^no jobs to schedule: the crons of .*embedded-settings\.cjs is empty; list job classes in it/},
      {name: 'a settings file that fails to load', crons: 'QuickJob', settings: THROWING_SETTINGS, message: /^settings module .*cli-settings-throws\.cjs failed to load: .*settings exploded on purpose/},
      {name: 'a database that is not migrated', crons: 'QuickJob', migrated: false, message: /is not migrated .*run `manage migrate` first/},
    ]
    for (const {name, crons, settings, migrated, message} of cases) {
      it(name, async () => {
        t = await freshDatabase({migrated})
        const before = listenerCounts()
        const h = start(crons, settings === undefined ? {} : {settings})
        const error = await h.started.then(() => null, (reason: Error) => reason)
        expect(error?.message).to.match(message)
        expect(error!.message).to.not.include('\n')
        expect(listenerCounts()).to.deep.equal(before)
        expect(await h.stop()).to.deep.equal({abandoned: false})
        expect(fs.existsSync(path.join(dir, 'calls.log')), 'no job ran').to.equal(false)
      })
    }
  })

  it("a crash in a job's async context is charged to that job, process.exit in a job is thrown in its place; Node still tells the host's own listener of the job's exception", async () => {
    t = await freshDatabase()
    const heard: unknown[] = []
    await asHost({exception: (error) => heard.push(error), rejection: (error) => heard.push(error)}, async () => {
      await start('TimerThrowJob,ExitJob').started
      const rows = await until((rows) => rows.length === 2 && rows.every((row) => !row.endsWith(' running')))
      expect(rows.sort()).to.deep.equal(['emb.exit failed', 'emb.timer_throw failed'])
    })
    const messages = (await t.db('cron_job_log').orderBy('code').select('message')).map((row) => String(row.message).split('\n')[0])
    expect(messages[0]).to.match(/process\.exit\(3\)/)
    expect(messages[1]).to.match(/^crashed: an exception no code caught/)
    // Node calls every listener: the host's hears the job's exception too, and may tell it apart by its stack.
    expect(heard.map((error) => (error as Error).message)).to.deep.equal(['thrown in a timer of the job'])
  })

  it("an error outside every job goes to the host's listeners, not to the job running then", async () => {
    t = await freshDatabase()
    const exceptions: unknown[] = []
    const rejections: unknown[] = []
    await asHost({exception: (error) => exceptions.push(error), rejection: (reason) => rejections.push(reason)}, async () => {
      await start('WaitingJob').started
      await waitForFile(path.join(dir, 'waiting.started'))
      setTimeout(() => {
        throw new Error('a bug of the host')
      })
      void Promise.reject(new Error('a rejection of the host'))
      const deadline = Date.now() + 5000
      while (exceptions.length + rejections.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
      fs.writeFileSync(path.join(dir, 'waiting.release'), '')
      await until((rows) => rows.includes('emb.waiting succeeded'))
    })
    expect(exceptions.map((error) => (error as Error).message)).to.deep.equal(['a bug of the host'])
    expect(rejections.map((error) => (error as Error).message)).to.deep.equal(['a rejection of the host'])
    expect(lines.join('\n')).to.not.include('outside every job')
  })
})
