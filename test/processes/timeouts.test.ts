import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import type {Knex} from 'knex'
import {CronJobBase} from '../../src/core/contract/cron-job-base'
import {loadJob} from '../../src/core/jobs/load-jobs'
import {loadSettings} from '../../src/core/project/settings'
import {ROOT, runManage} from '../helpers/cli'
import {freshDatabase, itOn, type TestDatabase} from '../helpers/db'

const INDEX = JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))

describe('timeouts: a database that does not answer ends the tick with a clear line', function () {
  this.timeout(60_000)
  let dir: string
  let server: net.Server
  let port: number
  const sockets: net.Socket[] = []
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'manage-timeouts-'))
    // Takes the connection, then says nothing: a server hung, or a firewall that drops replies.
    server = net.createServer((socket) => {
      sockets.push(socket)
      socket.on('error', () => undefined)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as net.AddressInfo).port
  })
  after(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
    rmSync(dir, {recursive: true, force: true})
  })

  const settings = (extra: string) => {
    const file = path.join(dir, `settings-${Math.random().toString(36).slice(2)}.cjs`)
    writeFileSync(file, `const {CronJobBase} = require(${INDEX})\nclass A extends CronJobBase { code = 'a'; runEveryMins = 1; async do() { return 'ran' } }\nmodule.exports = {crons: [A], timeZone: 'UTC', ${extra}}\n`)
    return file
  }

  for (const scheme of ['postgres', 'mysql']) {
    it(`${scheme}: a server that takes the connection and never answers: exit 1 after connectTimeoutSeconds, not a hang`, async () => {
      const env = {DATABASE_URL: `${scheme}://app:pw@127.0.0.1:${port}/db`, MANAGE_SETTINGS: settings('connectTimeoutSeconds: 1')}
      for (const args of [['runcrons'], ['crons:list']]) {
        const started = Date.now()
        const result = await runManage(args, env)
        expect(Date.now() - started, args.join(' ')).to.be.below(15_000)
        expect(result.code, result.stderr).to.equal(1)
        expect(result.stderr).to.match(new RegExp(`^error: the ${scheme} database ${scheme}://app:\\*\\*\\*@127\\.0\\.0\\.1:${port}/db did not answer within connectTimeoutSeconds: .*raise connectTimeoutSeconds`))
        expect(result.stderr.trim().split('\n')).to.have.length(1)
      }
    })
  }

  describe('a statement that never finishes (a lock held by another transaction)', () => {
    let t: TestDatabase | undefined
    let release: (() => Promise<void>) | undefined
    afterEach(async () => {
      await release?.()
      await t?.close()
      t = release = undefined
    })

    /** Another connection holds the run log's tables, as a job's long transaction through ctx.db would. */
    const locked = async (dialect: 'postgres' | 'mysql') => {
      t = await freshDatabase({dialect})
      const holder: Knex = t.connect()
      const connection: unknown = await holder.client.acquireConnection()
      const query = (sql: string) => holder.raw(sql).connection(connection)
      if (dialect === 'postgres') {
        await query('BEGIN')
        await query('LOCK TABLE cron_job_log IN ACCESS EXCLUSIVE MODE')
      } else await query('LOCK TABLES cron_job_log WRITE, cron_job WRITE')
      release = async () => {
        await query(dialect === 'postgres' ? 'ROLLBACK' : 'UNLOCK TABLES')
        await holder.client.releaseConnection(connection)
      }
    }

    for (const dialect of ['postgres', 'mysql'] as const) {
      itOn(dialect)(`${dialect}: the tick gives up after statementTimeoutSeconds, exit 1, with the fix`, async () => {
        await locked(dialect)
        const started = Date.now()
        const result = await runManage(['runcrons'], {DATABASE_URL: t!.url, MANAGE_SETTINGS: settings('statementTimeoutSeconds: 1'), MANAGE_NOW: '2026-01-05T00:00:00Z'})
        expect(Date.now() - started).to.be.below(15_000)
        expect(result.code, result.stderr).to.equal(1)
        expect(result.stderr).to.match(/^error: a statement on the (postgres|mysql) database .* did not finish within statementTimeoutSeconds: another transaction may hold a lock/)
      })
    }
  })
})

