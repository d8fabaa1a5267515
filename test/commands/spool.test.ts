import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {knexSource} from '../../src/core/db/connection-source'
import {MAX_MESSAGE_BYTES} from '../../src/core/jobs/message'
import {SqlRunRecorder, type EndRequest} from '../../src/core/run-log/recorder'
import {SqlRunStore} from '../../src/core/run-log/run-store'
import {FileSpool} from '../../src/core/run-log/spool'
import {checkEntry, MAX_SPOOL_FILE_BYTES} from '../../src/core/run-log/spool-reading'
import {recordSpooled} from '../../src/core/tick/recording'
import {context, lines, ROOT, Sandbox} from '../helpers/cli'
import {BACKENDS, freshDatabase, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

const DATABASE = 'test database'
const now = at('2026-01-05T10:00:00Z')

/** A spool entry as the tick writes it, for `request`, as JSON text. */
function entryText(request: Record<string, unknown>, database = DATABASE): string {
  return JSON.stringify({version: 1, database, spooledAt: '2026-01-05T10:01:00.000Z', request})
}

function outcome(runId: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {runId, code: 'app.job', status: 'succeeded', endMs: now + 60_000, message: 'done', releaseToken: null, removeOtherSuccesses: false, ...overrides}
}

/**
 * The spool is input: each file in it is read as something that may be cut short, empty, hostile
 * or huge. What is not a valid outcome is set aside with a line naming it, and the others are
 * recorded; an outcome is recorded only over its own job's run, still running or recorded
 * interrupted meanwhile.
 */
for (const dialect of BACKENDS) describe(`the spool, read as input (${dialect})`, () => {
  let t: TestDatabase
  let dir: string
  let logged: string[]
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())
  beforeEach(async () => {
    await t.db('cron_job_log').delete()
    dir = fs.mkdtempSync(path.join(tmpdir(), 'manage-spool-'))
    logged = []
  })
  afterEach(() => fs.rmSync(dir, {recursive: true, force: true}))

  const replay = () => recordSpooled(new FileSpool(dir, DATABASE), new SqlRunRecorder(knexSource(t.db, t.dialect)), (code, level, message) => logged.push(`${code} ${level}: ${message}`))
  const store = () => new SqlRunStore(knexSource(t.db, t.dialect))
  const running = () => store().insertRun({code: 'app.job', status: 'running', startMs: now, host: 'h', pid: 1, leaseExpiresMs: now + 300_000})
  const rows = async () => (await t.db('cron_job_log').orderBy('id')).map((row: {id: number; status: string; message: string | null; lease_overrun: unknown}) => `${row.id} ${row.status} ${row.message} overrun=${Boolean(row.lease_overrun)}`)
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text)
  const files = () => fs.readdirSync(dir).sort()

  it('a truncated, empty, null, folder or symlinked file is set aside with a line naming it; the valid ones are still recorded', async () => {
    const id = await running()
    const valid = entryText(outcome(id))
    write('run-1-a.json', valid.slice(0, valid.length / 2))
    write('run-2-b.json', '')
    write('run-3-c.json', 'null')
    fs.mkdirSync(path.join(dir, 'run-4-d.json'))
    fs.symlinkSync('/etc/hostname', path.join(dir, 'run-5-e.json'))
    write(`run-${id}-z.json`, valid)

    expect(await replay()).to.equal(5)
    expect(await rows()).to.deep.equal([`${id} succeeded done overrun=false`])
    expect(files()).to.deep.equal(['run-1-a.json.failed', 'run-2-b.json.failed', 'run-3-c.json.failed', 'run-4-d.json.failed', 'run-5-e.json.failed'])
    const about = (name: string) => logged.filter((line) => line.includes(`${name}'`))
    expect(about('run-1-a.json')[0]).to.match(/^manage error: the spool file '.*run-1-a\.json' is not JSON \(.*\): cut short\?: not recorded; set aside as '.*run-1-a\.json\.failed'$/)
    expect(about('run-2-b.json')[0]).to.include('is empty (a write cut short, e.g. by a power loss)')
    expect(about('run-3-c.json')[0]).to.include('holds null, not an outcome')
    expect(about('run-4-d.json')[0]).to.include('is a folder, not a file')
    expect(about('run-5-e.json')[0]).to.include('is a symbolic link')
    expect(fs.readFileSync('/etc/hostname', 'utf8')).to.not.equal('') // the link's target is untouched
    expect(logged.filter((line) => line.includes('recorded the outcome (succeeded)'))).to.have.length(1)
    // Set aside once: the next tick finds nothing to say.
    logged = []
    expect(await replay()).to.equal(0)
    expect(logged).to.deep.equal([])
  })

  it('an outcome for an unknown run, another job\'s run or a run that has ended is refused and set aside; nothing is written', async () => {
    const done = await store().insertRun({code: 'app.job', status: 'succeeded', startMs: now, endMs: now + 1000, message: 'the real outcome'})
    const other = await store().insertRun({code: 'app.other', status: 'running', startMs: now, leaseExpiresMs: now + 300_000})
    write('run-99999-a.json', entryText(outcome(99999)))
    write(`run-${done}-b.json`, entryText(outcome(done, {status: 'failed', message: 'TAMPERED'})))
    write(`run-${other}-c.json`, entryText(outcome(other, {message: 'not mine'})))

    expect(await replay()).to.equal(3)
    expect(await rows()).to.deep.equal([`${done} succeeded the real outcome overrun=false`, `${other} running null overrun=false`])
    expect(logged.join('\n')).to.include('there is no run 99999 in the run log')
    expect(logged.join('\n')).to.include(`run ${done} of app.job has ended already (succeeded): its outcome is not replaced`)
    expect(logged.join('\n')).to.include(`run ${other} is not app.job's`)
    expect(logged.join('\n')).to.not.match(/recorded the outcome|lease_overrun/)
    expect(files().every((name) => name.endsWith('.failed'))).to.equal(true)
  })

  it('an outcome over a run another process recorded interrupted (its lease ran out) is kept, marked lease_overrun', async () => {
    const id = await store().insertRun({code: 'app.job', status: 'interrupted', startMs: now, endMs: now + 300_000, message: 'its lease ran out'})
    write(`run-${id}-a.json`, entryText(outcome(id)))
    expect(await replay()).to.equal(0)
    expect(await rows()).to.deep.equal([`${id} succeeded done overrun=true`])
    expect(files()).to.deep.equal([])
  })

  it('a status that is not an outcome, a huge file and a long message: refused, not read, cut as the live path cuts', async () => {
    const id = await running()
    write('run-1-a.json', entryText(outcome(id, {status: 'hacked'})))
    write('run-2-b.json', entryText(outcome(id, {message: 'x'.repeat(MAX_SPOOL_FILE_BYTES)})))
    write(`run-${id}-c.json`, entryText(outcome(id, {message: 'y'.repeat(2 * MAX_MESSAGE_BYTES)})))
    expect(await replay()).to.equal(2)
    expect(logged.join('\n')).to.include('has status "hacked": an outcome is one of succeeded, failed, interrupted, timed_out')
    expect(logged.join('\n')).to.match(/run-2-b\.json' is \d+ bytes, more than an outcome can be/)
    const [row] = await t.db('cron_job_log').where('id', id)
    expect(row.status).to.equal('succeeded')
    expect(Buffer.byteLength(row.message)).to.be.at.most(MAX_MESSAGE_BYTES)
    expect(row.message).to.match(/\[message truncated: \d+ of \d+ bytes cut\]$/)
  })
})

