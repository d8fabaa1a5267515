import {spawn, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {expect} from 'chai'
import {BIN, context, lines, ROOT, Sandbox, waitForFile, type Result} from '../helpers/cli'
import {BACKENDS, freshDatabase, SERVER_URLS, type TestDatabase} from '../helpers/db'
import {CuttableProxy} from '../helpers/proxy'

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'misbehaving-settings.cjs')

/**
 * An outcome the database cannot take at first is not lost: recording it tries again (a new
 * connection) within recordRetrySeconds, then keeps it in the spool for the next tick, which records
 * it before it decides, so the finished run is neither recorded interrupted nor run again.
 * Real `bin/manage` processes against a real server behind a proxy the test cuts.
 */
for (const dialect of BACKENDS.filter((backend) => backend !== 'sqlite')) {
  describe(`durable outcomes: the database goes away during a run (${dialect})`, function () {
    this.timeout(90_000)
    let t: TestDatabase
    let proxy: CuttableProxy
    let box: Sandbox
    beforeEach(async () => {
      t = await freshDatabase({dialect})
      const server = new URL(SERVER_URLS[dialect])
      proxy = await new CuttableProxy({host: server.hostname, port: Number(server.port || (dialect === 'postgres' ? 5432 : 3306))}).start()
      box = new Sandbox({databaseUrl: proxy.url(t.url), settings: SETTINGS})
    })
    afterEach(async () => {
      await proxy.close()
      box.remove()
      await t.close()
    })

    /** runcrons in a child process; `onStderr` sees its error output as it comes. */
    const tick = (crons: string, extra: Record<string, string>, onStderr: (text: string) => void = () => {}): Promise<Result> => {
      const child = spawn(process.execPath, [BIN, 'runcrons'], {cwd: ROOT, env: {...process.env, NO_COLOR: '1', ...box.env({TEST_CRONS: crons, MANAGE_NOW: '2026-01-05T00:00:00Z', ...extra})}})
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk
        onStderr(stderr)
      })
      return new Promise((resolve) => child.on('close', (code, signal) => resolve({code, signal, stdout, stderr})))
    }
    const rows = async () => (await t.db('cron_job_log').orderBy('id')).map((row: {code: string; status: string; message: string}) => `${row.code} ${row.status} ${row.message}`)
    const claims = async () => (await t.db('cron_job').whereNotNull('lock_token').pluck('code')) as string[]

    it('a connection dropped while the job runs: the outcome is recorded on a new one, and the next job runs', async () => {
      let restored = false
      const running = tick('LongJob,AfterJob', {}, (stderr) => {
        if (!restored && /trying again in/.test(stderr)) {
          restored = true
          proxy.restore()
        }
      })
      await waitForFile(box.file('good.long.started'))
      proxy.cut()
      fs.writeFileSync(box.file('release'), '')
      const result = await running
      expect(lines(result.stdout), context(result)).to.deep.equal(['[✔] good.long', '[✔] good.after'])
      expect(result.stderr).to.match(/good\.long warn: good\.long: recording its outcome \(succeeded\) failed \(.*\); trying again in \d+ ms/)
      expect(result.code, context(result)).to.equal(0)
      expect(await rows()).to.deep.equal(['good.long succeeded long done', 'good.after succeeded after done'])
      expect(await claims()).to.deep.equal([])
    })

    it('the database away for longer: the outcome waits in the spool, the next tick records it first and does not run the job again', async () => {
      const running = tick('LongJob', {TEST_RECORD_RETRY_SECONDS: '1'})
      await waitForFile(box.file('good.long.started'))
      proxy.cut()
      fs.writeFileSync(box.file('release'), '')
      const first = await running
      expect(lines(first.stdout), context(first)).to.deep.equal(['[✔] good.long'])
      expect(first.stderr).to.match(/good\.long error: good\.long: recording its outcome \(succeeded\) failed \(.*\): kept in .*spool\/run-\d+-\d+-\d+\.json; the next tick on this machine records it before it decides/)
      expect(first.code).to.equal(1)
      expect(fs.readdirSync(box.file('spool'))).to.have.length(1)

      proxy.restore()
      fs.rmSync(box.file('good.long.done'))
      const next = await tick('LongJob', {})
      expect(lines(next.stdout), context(next)).to.deep.equal(['[ ] good.long'])
      expect(next.stderr).to.match(/good\.long warn: recorded the outcome \(succeeded\) of run \d+ kept in .*\.json/)
      expect(next.code).to.equal(0)
      expect(await rows()).to.deep.equal(['good.long succeeded long done'])
      expect(fs.existsSync(box.file('good.long.done'))).to.equal(false) // not run again
      expect(fs.readdirSync(box.file('spool'))).to.deep.equal([])
      expect(await claims()).to.deep.equal([])
    })
  })
}

describe('a busy sqlite file: the tick waits it out', function () {
  this.timeout(60_000)
  it("a job's write transaction longer than the busy timeout does not fail the other ticks", async () => {
    const box = new Sandbox({settings: SETTINGS})
    try {
      await box.migrate()
      const hog = box.start(['runcrons'], {TEST_CRONS: 'HogJob', MANAGE_NOW: '2026-01-05T00:00:00Z', TEST_HOLD_MS: '7000'})
      await waitForFile(box.file('bad.hog.holding'), hog.done)
      const other = await box.run(['runcrons'], {TEST_CRONS: 'AfterJob', MANAGE_NOW: '2026-01-05T00:00:00Z'})
      expect(lines(other.stdout), context(other)).to.deep.equal(['[✔] good.after'])
      expect(other.code, context(other)).to.equal(0)
      const held = await hog.done
      expect(lines(held.stdout), context(held)).to.deep.equal(['[✔] bad.hog'])
    } finally {
      box.remove()
    }
  })
})

