import fs from 'node:fs'
import path from 'node:path'
import {expect} from 'chai'
import {context, lines, ROOT, Sandbox, type Running} from '../helpers/cli'
import {BACKENDS, freshDatabase, SERVER_URLS, type TestDatabase} from '../helpers/db'
import {CuttableProxy} from '../helpers/proxy'

/**
 * The database going away under a running `manage scheduler` (a real process, in real time, behind
 * a TCP proxy the test cuts or stalls): the process lives on, /healthz answers 503, the outcome of
 * the run in flight waits in the spool, the wakes back off, saying so once; once the database is
 * back, /healthz answers 200, the spooled outcome is recorded, new runs are, and SIGTERM exits 0.
 * Every wait polls for what it waits for (never a sleep to a time).
 */

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'faults-settings.cjs')
/** In the URL the scheduler is given (PostgreSQL's test server trusts its user, so it is sent and ignored): never in its output. */
const PASSWORD = 'pw-Secret-4711'

async function get(url: string): Promise<{status: number; body: string}> {
  const response = await fetch(url)
  return {status: response.status, body: await response.text()}
}

for (const dialect of BACKENDS.filter((backend) => backend !== 'sqlite')) {
  describe(`manage scheduler: the database goes away and comes back (${dialect}, real processes)`, function () {
    this.timeout(40_000)
    this.slow(12_000)
    let t: TestDatabase
    let proxy: CuttableProxy
    let box: Sandbox
    let child: Running | undefined

    beforeEach(async () => {
      t = await freshDatabase({dialect})
      const server = new URL(SERVER_URLS[dialect])
      proxy = await new CuttableProxy({host: server.hostname, port: Number(server.port || (dialect === 'postgres' ? 5432 : 3306))}).start()
      const url = new URL(proxy.url(t.url))
      if (dialect === 'postgres') url.password = PASSWORD
      box = new Sandbox({databaseUrl: url.toString(), settings: SETTINGS})
    })
    afterEach(async () => {
      if (child) {
        try {
          process.kill(child.pid, 'SIGKILL')
        } catch {
          // already gone
        }
        await child.done.catch(() => undefined)
        child = undefined
      }
      await proxy?.close()
      box?.remove()
      await t?.close()
    })

    /** Poll `probe` until it returns a value; fail if the scheduler exits first, or after `timeoutMs`. */
    async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
      let exited = false
      void child!.done.then(() => (exited = true))
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const value = await Promise.resolve().then(probe).catch(() => undefined)
        if (value !== undefined) return value
        if (exited) throw new Error(`the scheduler exited before ${what}: ${context(await child!.done)}`)
        if (Date.now() > deadline) throw new Error(`never ${what}: ${JSON.stringify(child!.output())}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    /** Its runs, read straight from the server (not through the proxy). */
    const runs = async (code: string) => (await t.db('cron_job_log').where({code}).orderBy('id').select('status', 'message')) as Array<{status: string; message: string | null}>
    const succeeded = async (code: string) => (await runs(code)).filter((run) => run.status === 'succeeded').length
    /** The codes of the outcomes waiting in the spool. */
    const spooled = () => {
      const dir = box.file('spool')
      return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.json')).map((name) => (JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as {request: {code: string}}).request.code) : []
    }
    const said = (pattern: RegExp) => lines(child!.output().stderr).filter((line) => pattern.test(line))
    async function start(): Promise<string> {
      child = box.start(['scheduler', '--health-port', '0'])
      const url = await until('a start line with the health URL', () => /health at (http:\/\/\S+\/healthz);/.exec(child!.output().stdout)?.[1])
      await until('healthy, the long run under way, the every-second job run', async () => ((await get(url)).status === 200 && fs.existsSync(box.file('long.started')) && (await succeeded('faults.every_second')) >= 1 ? true : undefined))
      return url
    }
    async function stopped(): Promise<void> {
      process.kill(child!.pid, 'SIGTERM')
      const result = await child!.done
      expect(result.code, context(result)).to.equal(0)
      expect(result.stdout + result.stderr, 'no password in the output').to.not.include(PASSWORD)
      expect(await t.db('cron_job_log').where({status: 'running'}).count({n: '*'}).first().then((row) => Number(row?.n)), 'no run left running').to.equal(0)
      expect(await t.db('cron_job').whereNotNull('lock_token').pluck('code'), 'no claim left held').to.deep.equal([])
    }

    it('cut, then stalled: 503 and alive, the run in flight spooled, the tries backed off and said once; restored: 200, the spooled outcome and new runs recorded; SIGTERM exits 0', async () => {
      const url = await start()
      proxy.cut()
      fs.writeFileSync(box.file('release'), '') // the long run ends while the database is away
      const atSpool = await until('the long run spooled', () => (spooled().includes('faults.long') ? proxy.refused : undefined))
      const down = await until('503, and one more wake refused', async () => {
        const answer = await get(url)
        return proxy.refused > atSpool && answer.status === 503 && said(/unreachable/).length >= 1 ? answer : undefined
      })
      expect(down.body).to.match(/^\{"status":"unhealthy","reason":"the database was unreachable at the last wake, \d+ s ago: [^"\n]+"\}\n$/)
      expect(said(/unreachable/), 'said once, not at every try').to.have.length(1)
      expect(said(/unreachable/)[0]).to.match(/^\[!\] the database is unreachable: .+; the scheduler goes on, unhealthy, trying again in 1 s and backing off to 30 s; runs that end meanwhile keep their outcomes in the spool \(said again when it is back\)$/)
      let before = await succeeded('faults.every_second')

      proxy.restore()
      await until('healthy again', async () => ((await get(url)).status === 200 ? true : undefined))
      await until('the spooled outcome recorded, and a new run', async () => ((await runs('faults.long')).some((run) => run.status === 'succeeded' && run.message === 'long done') && (await succeeded('faults.every_second')) > before ? true : undefined))
      expect(spooled()).to.deep.equal([])
      expect(await runs('faults.long'), 'run once, recorded once').to.deep.equal([{status: 'succeeded', message: 'long done'}])
      expect(said(/faults\.long warn: recorded the outcome \(succeeded\) of run \d+ kept in .*\.json/)).to.have.length(1)
      expect(said(/the database is back after \d+ s: the scheduler resumes$/)).to.have.length(1)

      // The database never answers: each wake gives up within the timeouts (1 s here), it is not wedged.
      proxy.stall()
      // The answer and the line travel apart (HTTP, the stderr pipe): wait for both, then count the lines.
      await until('503 while stalled, and said', async () => ((await get(url)).status === 503 && said(/unreachable/).length >= 2 ? true : undefined))
      expect(said(/unreachable/), 'a second outage, said once').to.have.length(2)
      proxy.restore()
      await until('healthy again, and said', async () => ((await get(url)).status === 200 && said(/the database is back after/).length >= 2 ? true : undefined))
      before = await succeeded('faults.every_second')
      await until('a new run', async () => ((await succeeded('faults.every_second')) > before ? true : undefined))
      expect(said(/the database is back after \d+ s/)).to.have.length(2)
      await stopped()
    })
  })
}
