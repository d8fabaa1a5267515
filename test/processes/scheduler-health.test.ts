import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {expect} from 'chai'
import {context, lines, ROOT, Sandbox, type Env, type Running} from '../helpers/cli'
import {configFromUrl, openDatabase} from '../../src/core/db/database'
import {freshDatabase, SERVER_URLS, type TestDatabase} from '../helpers/db'

/**
 * `manage scheduler --health-port 0` as a real process: the start line says where its health check
 * listens, a job every second makes it wake (and reach the database) every second. Polled with a
 * generous timeout, never a sleep to a time.
 */

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'health-settings.cjs')

/** Poll `probe` until it returns a value, or fail after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, child: Running, timeoutMs = 20_000): Promise<T> {
  let exited = false
  void child.done.then(() => (exited = true))
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (exited) throw new Error(`the scheduler exited before ${what}: ${context(await child.done)}`)
    if (Date.now() > deadline) throw new Error(`never ${what}: ${JSON.stringify(child.output())}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function get(url: string, method = 'GET'): Promise<{status: number; body: string}> {
  const response = await fetch(url, {method})
  return {status: response.status, body: await response.text()}
}

/** Raw bytes to the port, and what came back before it closed. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let back = ''
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes))
    socket.setEncoding('utf8').on('data', (chunk: string) => (back += chunk))
    socket.on('close', () => resolve(back))
    socket.on('error', reject)
  })
}

describe('manage scheduler --health-port (real processes)', function () {
  this.timeout(40_000)
  this.slow(5_000)

  let t: TestDatabase | undefined
  let box: Sandbox
  let children: Running[] = []

  afterEach(async () => {
    for (const child of children) {
      try {
        process.kill(child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    await Promise.all(children.map((child) => child.done.catch(() => undefined)))
    children = []
    box.remove()
    await t?.close().catch(() => undefined)
    t = undefined
  })

  /** Start it with a health check on a free port; resolves with its /healthz URL, read from the start line. */
  async function start(args: string[] = [], extra: Env = {}): Promise<{child: Running; url: string}> {
    const child = box.start(['scheduler', '--health-port', '0', ...args], extra)
    children.push(child)
    const url = await until('a start line with the health URL', () => /health at (http:\/\/\S+\/healthz);/.exec(child.output().stdout)?.[1], child)
    return {child, url}
  }

  describe('sqlite', () => {
    beforeEach(async () => {
      box = new Sandbox({settings: SETTINGS})
      await box.migrate()
    })

    it('200 while running, HEAD too; 404 elsewhere; a malformed request gets a 400 and the process lives on; closed on drain', async () => {
      const {child, url} = await start()
      expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/healthz$/)
      const ok = await until('healthy', async () => ((await get(url)).status === 200 ? get(url) : undefined), child)
      expect(ok.body).to.match(/^\{"status":"ok","lastWake":"[^"]+","nextWake":("[^"]+"|null)\}\n$/)
      expect(await get(url, 'HEAD')).to.deep.equal({status: 200, body: ''})
      expect((await get(url.replace('/healthz', '/'))).status).to.equal(404)
      expect((await get(`${url}/more`)).status).to.equal(404)
      expect((await get(url, 'POST')).status).to.equal(405)
      const port = Number(new URL(url).port)
      expect(await raw(port, 'GARBAGE\r\n\r\n')).to.match(/^HTTP\/1\.1 400 Bad Request/)
      expect(await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n')).to.match(/^HTTP\/1\.1 400 Bad Request/)
      expect(await raw(port, 'GET /healthz%E0%A4%A?x=%zz HTTP/1.1\r\nHost: x\r\n\r\n')).to.match(/^HTTP\/1\.1 404 Not Found/)
      expect((await get(url)).status, 'alive after malformed requests').to.equal(200)
      process.kill(child.pid, 'SIGTERM')
      const result = await child.done
      expect(result.code, context(result)).to.equal(0)
      let refused = false
      await get(url).catch(() => (refused = true))
      expect(refused, 'the port is closed once it has stopped').to.equal(true)
    })

    it('a job that blocks the event loop for 1.5 s: one warning naming it and suggesting isolate = true', async () => {
      const {child} = await start([], {TEST_CRONS: 'EverySecondJob,BlockJob', TEST_BLOCK_MS: '1500'})
      await until('the block job done', () => (fs.existsSync(box.file('block.done')) ? true : undefined), child)
      // The every-second job keeps running (and the check keeps looking) a while after it.
      await until('three more runs of the every-second job', async () => ((await box.rows('health.every_second')).length >= 5 ? true : undefined), child)
      process.kill(child.pid, 'SIGTERM')
      const result = await child.done
      expect(result.code, context(result)).to.equal(0)
      const warnings = lines(result.stderr).filter((line) => line.includes('event loop'))
      expect(warnings, result.stderr).to.have.length(1)
      expect(warnings[0]).to.match(/^\[!\] the event loop lagged 1\.\d s \(blocked by a job computing\?\) while (.*, )?health\.block(, .*)? ran in this process: .*isolate = true .*\(said once per job per 10 min\)$/)
    })

    it('a port in use: one line, exit 1, no job run', async () => {
      const taken = net.createServer()
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
      try {
        const port = (taken.address() as net.AddressInfo).port
        const result = await box.spawn(['scheduler', '--health-port', String(port)])
        expect(result.code, context(result)).to.equal(1)
        expect(lines(result.stderr)).to.deep.equal([`error: --health-port ${port}: the port is in use on 127.0.0.1; pick another port (or stop what listens on it)`])
        expect(await box.rows()).to.deep.equal([])
      } finally {
        taken.close()
      }
    })

    it('a host that is not this machine\'s, a port out of range, a host without a port: one line, exit 2', async () => {
      const host = await box.spawn(['scheduler', '--health-port', '0', '--health-host', '192.0.2.1'])
      expect(host.code, context(host)).to.equal(2)
      expect(lines(host.stderr)).to.deep.equal(['error: --health-host 192.0.2.1: not an address of this machine; give one of its addresses (127.0.0.1, or 0.0.0.0 for all)'])
      const port = await box.spawn(['scheduler', '--health-port', '70000'])
      expect(port.code, context(port)).to.not.equal(0)
      expect(lines(port.stderr), port.stderr).to.have.length(1)
      expect(lines(port.stderr)).to.deep.equal(['error: --health-port 70000: not a port; give one from 1 to 65535 (0: a free one, said in the start line)'])
      expect(port.code).to.equal(2)
      const alone = await box.spawn(['scheduler', '--health-host', '0.0.0.0'])
      expect(alone.code, context(alone)).to.equal(2)
      expect(lines(alone.stderr)).to.deep.equal(['error: --health-host 0.0.0.0: there is no health check to listen for it; add --health-port PORT'])
    })
  })

  describe('postgresql', () => {
    it('503 with the reason once the database is gone (dropped), the process alive', async () => {
      t = await freshDatabase({dialect: 'postgres'})
      box = new Sandbox({databaseUrl: t.url, settings: SETTINGS})
      const {child, url} = await start()
      await until('healthy', async () => ((await get(url)).status === 200 ? true : undefined), child)
      const name = new URL(t.url).pathname.slice(1)
      const admin = openDatabase(configFromUrl(SERVER_URLS.postgres, ROOT))
      try {
        await admin.raw(`DROP DATABASE ${name} WITH (FORCE)`)
      } finally {
        await admin.destroy()
      }
      const down = await until('unhealthy', async () => {
        const answer = await get(url)
        return answer.status === 503 ? answer : undefined
      }, child)
      expect(down.body, down.body).to.match(/^\{"status":"unhealthy","reason":"the database was unreachable at the last wake, \d+ s ago: (?:[^"\\]|\\.)+"\}\n$/) // the reason may quote (the database "x" does not exist, its retry 1 s on)
      expect(lines(down.body)).to.have.length(1)
      expect((await get(url)).status, 'still answering').to.equal(503)
      expect(child.output().stdout + child.output().stderr).to.not.include('postgres://')
    })
  })
})
