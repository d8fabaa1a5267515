import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {knexSource} from '../../src/core/db/connection-source'
import {unlockJob} from '../../src/core/operate/unlock'
import {context, expectRun, lines, Sandbox, waitForFile, type Env, type LogRow, type Result} from '../helpers/cli'
import {plain} from '../helpers/db'

/**
 * End-to-end tests of the crons:* commands (list, next, history, clean, pause, resume), of the
 * fast path of a plain `runcrons` against the full command, and of deleteLogsOlderThanDays, on a
 * sqlite file with the clock pinned by MANAGE_NOW. The commands run in this process (callCommand);
 * the ticks whose path is probed (tick()) and the runs held in another process are real bin/manage
 * processes. Nothing waits for time to pass; overlap between processes is shown by marker files.
 */

const HOST = os.hostname()
/** Who crons:pause records. */
const WHO = `${os.userInfo().username}@${os.hostname()}`

/** The crons of the shared starting state (see `before`). */
const BASE = 'SuccessJob,AtTimesJob,CronExprJob,NewYorkJob'

/** A usage error: exit 2, nothing on stdout, exactly one line on stderr. */
function expectUsageError(result: Result, pattern: RegExp): void {
  expect(result.code, context(result)).to.equal(2)
  expect(result.stdout, context(result)).to.equal('')
  const errors = lines(result.stderr)
  expect(errors, context(result)).to.have.length(1)
  expect(errors[0], context(result)).to.match(pattern)
}

function parse<T>(result: Result): T {
  expect(result.code, context(result)).to.equal(0)
  expect(result.stderr, context(result)).to.equal('')
  return JSON.parse(result.stdout) as T
}

interface Listing {
  code: string
  className: string
  schedule: string
  timeZone: string
  lastRun: {status: string; startTime: string; endTime: string | null; durationMs: number | null} | null
  nextDue: string | null
  nextDueSlot: string | null
  runningNow: {host: string | null; pid: number | null; since: string} | null
  paused: {since: string | null; by: string | null; note: string | null} | null
}

interface NextTimes {
  code: string
  timeZone: string
  paused: boolean
  times: Array<{time: string; local: string; slot: string | null; reason: string; dstChange: string | null}>
}

interface HistoryEntry {
  id: number
  code: string
  status: string
  startTime: string
  endTime: string | null
  durationMs: number | null
  ranAtTime: string | null
  host: string | null
  pid: number | null
  version: string | null
  message: string | null
}

type NewRow = Partial<Omit<LogRow, 'id'>> & {code: string; status: string; start_time: string}

function insertRows(box: Sandbox, rows: NewRow[]): Promise<void> {
  return box.withDb(async (db) => {
    await db('cron_job_log').insert(rows)
  })
}

/** Copy a sandbox's database (closed: no process has it open) into another sandbox. */
function copyDb(from: Sandbox, to: Sandbox): void {
  for (const name of fs.readdirSync(from.dir)) {
    if (name.startsWith(path.basename(from.dbFile))) fs.copyFileSync(path.join(from.dir, name), path.join(to.dir, name))
  }
}

