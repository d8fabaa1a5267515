import {spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {expect} from 'chai'
import {context, lines, ROOT, type Result, Sandbox, waitForFile, type Env} from '../helpers/cli'

/**
 * The scheduler in an app's own web process, as a real process: test/fixtures/embedded-host.cjs
 * serves HTTP and runs startScheduler (the build, by the package's export path); its own SIGTERM
 * handler drains it. And an error of the host's outside every job still ends the host as Node
 * would, though manage listens for the jobs' errors.
 */

const HOST = path.join(ROOT, 'test', 'fixtures', 'embedded-host.cjs')
const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'embedded-settings.cjs')

/** Start the host from the project's folder, with only what it needs of the environment. */
function startHost(box: Sandbox, extra: Env): {pid: number; done: Promise<Result>} {
  const child = spawn(process.execPath, [HOST], {cwd: ROOT, env: {PATH: process.env.PATH, NO_COLOR: '1', ...box.env(extra)}, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  const done = new Promise<Result>((resolve) => child.on('close', (code, signal) => resolve({code, signal, stdout, stderr}))).finally(() => clearTimeout(timer))
  return {pid: child.pid!, done}
}

describe("startScheduler in an app's web process (real processes)", function () {
  this.timeout(30_000)
  this.slow(4_000)
  let box: Sandbox

  before(function () {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'scheduler.js'))) throw new Error('dist/ is missing: run `npm run build` first')
  })

  beforeEach(async () => {
    box = new Sandbox({settings: SETTINGS})
    await box.migrate()
  })

  afterEach(() => box.remove())

  it("the host's SIGTERM handler calls stop(): the running job finishes and is recorded, the server closes, the process ends by itself with 0", async () => {
    const host = startHost(box, {TEST_CRONS: 'QuickJob,WaitingJob'})
    await waitForFile(box.file('waiting.started'), host.done)
    await waitForFile(box.file('host.ready'), host.done)
    const health = await fetch(`http://127.0.0.1:${fs.readFileSync(box.file('host.ready'), 'utf8')}/`)
    const body = await health.text()
    expect(health.status, body).to.equal(200)
    expect(JSON.parse(body)).to.have.property('status', 'ok')
    process.kill(host.pid, 'SIGTERM')
    fs.writeFileSync(box.file('waiting.release'), '')
    const result = await host.done
    expect(result.code, context(result)).to.equal(0)
    expect(lines(result.stdout)).to.include.members(['[✔] emb.quick', 'host: scheduler stopped (abandoned: false)'])
    expect((await box.rows()).map((row) => [row.code, row.status, row.pid]).sort()).to.deep.equal([
      ['emb.quick', 'succeeded', host.pid],
      ['emb.waiting', 'succeeded', host.pid],
    ])
  })

  for (const stray of ['throw', 'reject']) {
    it(`an error of the host outside every job (${stray}), with no listener of its own: the host crashes, as Node would without manage`, async () => {
      const result = await startHost(box, {TEST_CRONS: 'QuickJob', HOST_STRAY: stray}).done
      expect(result.code, context(result)).to.equal(1)
      expect(result.stderr).to.match(new RegExp(`^Error: a ${stray === 'throw' ? 'bug' : 'rejection'} of the host, outside every job$`, 'm'))
      expect(result.stderr).to.match(/^Node\.js v\d+/m)
    })
  }
})