describe('a full disk under the sqlite file: the outcome waits in the spool', function () {
  this.timeout(60_000)
  let box: Sandbox
  let disk: string
  beforeEach(function () {
    box = new Sandbox({settings: SETTINGS})
    disk = box.file('disk')
    fs.mkdirSync(disk)
    // A small tmpfs is a real full disk: sqlite's next write fails with SQLITE_FULL.
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk], {encoding: 'utf8'})
    if (mounted.status !== 0) throw new Error(`this test mounts a small tmpfs and needs root: mount said ${mounted.stderr.trim()}`)
  })
  afterEach(() => {
    spawnSync('umount', [disk])
    box.remove()
  })

  it('SQLITE_FULL when recording the outcome: kept in the spool, recorded by the next tick once there is room, not run again', async () => {
    const full = new Sandbox({settings: SETTINGS, databaseUrl: `sqlite://${path.join(disk, 'db.sqlite3')}`})
    const env = {TEST_DIR: box.dir, TEST_RECORD_RETRY_SECONDS: '1', MANAGE_NOW: '2026-01-05T00:00:00Z', TEST_CRONS: 'LongJob'}
    try {
      await full.migrate()
      await fullDiskRound(full, env)
    } finally {
      full.remove()
    }
  })

  it('the spool on the same full disk: the claim is held and both are tried again, saying so, until there is room; recorded once, no partial file', async () => {
    // The database, the spool and the job's marker files all on the full disk.
    const full = new Sandbox({settings: SETTINGS, databaseUrl: `sqlite://${path.join(disk, 'db.sqlite3')}`})
    const env = {TEST_DIR: disk, TEST_RECORD_RETRY_SECONDS: '1', MANAGE_NOW: '2026-01-05T00:00:00Z', TEST_CRONS: 'LongJob'}
    try {
      await full.migrate()
      let stderr = ''
      let freed = false
      const child = spawn(process.execPath, [BIN, 'runcrons'], {cwd: ROOT, env: {...process.env, NO_COLOR: '1', ...full.env(env)}})
      let stdout = ''
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk
        // Room again only once the tick has said twice that it holds on.
        if (!freed && (stderr.match(/holding its claim/g) ?? []).length >= 2) {
          freed = true
          fs.rmSync(path.join(disk, 'filler'))
        }
      })
      const ended = new Promise<number | null>((resolve) => child.on('close', resolve))
      await waitForFile(path.join(disk, 'good.long.started'))
      fillUp(path.join(disk, 'filler'))
      fs.writeFileSync(path.join(disk, 'release'), '') // an empty file takes no room
      const code = await ended
      const result = {code, signal: null, stdout, stderr}
      expect(lines(stdout), context(result)).to.deep.equal(['[✔] good.long'])
      expect(stderr).to.match(/good\.long error: good\.long: recording its outcome \(succeeded\): nothing can be written \(the database: .*SQLITE_FULL.*; the spool: .*ENOSPC.*\); holding its claim and trying both again in 1 s \(attempt 1, for \d+ s more\)/)
      expect(stderr).to.match(/trying both again in 2 s \(attempt 2,/)
      const logged = await full.withDb(async (db) => (await db('cron_job_log').orderBy('id')).map((row: {code: string; status: string; message: string}) => `${row.code} ${row.status} ${row.message}`))
      expect(logged).to.deep.equal(['good.long succeeded long done'])
      // Recorded in the database, or else kept whole in the spool for the next tick: never lost, never a partial file.
      const spooled = fs.existsSync(path.join(disk, 'spool')) ? fs.readdirSync(path.join(disk, 'spool')) : []
      expect(spooled.filter((name) => name.endsWith('.tmp'))).to.deep.equal([])
      expect(code, context(result)).to.equal(0)
    } finally {
      full.remove()
    }
  })

  async function fullDiskRound(full: Sandbox, env: Record<string, string>): Promise<void> {
    const running = full.start(['runcrons'], env)
    await waitForFile(box.file('good.long.started'), running.done)
    fillUp(path.join(disk, 'filler'))
    fs.writeFileSync(box.file('release'), '')
    const first = await running.done
    expect(lines(first.stdout), context(first)).to.deep.equal(['[✔] good.long'])
    expect(first.stderr).to.match(/good\.long error: good\.long: recording its outcome \(succeeded\) failed \(.*SQLITE_FULL.*\): kept in .*spool\/run-\d+-\d+-\d+\.json/)
    expect(first.code).to.equal(1)

    fs.rmSync(path.join(disk, 'filler'))
    fs.rmSync(box.file('good.long.done'))
    const next = await full.run(['runcrons'], env)
    expect(lines(next.stdout), context(next)).to.deep.equal(['[ ] good.long'])
    expect(next.stderr).to.match(/good\.long warn: recorded the outcome \(succeeded\) of run \d+ kept in .*\.json/)
    expect(next.code).to.equal(0)
    const logged = await full.withDb(async (db) => (await db('cron_job_log').orderBy('id')).map((row: {code: string; status: string; message: string}) => `${row.code} ${row.status} ${row.message}`))
    expect(logged).to.deep.equal(['good.long succeeded long done'])
    expect(fs.existsSync(box.file('good.long.done'))).to.equal(false) // not run again
    expect(fs.readdirSync(box.file('spool'))).to.deep.equal([])
  }
})

/** Write to `file` until the disk under it has no room left. */
function fillUp(file: string): void {
  const fd = fs.openSync(file, 'w')
  const chunk = Buffer.alloc(64 * 1024, 1)
  try {
    for (;;) fs.writeSync(fd, chunk)
  } catch (error) {
    if ((error as {code?: string}).code !== 'ENOSPC') throw error
  } finally {
    fs.closeSync(fd)
  }
}