describe('crons:* commands, the fast path and deleteLogsOlderThanDays (end to end)', function () {
  this.timeout(30_000)
  this.slow(5_000)

  /** A migrated, empty database, and one after three ticks of BASE (copied into each test's sandbox). */
  let empty: Sandbox
  let base: Sandbox
  /** A --require'd module that records, at exit, whether the full runcrons command was loaded. */
  let probeDir: string
  let probeFile: string
  let probes = 0
  const boxes: Sandbox[] = []

  /** A sandbox with a copy of `template`'s database. */
  function sandbox(template: Sandbox): Sandbox {
    const box = new Sandbox({tier: 'in-process'})
    boxes.push(box)
    copyDb(template, box)
    return box
  }

  /** `runcrons` in a bin/manage process with the probe: the result and which path answered: 'fast' (nothing due), 'direct' (the tick without oclif) or 'full' (the oclif command). */
  async function tick(box: Sandbox, crons: string, now: string, args: string[] = [], extra: Env = {}): Promise<Result & {path: string}> {
    const out = path.join(probeDir, `path-${probes++}`)
    const result = await box.spawn(['runcrons', ...args], {TEST_CRONS: crons, MANAGE_NOW: now, NODE_OPTIONS: `--require ${probeFile}`, PROBE_OUT: out, ...extra})
    return {...result, path: fs.readFileSync(out, 'utf8')}
  }

  /**
   * The plain command (a bin/manage process, its path probed) and the full one (MANAGE_NO_FAST_PATH=1,
   * the oclif command, in process) on the same (unchanged) state: same output and exit code. That
   * MANAGE_NO_FAST_PATH=1 takes the full path in a process is probed by the tests below that tick it.
   */
  async function expectSameAsFull(box: Sandbox, crons: string, now: string, args: string[], plainPath: 'fast' | 'direct', extra: Env = {}): Promise<Result> {
    const plain = await tick(box, crons, now, args, extra)
    const full = await box.runcrons(crons, now, args, {...extra, MANAGE_NO_FAST_PATH: '1'})
    const what = `runcrons ${args.join(' ')} at ${now} with ${crons || 'no crons'}`
    expect(plain.path, `${what}: which path answered\n${context(plain)}`).to.equal(plainPath)
    expect({code: plain.code, stdout: plain.stdout, stderr: plain.stderr}, what).to.deep.equal({code: full.code, stdout: full.stdout, stderr: full.stderr})
    return plain
  }

  before(async function () {
    this.timeout(60_000)
    probeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-probe-'))
    probeFile = path.join(probeDir, 'probe.cjs')
    fs.writeFileSync(
      probeFile,
      `process.on('exit', () => {\n` +
        `  const loaded = (file) => Object.keys(require.cache).some((name) => name.endsWith(file))\n` +
        `  const path = loaded(${JSON.stringify(path.join('dist', 'src', 'commands', 'runcrons.js'))}) ? 'full' : loaded(${JSON.stringify(path.join('dist', 'entry', 'direct-tick.js'))}) ? 'direct' : 'fast'\n` +
        `  if (process.env.PROBE_OUT) require('node:fs').writeFileSync(process.env.PROBE_OUT, path)\n` +
        `})\n`,
    )
    empty = new Sandbox({tier: 'in-process'})
    await empty.migrate()
    base = sandbox(empty)
    // 00:00 UTC is 19:00 in New York on the 22nd: its 09:00 slot of that day has not run, so it runs.
    expectRun(await base.runcrons(BASE, '2026-11-23T00:00:00Z'), 0, ['[✔] test.success', '[✔] test.at_times', '[✔] test.cron_expr', '[✔] test.new_york'])
    expectRun(await base.runcrons(BASE, '2026-11-23T00:05:00Z'), 0, ['[ ] test.success', '[✔] test.at_times', '[ ] test.cron_expr', '[ ] test.new_york'])
    expectRun(await base.runcrons(BASE, '2026-11-23T12:00:00Z'), 0, ['[✔] test.success', '[ ] test.at_times', '[✔] test.cron_expr', '[ ] test.new_york'])
  })

  after(() => {
    for (const box of [empty, base, ...boxes]) box?.remove()
    if (probeDir) fs.rmSync(probeDir, {recursive: true, force: true})
  })

  describe('crons:list', () => {
    it('--json: schedule in words, last run, exact next due time per schedule kind; the plain form has a header and one row per job', async () => {
      const box = sandbox(base)
      expectRun(await box.runcrons('FailJob', '2026-11-23T12:00:00Z'), 1, ['[✘] test.fail: Error: boom from test.fail'])
      // The 12:00 run of test.success took 2.5 s (the pinned clock makes every run 0 ms long).
      await box.withDb((db) => db('cron_job_log').where({code: 'test.success', start_time: '2026-11-23T12:00:00.000Z'}).update({end_time: '2026-11-23T12:00:02.500Z'}))

      const crons = `${BASE},FailJob`
      const env = {TEST_CRONS: crons, MANAGE_NOW: '2026-11-23T12:03:00Z'}
      const [json, plain] = await Promise.all([box.run(['crons:list', '--json'], env), box.run(['crons:list'], env)])
      const jobs = parse<Listing[]>(json)
      expect(jobs.map((job) => job.code)).to.deep.equal(['test.success', 'test.at_times', 'test.cron_expr', 'test.new_york', 'test.fail'])
      const byCode = new Map(jobs.map((job) => [job.code, job]))

      expect(byCode.get('test.success')).to.deep.include({
        className: 'SuccessJob',
        schedule: 'every 5 min',
        timeZone: 'UTC',
        // Due when more than 5 min have passed since 12:00:00: the first tick after 12:05:00.
        nextDue: '2026-11-23T12:06:00.000Z',
        nextDueSlot: null,
        runningNow: null,
        paused: null,
      })
      expect(byCode.get('test.success')!.lastRun).to.deep.include({status: 'succeeded', startTime: '2026-11-23T12:00:00.000Z', endTime: '2026-11-23T12:00:02.500Z', durationMs: 2500})

      expect(byCode.get('test.fail')).to.deep.include({className: 'FailJob', schedule: 'every 5 min', nextDue: '2026-11-23T12:03:00.000Z', paused: null})
      expect(byCode.get('test.fail')!.lastRun).to.deep.include({status: 'failed', startTime: '2026-11-23T12:00:00.000Z', endTime: '2026-11-23T12:00:00.000Z', durationMs: 0})

      // Both of today's slots have run: the next is tomorrow's first.
      expect(byCode.get('test.at_times')).to.deep.include({className: 'AtTimesJob', schedule: 'at 00:00, 00:05', nextDue: '2026-11-24T00:00:00.000Z', nextDueSlot: '00:00'})
      expect(byCode.get('test.at_times')!.lastRun).to.deep.include({status: 'succeeded', startTime: '2026-11-23T00:05:00.000Z', durationMs: 0})

      expect(byCode.get('test.cron_expr')).to.deep.include({
        className: 'CronExprJob',
        schedule: "cron '*/15 * * * *' (Every 15 minutes)",
        nextDue: '2026-11-23T12:15:00.000Z',
        nextDueSlot: null,
      })
      expect(byCode.get('test.cron_expr')!.lastRun).to.deep.include({status: 'succeeded', startTime: '2026-11-23T12:00:00.000Z'})

      // Its own zone: 09:00 in New York (EST) is 14:00 UTC.
      expect(byCode.get('test.new_york')).to.deep.include({
        className: 'NewYorkJob',
        schedule: 'at 09:00 (America/New_York)',
        timeZone: 'America/New_York',
        nextDue: '2026-11-23T14:00:00.000Z',
        nextDueSlot: '09:00',
      })
      expect(byCode.get('test.new_york')!.lastRun).to.deep.include({status: 'succeeded', startTime: '2026-11-23T00:00:00.000Z'})

      expect(plain.code, context(plain)).to.equal(0)
      expect(plain.stderr).to.equal('')
      const [header, ...rows] = lines(plain.stdout)
      expect(header).to.match(/^CODE\s+CLASS\s+SCHEDULE\s+LAST RUN\s+NEXT DUE\s+RUNNING NOW\s+PAUSED$/)
      expect(rows).to.have.length(5)
      expect(rows.map((row) => row.split(/\s+/)[0])).to.deep.equal(['test.success', 'test.at_times', 'test.cron_expr', 'test.new_york', 'test.fail'])
      expect(rows[0]).to.match(/^test\.success\s+SuccessJob\s+every 5 min\s+succeeded 2026-11-23 12:00:00 UTC \(2\.5 s\)\s+2026-11-23 12:06:00 UTC$/)
      expect(rows[1]).to.match(/^test\.at_times\s+AtTimesJob\s+at 00:00, 00:05\s+succeeded 2026-11-23 00:05:00 UTC \(0 ms\)\s+2026-11-24 00:00:00 UTC \[00:00\]$/)
      expect(rows[2]).to.include("cron '*/15 * * * *' (Every 15 minutes)").and.include('2026-11-23 12:15:00 UTC')
      expect(rows[3]).to.include('succeeded 2026-11-22 19:00:00 EST (0 ms)').and.include('2026-11-23 09:00:00 EST [09:00]')
      expect(rows[4]).to.match(/^test\.fail\s+FailJob\s+every 5 min\s+failed 2026-11-23 12:00:00 UTC \(0 ms\)\s+2026-11-23 12:03:00 UTC$/)
    })

    it('shows a run in progress in another process (runningNow) and a paused job (since, by)', async () => {
      const box = sandbox(empty)
      expectRun(await box.run(['crons:pause', 'SuccessJob'], {TEST_CRONS: 'SuccessJob', MANAGE_NOW: '2026-11-23T11:50:00Z'}), 0, ['Paused test.success.'])
      const runner = box.start(['runcrons'], {TEST_CRONS: 'BlockingJob', MANAGE_NOW: '2026-11-23T12:00:00Z'})
      try {
        await waitForFile(box.file('blocking.started'), runner.done)
        const env = {TEST_CRONS: 'BlockingJob,SuccessJob', MANAGE_NOW: '2026-11-23T12:02:00Z'}
        const [json, plain] = await Promise.all([box.run(['crons:list', '--json'], env), box.run(['crons:list'], env)])
        const [blocking, success] = parse<Listing[]>(json)

        expect(blocking.code).to.equal('test.blocking')
        expect(blocking.runningNow).to.deep.include({host: HOST, pid: runner.pid, since: '2026-11-23T12:00:00.000Z'})
        expect(blocking.lastRun).to.deep.include({status: 'running', startTime: '2026-11-23T12:00:00.000Z', endTime: null, durationMs: null})
        expect(blocking.paused).to.equal(null)

        expect(success.code).to.equal('test.success')
        expect(success.paused).to.deep.equal({since: '2026-11-23T11:50:00.000Z', by: WHO, note: null})
        expect(success.nextDue).to.equal(null)
        expect(success.runningNow).to.equal(null)
        expect(success.lastRun).to.equal(null)

        expect(plain.code, context(plain)).to.equal(0)
        const [header, ...rows] = lines(plain.stdout)
        expect(header).to.match(/^CODE\s+CLASS\s+SCHEDULE\s+LAST RUN\s+NEXT DUE\s+RUNNING NOW\s+PAUSED$/)
        expect(rows).to.have.length(2)
        expect(rows[0]).to.match(/^test\.blocking\s+BlockingJob\s+every 5 min\s+running 2026-11-23 12:00:00 UTC\s/)
        expect(rows[0]).to.include(`${HOST} pid ${runner.pid} since 2026-11-23 12:00:00 UTC`)
        expect(rows[1]).to.match(new RegExp(`^test\\.success\\s+SuccessJob\\s+every 5 min\\s+never\\s+paused\\s+since 2026-11-23 11:50:00 UTC by ${WHO.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`))
      } finally {
        fs.writeFileSync(box.file('blocking.release'), '')
      }
      expectRun(await runner.done, 0, ['[✔] test.blocking'])
    })
  })

  describe('crons:next', () => {
    it('--count N --json: exact times of an every-N job and a cron job; the text form', async () => {
      const box = sandbox(base)
      const env = {TEST_CRONS: BASE, MANAGE_NOW: '2026-11-23T12:03:00Z'}
      const [every, cron, text] = await Promise.all([
        box.run(['crons:next', 'test.success', '--count', '3', '--json'], env),
        box.run(['crons:next', 'CronExprJob', '--count', '3', '--json'], env),
        box.run(['crons:next', 'test.cron_expr', '--count', '3'], env),
      ])
      const e = parse<NextTimes>(every)
      expect(e).to.deep.include({code: 'test.success', timeZone: 'UTC', paused: false})
      // Each as if the one before had succeeded: more than 5 min after it, on a minute tick.
      expect(e.times.map((t) => t.time)).to.deep.equal(['2026-11-23T12:06:00.000Z', '2026-11-23T12:12:00.000Z', '2026-11-23T12:18:00.000Z'])
      expect(e.times.map((t) => [t.slot, t.dstChange])).to.deep.equal([
        [null, null],
        [null, null],
        [null, null],
      ])
      expect(e.times[0].local).to.equal('Mon 2026-11-23 12:06 UTC')

      const c = parse<NextTimes>(cron)
      expect(c).to.deep.include({code: 'test.cron_expr', timeZone: 'UTC', paused: false})
      expect(c.times.map((t) => t.time)).to.deep.equal(['2026-11-23T12:15:00.000Z', '2026-11-23T12:30:00.000Z', '2026-11-23T12:45:00.000Z'])
      expect(c.times[0].reason).to.equal("cron '*/15 * * * *': slot 2026-11-23 12:15 has not run")

      expectRun(text, 0, ['Mon 2026-11-23 12:15 UTC', 'Mon 2026-11-23 12:30 UTC', 'Mon 2026-11-23 12:45 UTC'])
    })

    it('runAtTimes in America/New_York over the spring-forward change: exact times, one entry marks the change', async () => {
      const box = sandbox(empty)
      // Settings in UTC; both jobs have their own zone. 2027-03-14 02:00 EST jumps to 03:00 EDT.
      const env = {TEST_CRONS: 'NewYorkJob,GapJob', MANAGE_NOW: '2027-03-12T12:00:00Z'}
      const [ny, gap, gapText] = await Promise.all([
        box.run(['crons:next', 'NewYorkJob', '--count', '4', '--json'], env),
        box.run(['crons:next', 'test.gap', '--count', '4', '--json'], env),
        box.run(['crons:next', 'test.gap', '--count', '4'], env),
      ])
      const n = parse<NextTimes>(ny)
      expect(n).to.deep.include({code: 'test.new_york', timeZone: 'America/New_York', paused: false})
      expect(n.times.map((t) => t.time)).to.deep.equal(['2027-03-12T09:00:00.000-05:00', '2027-03-13T09:00:00.000-05:00', '2027-03-14T09:00:00.000-04:00', '2027-03-15T09:00:00.000-04:00'])
      expect(n.times.map((t) => t.local)).to.deep.equal(['Fri 2027-03-12 09:00 EST', 'Sat 2027-03-13 09:00 EST', 'Sun 2027-03-14 09:00 EDT', 'Mon 2027-03-15 09:00 EDT'])
      expect(n.times.map((t) => t.slot)).to.deep.equal(['09:00', '09:00', '09:00', '09:00'])
      // Only the first time after the change is marked (its label: see the skipped test below).
      expect(n.times.map((t) => t.dstChange !== null)).to.deep.equal([false, false, true, false])

      // A slot inside the gap (02:30 does not exist on the 14th) is due at the jump, 03:00 EDT.
      const g = parse<NextTimes>(gap)
      expect(g.times.map((t) => t.time)).to.deep.equal(['2027-03-12T07:00:00.000-05:00', '2027-03-13T02:30:00.000-05:00', '2027-03-14T03:00:00.000-04:00', '2027-03-15T02:30:00.000-04:00'])
      expect(g.times.map((t) => t.dstChange)).to.deep.equal([null, null, 'EST → EDT', null])
      expect(g.times.map((t) => t.slot)).to.deep.equal(['02:30', '02:30', '02:30', '02:30'])
      expectRun(gapText, 0, [
        'Fri 2027-03-12 07:00 EST  slot 02:30',
        'Sat 2027-03-13 02:30 EST  slot 02:30',
        'Sun 2027-03-14 03:00 EDT  slot 02:30  (DST change: EST → EDT)',
        'Mon 2027-03-15 02:30 EDT  slot 02:30',
      ])
    })

    it('labels a DST change from the offset of the entry before it (EST → EDT, EDT → EST)', async () => {
      const box = sandbox(empty)
      const [spring, autumn] = await Promise.all([
        box.run(['crons:next', 'NewYorkJob', '--count', '4', '--json'], {TEST_CRONS: 'NewYorkJob', MANAGE_NOW: '2027-03-12T12:00:00Z'}),
        box.run(['crons:next', 'NewYorkJob', '--count', '3', '--json'], {TEST_CRONS: 'NewYorkJob', MANAGE_NOW: '2027-11-05T12:00:00Z'}),
      ])
      expect(parse<NextTimes>(spring).times.map((t) => t.dstChange)).to.deep.equal([null, null, 'EST → EDT', null])
      const fall = parse<NextTimes>(autumn)
      expect(fall.times.map((t) => t.time)).to.deep.equal(['2027-11-05T09:00:00.000-04:00', '2027-11-06T09:00:00.000-04:00', '2027-11-07T09:00:00.000-05:00'])
      expect(fall.times.map((t) => t.dstChange)).to.deep.equal([null, null, 'EDT → EST'])
    })

    it('a paused job says it is paused; an unknown name exits 2 with a suggestion', async () => {
      const box = sandbox(base)
      const env = {TEST_CRONS: BASE, MANAGE_NOW: '2026-11-23T12:03:00Z'}
      expectRun(await box.run(['crons:pause', 'test.success'], env), 0, ['Paused test.success.'])
      const [text, json, unknown] = await Promise.all([
        box.run(['crons:next', 'test.success'], env),
        box.run(['crons:next', 'SuccessJob', '--json'], env),
        box.run(['crons:next', 'test.sucess'], env),
      ])
      expectRun(text, 0, ['test.success is paused: it is not due until `manage crons:resume test.success`.'])
      expect(parse<NextTimes>(json)).to.deep.equal({code: 'test.success', timeZone: 'UTC', paused: true, times: []})
      expectUsageError(unknown, /^error: unknown cron job 'test\.sucess': did you mean 'test\.success'\?/)
    })
  })

  describe('crons:history', () => {
    it('newest first with durations, versions and first lines; --full, --status, --limit, --json; a bad --status exits 2', async () => {
      const box = sandbox(empty)
      // Each run records the version of the code that ran it (MANAGE_VERSION here); the rows inserted below have none.
      expectRun(await box.runcrons('FailJob,AtTimesJob', '2026-11-23T00:00:00Z', [], {MANAGE_VERSION: '2.0.0+3f9c2ab'}), 1, ['[✘] test.fail: Error: boom from test.fail', '[✔] test.at_times'])
      const [failRow] = await box.rows('test.fail')
      // Inserted out of time order: the list is ordered by start time (then id), not by id.
      await insertRows(box, [
        {code: 'app.import', status: 'succeeded', start_time: '2026-11-23T01:00:00.000Z', end_time: '2026-11-23T01:00:01.500Z', message: 'imported 3 files\nsecond line'},
        {code: 'app.import', status: 'failed', start_time: '2026-11-23T02:00:00.000Z', end_time: '2026-11-23T02:02:05.000Z', message: 'Error: disk full\n    at write (import.js:1:1)'},
        {code: 'app.import', status: 'running', start_time: '2026-11-23T03:00:00.000Z', lease_expires_at: '2026-11-23T03:05:00.000Z'},
        {code: 'app.report', status: 'timed_out', start_time: '2026-11-22T23:00:00.000Z', end_time: '2026-11-22T23:00:00.250Z', message: 'timed out after 1 min\ndetails'},
      ])

      const env = {TEST_CRONS: 'FailJob,AtTimesJob,SuccessJob'}
      const [table, fullOne, fullFailed, failedJson, limited, slot, none, bad, byClass, unknown, typo] = await Promise.all([
        box.run(['crons:history'], env),
        box.run(['crons:history', 'test.fail', '--full'], env),
        box.run(['crons:history', 'app.import', '--status', 'failed', '--full'], env),
        box.run(['crons:history', '--status', 'failed', '--json'], env),
        box.run(['crons:history', '--limit', '2', '--json'], env),
        box.run(['crons:history', 'test.at_times', '--full'], env),
        box.run(['crons:history', 'test.success'], env),
        box.run(['crons:history', '--status', 'bogus'], env),
        box.run(['crons:history', 'FailJob', '--json'], env),
        box.run(['crons:history', 'nobody'], env),
        box.run(['crons:history', 'test.fial'], env),
      ])

      expect(table.code, context(table)).to.equal(0)
      const [header, ...rows] = lines(table.stdout)
      expect(header).to.match(/^ID\s+CODE\s+STATUS\s+STARTED\s+DURATION\s+VERSION\s+MESSAGE$/)
      const patterns = [
        /^5\s+app\.import\s+running\s+2026-11-23 03:00:00 UTC$/,
        /^4\s+app\.import\s+failed\s+2026-11-23 02:00:00 UTC\s+2 min 5 s\s+Error: disk full$/,
        /^3\s+app\.import\s+succeeded\s+2026-11-23 01:00:00 UTC\s+1\.5 s\s+imported 3 files$/,
        /^2\s+test\.at_times\s+succeeded\s+2026-11-23 00:00:00 UTC\s+0 ms\s+2\.0\.0\+3f9c2ab\s+slot 00:00$/,
        /^1\s+test\.fail\s+failed\s+2026-11-23 00:00:00 UTC\s+0 ms\s+2\.0\.0\+3f9c2ab\s+Error: boom from test\.fail$/,
        /^6\s+app\.report\s+timed_out\s+2026-11-22 23:00:00 UTC\s+250 ms\s+timed out after 1 min$/,
      ]
      expect(rows, context(table)).to.have.length(patterns.length)
      rows.forEach((row, i) => expect(row, context(table)).to.match(patterns[i]))

      expect(fullOne.code, context(fullOne)).to.equal(0)
      const whole = lines(fullOne.stdout)
      expect(whole[0]).to.equal(`#1 test.fail failed 2026-11-23 00:00:00 UTC (0 ms) on ${HOST} pid ${failRow.pid} version 2.0.0+3f9c2ab`)
      expect(whole[1]).to.equal('    Error: boom from test.fail')
      expect(whole.length).to.be.greaterThan(2)
      for (const line of whole.slice(2)) expect(line).to.match(/^ {8}at /)
      expect(whole.slice(2).join('\n')).to.include('cli-settings.cjs')
      expect(whole.join('\n')).to.equal(failRow.message!.replace(/^/gm, '    ').replace(/^/, `${whole[0]}\n`))

      expectRun(fullFailed, 0, ['#4 app.import failed 2026-11-23 02:00:00 UTC (2 min 5 s) on ? pid ?', '    Error: disk full', '        at write (import.js:1:1)'])
      expectRun(slot, 0, [`#2 test.at_times succeeded 2026-11-23 00:00:00 UTC (0 ms) slot 00:00 on ${HOST} pid ${failRow.pid} version 2.0.0+3f9c2ab`, '    slot 00:00'])

      const failed = parse<HistoryEntry[]>(failedJson)
      expect(failed.map((run) => [run.id, run.code, run.status, run.durationMs])).to.deep.equal([
        [4, 'app.import', 'failed', 125_000],
        [1, 'test.fail', 'failed', 0],
      ])
      expect(failed[1].message).to.equal(failRow.message)
      expect(failed[0]).to.deep.include({startTime: '2026-11-23T02:00:00.000Z', endTime: '2026-11-23T02:02:05.000Z', host: null, pid: null, ranAtTime: null, version: null})
      expect(failed[1]).to.deep.include({version: '2.0.0+3f9c2ab'})

      const two = parse<HistoryEntry[]>(limited)
      expect(two.map((run) => [run.id, run.status, run.endTime, run.durationMs])).to.deep.equal([
        [5, 'running', null, null],
        [4, 'failed', '2026-11-23T02:02:05.000Z', 125_000],
      ])

      // A job of the settings that has not run yet: no runs. A name that is no job: exit 2 with the nearest names, as the other commands say it.
      expectRun(none, 0, ['No runs.'])
      expect(parse<HistoryEntry[]>(byClass).map((run) => [run.id, run.code])).to.deep.equal([[1, 'test.fail']])
      expectUsageError(unknown, /^error: unknown cron job 'nobody': the known jobs are 'FailJob', 'test\.fail', /)
      expectUsageError(typo, /^error: unknown cron job 'test\.fial': did you mean 'test\.fail'\?/)
      expectUsageError(bad, /^error: --status 'bogus' is not a run status: use one of running, succeeded, failed, interrupted, timed_out, or skipped$/)
    })
  })

  describe('crons:unlock', () => {
    it('prints a code typed with an escape and a line break escaped, on one line: refused as the job loader refuses it (exit 2)', async () => {
      const box = sandbox(base)
      const hostile = 'x\u001b[2J\nsecond line'
      const [refused, unknown, known] = await Promise.all([
        box.run(['crons:unlock', hostile]),
        box.run(['crons:unlock', 'test.nope']),
        box.run(['crons:unlock', 'test.success']),
      ])
      expectUsageError(refused, /^error: code 'x\\u001b\[2J\\nsecond line' has a control character \(a line break, an escape, NUL…\): use printable characters only/)
      expect(`${refused.stdout}${refused.stderr}`).not.to.include('\u001b')
      expect(unknown.code, context(unknown)).to.equal(1)
      expect(lines(unknown.stderr), context(unknown)).to.deep.equal([
        "error: no job with the code 'test.nope' has run on this database (known: 'test.at_times', 'test.cron_expr', 'test.new_york', 'test.success'): give a job's code, not its class name",
      ])
      expectRun(known, 0, ['test.success is not locked.'])
      // The dashboard calls the same core: its message escapes the code too.
      const message = await box.withDb((db) => unlockJob(knexSource(db, 'sqlite'), hostile, {force: false, nowMs: 0, leaseNowMs: 0}).then(() => 'released', (error: Error) => error.message))
      expect(message).to.match(/^no job with the code 'x\\u001b\[2J\\nsecond line' has run on this database/)
    })
  })

  describe('crons:clean', () => {
    it('--older-than: counts, --keep-failed, --dry-run deletes nothing, never a running row, a malformed age exits 2', async () => {
      const box = sandbox(empty)
      // Now is 2026-12-30 00:00 UTC, so 30d means "started before 2026-11-30 00:00 UTC".
      await insertRows(box, [
        {code: 'a', status: 'succeeded', start_time: '2026-11-01T00:00:00.000Z', end_time: '2026-11-01T00:00:01.000Z'},
        {code: 'a', status: 'failed', start_time: '2026-11-10T00:00:00.000Z', end_time: '2026-11-10T00:00:01.000Z'},
        {code: 'b', status: 'interrupted', start_time: '2026-11-15T00:00:00.000Z'},
        {code: 'b', status: 'timed_out', start_time: '2026-11-29T23:59:59.999Z'},
        {code: 'a', status: 'succeeded', start_time: '2026-11-30T00:00:00.000Z'},
        {code: 'c', status: 'running', start_time: '2026-10-01T00:00:00.000Z'},
        {code: 'a', status: 'succeeded', start_time: '2026-12-20T00:00:00.000Z'},
      ])
      // Alerts: one delivered and one still pending from before the cutoff, one delivered after it.
      await box.withDb(async (db) => {
        const alert = (id: number, status: string, created: string) => ({id, dedupe_key: `k${id}`, kind: 'failed', code: 'a', host: 'h', text: 't', created_at: created, next_attempt_at: created, status})
        await db('cron_alert').insert([alert(1, 'delivered', '2026-11-01T00:00:00.000Z'), alert(2, 'pending', '2026-11-01T00:00:00.000Z'), alert(3, 'delivered', '2026-12-01T00:00:00.000Z')])
        await db('cron_alert_attempt').insert([1, 2, 3].map((id) => ({alert_id: id, channel: 'webhook', ok: id !== 2, attempted_at: '2026-12-01T00:00:00.000Z', duration_ms: 5})))
      })
      const env = {MANAGE_NOW: '2026-12-30T00:00:00Z'}
      const ids = async () => (await box.rows()).map((row) => row.id)
      const clean = (...args: string[]) => box.run(['crons:clean', ...args], env)

      const [dry, dryKeep, dryWeeks, ...malformed] = await Promise.all([
        clean('--older-than', '30d', '--dry-run', '--json'),
        clean('--older-than', '30d', '--keep-failed', '--dry-run'),
        clean('--older-than', '2w', '--dry-run', '--json'),
        clean('--older-than', '30x'),
        clean('--older-than', '0d'),
        clean('--older-than', '30'),
        clean('--older-than', 'd30', '--dry-run'),
      ])
      expect(parse(dry)).to.deep.equal({deleted: 0, wouldDelete: 4, alertsDeleted: 0, alertsWouldDelete: 1, before: '2026-11-30T00:00:00.000Z'})
      expectRun(dryKeep, 0, ['Would delete 1 run(s) started before 2026-11-30 00:00:00 UTC (failures kept).', 'Would delete 1 alert(s) delivered or abandoned, raised before then.'])
      expect(parse(dryWeeks)).to.deep.equal({deleted: 0, wouldDelete: 5, alertsDeleted: 0, alertsWouldDelete: 2, before: '2026-12-16T00:00:00.000Z'})
      for (const [i, age] of ['30x', '0d', '30', 'd30'].entries()) {
        expectUsageError(malformed[i], new RegExp(`^error: --older-than '${age}' is not an age: use a number and a unit, e\\.g\\. 30d, 12h, 90m or 2w$`))
      }
      expect(await ids()).to.deep.equal([1, 2, 3, 4, 5, 6, 7])

      expectRun(await clean('--older-than', '30d', '--keep-failed'), 0, ['Deleted 1 run(s) started before 2026-11-30 00:00:00 UTC (failures kept).', 'Deleted 1 alert(s) delivered or abandoned, raised before then.'])
      expect(await ids()).to.deep.equal([2, 3, 4, 5, 6, 7])
      expect(await box.withDb(async (db) => [await db('cron_alert').orderBy('id').pluck('id'), await db('cron_alert_attempt').orderBy('alert_id').pluck('alert_id')])).to.deep.equal([[2, 3], [2, 3]])
      expect(parse(await clean('--older-than', '720h', '--json'))).to.deep.equal({deleted: 3, alertsDeleted: 0, before: '2026-11-30T00:00:00.000Z'})
      expect(await ids()).to.deep.equal([5, 6, 7])
      // Everything is older than a minute; the running row, and the alert still to deliver, still stay.
      expect(parse(await clean('--older-than', '1m', '--json'))).to.deep.equal({deleted: 2, alertsDeleted: 1, before: '2026-12-29T23:59:00.000Z'})
      expect(await box.withDb((db) => db('cron_alert').pluck('id'))).to.deep.equal([2])
      const left = await box.rows()
      expect(left.map((row) => [row.id, row.code, row.status])).to.deep.equal([[6, 'c', 'running']])
    })
  })

  describe('crons:pause / crons:resume', () => {
    it('a paused job prints [‖] and does not run while the others do; plain --force skips it, runcrons NAME --force runs it; resume restores it', async () => {
      const box = sandbox(empty)
      const crons = 'SuccessJob,CronExprJob,JsonJob'
      // The pause's note is shown wherever the pause is: the tick's line, crons:list, why.
      const paused = `[‖] test.success  paused since 2026-11-23 11:59 by ${WHO}: 'until the API key is renewed' (manage crons:resume to resume)`
      const env = {TEST_CRONS: crons, MANAGE_NOW: '2026-11-23T11:59:00Z'}
      expectRun(await box.run(['crons:pause', 'SuccessJob', '--note', 'until the API key is renewed'], env), 0, ['Paused test.success.'])
      const [again, unknownPause, unknownResume] = await Promise.all([
        box.run(['crons:pause', 'test.success'], env),
        box.run(['crons:pause', 'test.sucess'], env),
        box.run(['crons:resume', 'test.sucess'], env),
      ])
      expectRun(again, 0, ['test.success was already paused.'])
      expectUsageError(unknownPause, /^error: unknown cron job 'test\.sucess': did you mean 'test\.success'\?/)
      expectUsageError(unknownResume, /^error: unknown cron job 'test\.sucess': did you mean 'test\.success'\?/)
      const [table, listed, why] = await Promise.all([box.run(['crons:list'], env), box.run(['crons:list', '--json'], env), box.run(['why', 'test.success'], env)])
      expect(lines(table.stdout).find((line) => line.startsWith('test.success')), context(table)).to.match(new RegExp(`since 2026-11-23 11:59:00 UTC by ${WHO}: 'until the API key is renewed'$`))
      expect(parse<Listing[]>(listed).find((job) => job.code === 'test.success')!.paused).to.deep.equal({since: '2026-11-23T11:59:00.000Z', by: WHO, note: 'until the API key is renewed'})
      expect(lines(why.stdout)[0], context(why)).to.equal(`test.success (SuccessJob) at 2026-11-23 11:59:00 UTC: paused: ${paused.slice('[‖] test.success  '.length)}`)

      expectRun(await box.runcrons(crons, '2026-11-23T12:00:00Z'), 0, [paused, '[✔] test.cron_expr', '[✔] test.json'])
      expect(box.calls()).to.deep.equal(['test.cron_expr', 'test.json'])
      expectRun(await box.runcrons(crons, '2026-11-23T12:01:00Z', ['--force']), 0, [paused, '[✔] test.cron_expr', '[✔] test.json'])
      expect(box.calls()).to.deep.equal(['test.cron_expr', 'test.json', 'test.cron_expr', 'test.json'])
      expect(await box.rows('test.success')).to.deep.equal([])
      // By name but not forced: still paused.
      expectRun(await box.runcrons(crons, '2026-11-23T12:02:00Z', ['test.success']), 0, [paused])
      expectRun(await box.runcrons(crons, '2026-11-23T12:02:00Z', ['test.success', '--force']), 0, ['[✔] test.success'])
      expect((await box.rows('test.success')).map((row) => [row.status, row.start_time])).to.deep.equal([['succeeded', '2026-11-23T12:02:00.000Z']])

      const resumeEnv = {TEST_CRONS: crons, MANAGE_NOW: '2026-11-23T12:09:00Z'}
      expectRun(await box.run(['crons:resume', 'test.success'], resumeEnv), 0, ['Resumed test.success.'])
      expectRun(await box.run(['crons:resume', 'SuccessJob'], resumeEnv), 0, ['test.success was not paused.'])
      // Back on its schedule: due more than 5 min after its 12:02 run.
      expectRun(await box.runcrons(crons, '2026-11-23T12:10:00Z'), 0, ['[✔] test.success', '[ ] test.cron_expr', '[✔] test.json'])
      expect(box.calls().filter((code) => code === 'test.success')).to.have.length(2)
      // Each is recorded, with who, when and the note (the dashboard shows them).
      const actions = await box.withDb((db) => db('cron_action').orderBy('id').select('action', 'by_user', 'note', 'outcome', 'at'))
      expect(actions.map((row) => [row.action, row.by_user, row.note, row.outcome, plain(row).at])).to.deep.equal([
        ['pause', WHO, 'until the API key is renewed', 'Paused test.success.', '2026-11-23T11:59:00.000Z'],
        ['pause', WHO, null, 'test.success was already paused.', '2026-11-23T11:59:00.000Z'],
        ['resume', WHO, null, 'Resumed test.success.', '2026-11-23T12:09:00.000Z'],
        ['resume', WHO, null, 'test.success was not paused.', '2026-11-23T12:09:00.000Z'],
      ])
    })
  })

  describe('fast path of a plain runcrons', () => {
    it('answers not-due ticks itself, with exactly the full command output and exit code', async () => {
      const box = sandbox(base)
      const states: Array<[string, string, string[], Env?]> = [
        [BASE, '2026-11-23T12:03:00Z', []],
        [BASE, '2026-11-23T12:03:00Z', ['--silent']],
        // 12:05:00 is not yet more than 5 min after test.success's 12:00 run.
        [BASE, '2026-11-23T12:05:00Z', ['-v', '0']],
        ['AtTimesJob,NewYorkJob', '2026-11-23T13:59:00Z', ['--no-color', '--verbosity=1']],
        // The settings' zone for MANAGE_NOW without an offset (07:03 in New York is 12:03 UTC).
        ['SuccessJob,CronExprJob,NewYorkJob,WeekendJob,MonthDaysJob', '2026-11-23T07:03', [], {TEST_TZ: 'America/New_York'}],
        ['', '2026-11-23T12:03:00Z', []],
      ]
      for (const [crons, now, args, extra] of states) await expectSameAsFull(box, crons, now, args, 'fast', extra)
      const plain = await tick(box, BASE, '2026-11-23T12:03:00Z')
      expectRun(plain, 0, ['[ ] test.success', '[ ] test.at_times', '[ ] test.cron_expr', '[ ] test.new_york'])
      expect(box.calls()).to.deep.equal([])
    })

    it('hands over to the tick when a job is paused, misconfigured or running elsewhere: the same output as the full command', async () => {
      const box = sandbox(base)
      expectRun(await box.run(['crons:pause', 'CronExprJob'], {TEST_CRONS: BASE, MANAGE_NOW: '2026-11-23T12:01:00Z'}), 0, ['Paused test.cron_expr.'])
      const paused = await expectSameAsFull(box, BASE, '2026-11-23T12:04:00Z', [], 'direct')
      expect(lines(paused.stdout)).to.deep.equal(['[ ] test.success', '[ ] test.at_times', `[‖] test.cron_expr  paused since 2026-11-23 12:01 by ${WHO} (manage crons:resume to resume)`, '[ ] test.new_york'])
      expectRun(await box.run(['crons:resume', 'CronExprJob'], {TEST_CRONS: BASE}), 0, ['Resumed test.cron_expr.'])

      const bad = await expectSameAsFull(box, 'SuccessJob,BadTimeJob', '2026-11-23T12:03:00Z', [], 'direct')
      expectRun(bad, 1, ['[ ] test.success'], ["[!] BadTimeJob: runAtTimes has '25:00', not a time: use 'HH:MM' on a 24-hour clock, e.g. '06:00' or '18:30'"])

      const runner = box.start(['runcrons'], {TEST_CRONS: 'BlockingJob', MANAGE_NOW: '2026-11-23T12:00:00Z'})
      try {
        await waitForFile(box.file('blocking.started'), runner.done)
        const elsewhere = await expectSameAsFull(box, 'SuccessJob,BlockingJob', '2026-11-23T12:03:00Z', [], 'direct')
        expectRun(elsewhere, 0, ['[ ] test.success', `[~] test.blocking  still running elsewhere (since 2026-11-23 12:00:00 UTC, host ${HOST}, pid ${runner.pid})`])
      } finally {
        fs.writeFileSync(box.file('blocking.release'), '')
      }
      expectRun(await runner.done, 0, ['[✔] test.blocking'])
    })

    it('hands over when a job is due: the plain tick runs it without oclif, exactly as the full command does', async () => {
      const a = sandbox(base)
      const b = sandbox(base)
      const [plain, full] = await Promise.all([tick(a, BASE, '2026-11-23T14:00:00Z'), tick(b, BASE, '2026-11-23T14:00:00Z', [], {MANAGE_NO_FAST_PATH: '1'})])
      expect([plain.path, full.path]).to.deep.equal(['direct', 'full'])
      expectRun(plain, 0, ['[✔] test.success', '[ ] test.at_times', '[✔] test.cron_expr', '[✔] test.new_york'])
      expect({code: plain.code, stdout: plain.stdout, stderr: plain.stderr}).to.deep.equal({code: full.code, stdout: full.stdout, stderr: full.stderr})
      const summary = async (box: Sandbox) => (await box.rows()).map((row) => [row.id, row.code, row.status, row.start_time, row.ran_at_time, row.message])
      expect(await summary(a)).to.deep.equal(await summary(b))
      expect(a.calls()).to.deep.equal(['test.success', 'test.cron_expr', 'test.new_york'])
    })
  })

  describe('deleteLogsOlderThanDays (TEST_DELETE_DAYS)', () => {
    const old = (code: string): NewRow[] => [
      {code, status: 'succeeded', start_time: '2026-10-01T00:00:00.000Z', end_time: '2026-10-01T00:00:01.000Z'},
      {code, status: 'failed', start_time: '2026-10-02T00:00:00.000Z', end_time: '2026-10-02T00:00:01.000Z', message: 'Error: old'},
      // A 'running' row is never deleted, however old (here its lease is long gone).
      {code, status: 'running', start_time: '2026-10-03T00:00:00.000Z', lease_expires_at: '2026-10-03T00:05:00.000Z', host: 'elsewhere', pid: 1},
    ]

    it('a no-op tick (fast path) and ticks that run something (full path) delete rows older than N days, never a running row', async () => {
      const box = sandbox(base)
      const keep = {TEST_DELETE_DAYS: '30'}
      await insertRows(box, [
        ...old('old.fast'),
        // 30 days before 12:03: the cutoff itself is kept, a millisecond earlier is not.
        {code: 'old.edge', status: 'succeeded', start_time: '2026-10-24T12:02:59.999Z'},
        {code: 'old.edge', status: 'succeeded', start_time: '2026-10-24T12:03:00.000Z'},
      ])
      const baseRows = (await base.rows()).length
      const codes = async () => (await box.rows()).filter((row) => row.code.startsWith('old.')).map((row) => `${row.code} ${row.status} ${row.start_time}`)

      const fast = await tick(box, BASE, '2026-11-23T12:03:00Z', [], keep)
      expect(fast.path).to.equal('fast')
      expectRun(fast, 0, ['[ ] test.success', '[ ] test.at_times', '[ ] test.cron_expr', '[ ] test.new_york'])
      expect(await codes()).to.deep.equal(['old.fast running 2026-10-03T00:00:00.000Z', 'old.edge succeeded 2026-10-24T12:03:00.000Z'])
      expect((await box.rows()).filter((row) => row.code.startsWith('test.'))).to.have.length(baseRows)

      // The full command, running a due job: trims at the end of the tick (the cutoff moved on to 12:15).
      await insertRows(box, old('old.full'))
      const full = await tick(box, BASE, '2026-11-23T12:15:00Z', [], {...keep, MANAGE_NO_FAST_PATH: '1'})
      expect(full.path).to.equal('full')
      expectRun(full, 0, ['[✔] test.success', '[ ] test.at_times', '[✔] test.cron_expr', '[ ] test.new_york'])
      expect(await codes()).to.deep.equal(['old.fast running 2026-10-03T00:00:00.000Z', 'old.full running 2026-10-03T00:00:00.000Z'])

      // A plain tick with a job due hands over; the rows go all the same.
      await insertRows(box, old('old.handover'))
      const handover = await tick(box, BASE, '2026-11-23T12:30:00Z', [], keep)
      expect(handover.path).to.equal('direct')
      expectRun(handover, 0, ['[✔] test.success', '[ ] test.at_times', '[✔] test.cron_expr', '[ ] test.new_york'])
      expect(await codes()).to.deep.equal(['old.fast running 2026-10-03T00:00:00.000Z', 'old.full running 2026-10-03T00:00:00.000Z', 'old.handover running 2026-10-03T00:00:00.000Z'])
      expect((await box.rows()).filter((row) => row.code.startsWith('test.') && row.status === 'running')).to.deep.equal([])
    })

    it('a trim by the fast path does not change what the tick decides', async () => {
      const a = sandbox(empty)
      expectRun(await a.runcrons('TwoDaysJob', '2026-11-22T00:00:00Z'), 0, ['[✔] test.two_days'])
      const b = sandbox(a)
      const env = {TEST_DELETE_DAYS: '1'}
      const [plain, full] = await Promise.all([tick(a, 'TwoDaysJob', '2026-11-23T12:00:00Z', [], env), tick(b, 'TwoDaysJob', '2026-11-23T12:00:00Z', [], {...env, MANAGE_NO_FAST_PATH: '1'})])
      expectRun(full, 0, ['[ ] test.two_days'])
      expect({code: plain.code, stdout: plain.stdout, stderr: plain.stderr}).to.deep.equal({code: full.code, stdout: full.stdout, stderr: full.stderr})
    })
  })
})