describe('the spool, written', () => {
  let dir: string
  beforeEach(() => (dir = fs.mkdtempSync(path.join(tmpdir(), 'manage-spool-'))))
  afterEach(() => fs.rmSync(dir, {recursive: true, force: true}))
  const request: EndRequest = {runId: 7, code: 'app.job', status: 'succeeded', endMs: now, message: 'done', releaseToken: 'token', removeOtherSuccesses: false}

  it('fsyncs the file before its rename and the folder after it', () => {
    const synced: string[] = []
    const opened = new Map<number, string>()
    const {openSync, fsyncSync} = fs
    fs.openSync = ((file: fs.PathLike, ...rest: unknown[]) => {
      const fd = (openSync as (...args: unknown[]) => number)(file, ...rest)
      opened.set(fd, String(file))
      return fd
    }) as typeof fs.openSync
    fs.fsyncSync = (fd: number) => {
      synced.push(opened.get(fd) ?? '?')
      fsyncSync(fd)
    }
    try {
      const file = new FileSpool(dir, DATABASE).add(request)
      expect(synced).to.deep.equal([`${file}.tmp`, dir])
    } finally {
      fs.openSync = openSync
      fs.fsyncSync = fsyncSync
    }
  })

  it('what it writes, it reads back whole; a stale temporary file (a write that died) is removed, a fresh one left alone', () => {
    const spool = new FileSpool(dir, DATABASE)
    spool.add(request)
    fs.writeFileSync(path.join(dir, 'run-1-1-1.json.tmp'), '')
    fs.writeFileSync(path.join(dir, 'run-2-2-2.json.tmp'), '{"ver')
    const hourAgo = new Date(Date.now() - 2 * 60 * 60_000)
    fs.utimesSync(path.join(dir, 'run-1-1-1.json.tmp'), hourAgo, hourAgo)
    const {outcomes, refused} = spool.pending()
    expect(outcomes.map((kept) => kept.request)).to.deep.equal([request])
    expect(refused).to.deep.equal([])
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'))).to.deep.equal(['run-2-2-2.json.tmp'])
  })

  it('checks every field of an entry', () => {
    const entry = (request: Record<string, unknown>) => ({version: 1, database: DATABASE, request: {...outcome(3), ...request}})
    const problem = (value: unknown) => {
      const checked = checkEntry(value)
      return 'problem' in checked ? checked.problem : null
    }
    expect(problem(entry({}))).to.equal(null)
    expect(problem([])).to.equal('holds object, not an outcome')
    expect(problem({...entry({}), version: 2})).to.equal('has version 2; this manage reads version 1')
    expect(problem(entry({runId: -1}))).to.equal('has no run id (a whole number from 1)')
    expect(problem(entry({runId: '3'}))).to.equal('has no run id (a whole number from 1)')
    expect(problem(entry({code: ''}))).to.equal('has no job code (1–191 characters)')
    expect(problem(entry({status: 'running'}))).to.match(/^has status "running"/)
    expect(problem(entry({endMs: 'soon'}))).to.equal('has no end time (milliseconds)')
    expect(problem(entry({message: {}}))).to.equal('has a message that is not text')
    expect(problem(entry({releaseToken: 5}))).to.equal('has a claim token that is not one')
    expect(problem(entry({removeOtherSuccesses: 'yes'}))).to.equal('does not say whether to remove other successes')
    expect(problem(entry({rerecord: true}))).to.equal('asks to replace a recorded outcome, which only the tick that recorded it may do')
    expect(problem(entry({alerting: {job: {code: 'app.other'}}}))).to.equal("has a malformed alerting section (not the job's own)")
    expect(problem(entry({pauseAfterFailures: 0}))).to.equal('has a pauseAfterFailures that is not a whole number ≥ 1')
    expect(problem(entry({pauseAfterFailures: '3'}))).to.equal('has a pauseAfterFailures that is not a whole number ≥ 1')
    const kept = checkEntry(entry({pauseAfterFailures: 3}))
    expect('entry' in kept && kept.entry.request.pauseAfterFailures).to.equal(3)
    expect(problem(entry({releaseSlot: {group: 'reports', token: 'abc'}}))).to.equal(null)
    expect((checkEntry(entry({releaseSlot: {group: 'reports', token: 'abc'}})) as {entry: {request: unknown}}).entry.request).to.deep.include({releaseSlot: {group: 'reports', token: 'abc'}})
    expect(problem(entry({releaseSlot: {group: '', token: 'abc'}}))).to.equal('has a slot of a limit to free that is not one')
    expect(problem(entry({releaseSlot: 'reports'}))).to.equal('has a slot of a limit to free that is not one')
  })
})