describe('durations are checked against what Node timers can wait', () => {
  let dir: string
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'manage-durations-'))))
  after(() => rmSync(dir, {recursive: true, force: true}))

  const problems = async (body: string): Promise<string[]> => {
    const file = path.join(dir, `s-${Math.random().toString(36).slice(2)}.cjs`)
    writeFileSync(file, `module.exports = {${body}}`)
    try {
      await loadSettings(file, {cronsDir: dir, spoolDir: dir})
      return []
    } catch (error) {
      return (error as Error).message.split('\n').map((line) => line.replace(/^settings \S+: /, ''))
    }
  }

  const settingsCases: Array<[string, string]> = [
    ['leaseSeconds: 10000000', "leaseSeconds 10000000 is more than 8589934 seconds, longer than Node's timers can wait (2^31 − 1 ms): use e.g. leaseSeconds: 300"],
    ['leaseSeconds: NaN', 'leaseSeconds NaN is not a whole number of seconds ≥ 10: use e.g. leaseSeconds: 300'],
    ['graceSeconds: 1e10', "graceSeconds 10000000000 is more than 2147483 seconds, longer than Node's timers can wait (2^31 − 1 ms): use e.g. graceSeconds: 10"],
    ['graceSeconds: Infinity', 'graceSeconds Infinity is not a number of seconds ≥ 0: use e.g. graceSeconds: 10'],
    ['connectTimeoutSeconds: 0', 'connectTimeoutSeconds 0 is not a number of seconds > 0: use e.g. connectTimeoutSeconds: 10'],
    ["connectTimeoutSeconds: '5'", "connectTimeoutSeconds '5' is not a number of seconds > 0: use e.g. connectTimeoutSeconds: 10"],
    ['statementTimeoutSeconds: -1', 'statementTimeoutSeconds -1 is not a number of seconds > 0: use e.g. statementTimeoutSeconds: 30'],
    ['clockSkewSeconds: 60', 'clockSkewSeconds 60 is not a number of seconds from 0 to 59: use e.g. clockSkewSeconds: 5'],
    ['clockSkewSeconds: NaN', 'clockSkewSeconds NaN is not a number of seconds from 0 to 59: use e.g. clockSkewSeconds: 5'],
    ['statementTimeoutSeconds: 3e6', "statementTimeoutSeconds 3000000 is more than 2147483 seconds, longer than Node's timers can wait (2^31 − 1 ms): use e.g. statementTimeoutSeconds: 30"],
  ]
  for (const [body, problem] of settingsCases) {
    it(`settings {${body}}: ${problem.split(':')[0]}`, async () => expect(await problems(body)).to.deep.equal([problem]))
  }

  it('takes the limits themselves', async () => {
    expect(await problems('leaseSeconds: 8589934, graceSeconds: 2147483, connectTimeoutSeconds: 0.5, statementTimeoutSeconds: 2147483')).to.deep.equal([])
  })

  const jobCases: Array<[number, string | null]> = [
    [43200, "timeoutMins = 43200 is more than 35791 minutes, longer than Node's timers can wait (2^31 − 1 ms): use e.g. timeoutMins = 30"],
    [Number.NaN, 'timeoutMins = NaN is not a number of minutes > 0: use e.g. timeoutMins = 30'],
    [Number.POSITIVE_INFINITY, 'timeoutMins = Infinity is not a number of minutes > 0: use e.g. timeoutMins = 30'],
    [35791, null],
  ]
  for (const [minutes, problem] of jobCases) {
    it(`a job with timeoutMins = ${minutes}: ${problem ? 'refused' : 'taken'}`, () => {
      class Timed extends CronJobBase {
        code = 'timed'
        runEveryMins = 1
        timeoutMins = minutes
        do() {}
      }
      expect(loadJob(Timed).problems.map((p) => p.message)).to.deep.equal(problem ? [problem] : [])
    })
  }

  it('manage check reports every out-of-range setting, one line each', async () => {
    const file = path.join(dir, 'check-settings.cjs')
    writeFileSync(file, `module.exports = {crons: [], leaseSeconds: 1e7, graceSeconds: NaN, statementTimeoutSeconds: 0}`)
    const result = await runManage(['check'], {MANAGE_SETTINGS: file, DATABASE_URL: `sqlite://${path.join(dir, 'db.sqlite3')}`})
    expect(result.code).to.equal(1)
    expect(result.stdout).to.match(/settings: settings \S+: leaseSeconds 10000000 is more than 8589934 seconds/)
    expect(result.stdout).to.match(/settings: settings \S+: graceSeconds NaN is not a number of seconds ≥ 0/)
    expect(result.stdout).to.match(/settings: settings \S+: statementTimeoutSeconds 0 is not a number of seconds > 0/)
  })
})