describe('the spool under a full disk (a small tmpfs)', function () {
  this.timeout(30_000)
  let disk: string
  beforeEach(function () {
    disk = fs.mkdtempSync(path.join(tmpdir(), 'manage-full-'))
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk], {encoding: 'utf8'})
    if (mounted.status !== 0) throw new Error(`this test mounts a small tmpfs and needs root: mount said ${mounted.stderr.trim()}`)
  })
  afterEach(() => {
    spawnSync('umount', [disk])
    fs.rmSync(disk, {recursive: true, force: true})
  })

  it('a write that fails for want of room leaves no partial file behind', () => {
    fs.mkdirSync(path.join(disk, 'spool'))
    fillUp(path.join(disk, 'filler'))
    const spool = new FileSpool(path.join(disk, 'spool'), DATABASE)
    const request: EndRequest = {runId: 7, code: 'app.job', status: 'succeeded', endMs: now, message: 'm'.repeat(MAX_MESSAGE_BYTES), releaseToken: null, removeOtherSuccesses: false}
    expect(() => spool.add(request)).to.throw(/ENOSPC/)
    expect(fs.readdirSync(path.join(disk, 'spool'))).to.deep.equal([])
  })
})

describe('runcrons with bad files in its spool (end to end)', function () {
  this.timeout(30_000)
  it('names each bad file in one line, sets it aside, runs the jobs and exits 1; the next tick is clean', async () => {
    const box = new Sandbox({settings: path.join(ROOT, 'test', 'fixtures', 'misbehaving-settings.cjs'), tier: 'in-process'})
    try {
      await box.migrate()
      fs.mkdirSync(box.file('spool'))
      fs.writeFileSync(box.file('spool/run-1-1-1.json'), '')
      fs.writeFileSync(box.file('spool/run-2-2-2.json'), '{"version": 1, "datab')
      const env = {TEST_CRONS: 'AfterJob', MANAGE_NOW: '2026-01-05T00:00:00Z'}
      const first = await box.run(['runcrons'], env)
      expect(lines(first.stdout), context(first)).to.deep.equal(['[✔] good.after'])
      expect(lines(first.stderr), context(first)).to.have.length(2)
      expect(first.stderr).to.match(/manage error: the spool file '.*run-1-1-1\.json' is empty .*: not recorded; set aside as '.*run-1-1-1\.json\.failed'/)
      expect(first.stderr).to.match(/manage error: the spool file '.*run-2-2-2\.json' is not JSON/)
      expect(first.code).to.equal(1)
      const next = await box.run(['runcrons'], {...env, MANAGE_NOW: '2026-01-05T00:01:00Z'})
      expect(next.stderr, context(next)).to.equal('')
      expect(next.code).to.equal(0)
    } finally {
      box.remove()
    }
  })
})

/** Write to `file` until the disk under it has no room left. */
function fillUp(file: string): void {
  const fd = fs.openSync(file, 'w')
  try {
    for (;;) fs.writeSync(fd, Buffer.alloc(4096, 1))
  } catch (error) {
    if ((error as {code?: string}).code !== 'ENOSPC') throw error
  } finally {
    fs.closeSync(fd)
  }
}
