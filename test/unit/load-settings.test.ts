import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {CommandError} from '../../src/core/base/errors'
import {DEFAULT_LEASE_SECONDS, loadSettings} from '../../src/core/project/settings'
import {systemTimeZone} from '../../src/core/time/zone'

describe('loadSettings', () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'manage-settings-'))))
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  const write = (name: string, text: string) => {
    const file = path.join(dir, name)
    writeFileSync(file, text)
    return file
  }
  const load = (file: string) => loadSettings(file, {cronsDir: '/default/crons', spoolDir: '/default/spool'})
  const failure = async (file: string): Promise<CommandError> => {
    try {
      await load(file)
    } catch (error) {
      expect(error).to.be.instanceOf(CommandError)
      return error as CommandError
    }
    throw new Error('expected loadSettings to fail')
  }

  it('loads a CommonJS module and fills in the defaults', async () => {
    const file = write('settings.cjs', `module.exports = {crons: [class A {}], appName: 'x'}`)
    const settings = await load(file)
    expect(settings.crons).to.have.length(1)
    expect(settings.timeZone).to.equal(systemTimeZone())
    expect(settings.leaseMs).to.equal(DEFAULT_LEASE_SECONDS * 1000)
    expect(settings.cronsDir).to.equal('/default/crons')
    expect(settings.values.appName).to.equal('x')
  })

  it('loads a compiled TypeScript module (exports.default) and an ES module (.mjs)', async () => {
    const cjs = write('compiled.js', `Object.defineProperty(exports, '__esModule', {value: true}); exports.default = {crons: [], timeZone: 'Europe/Paris'}`)
    expect((await load(cjs)).timeZone).to.equal('Europe/Paris')
    const mjs = write('settings.mjs', `export default {crons: [], timeZone: 'Asia/Tokyo', cronsDir: './jobs'}`)
    const settings = await load(mjs)
    expect(settings.timeZone).to.equal('Asia/Tokyo')
    expect(settings.cronsDir).to.equal(path.join(dir, 'jobs'))
  })

  it('names an unknown time zone and how to fix it', async () => {
    const error = await failure(write('tz.cjs', `module.exports = {crons: [], timeZone: 'Mars/Olympus_Mons'}`))
    expect(error.message).to.match(/timeZone 'Mars\/Olympus_Mons' is not an IANA time zone: use e\.g\. 'Europe\/Paris'/)
    expect(error.exitCode).to.equal(1)
  })

  it('reports every problem of the settings, one line each', async () => {
    const error = await failure(write('bad.cjs', `module.exports = {crons: 'Heartbeat', timeZone: 'Nowhere', leaseSeconds: 0}`))
    const lines = error.message.split('\n')
    expect(lines).to.have.length(3)
    expect(lines[0]).to.match(/crons is string, not a list/)
    expect(lines[1]).to.match(/timeZone 'Nowhere'/)
    expect(lines[2]).to.match(/leaseSeconds 0 is not a whole number of seconds ≥ 10/)
  })

  it('says what to do when the module is missing, TypeScript, throws, or exports nothing usable', async () => {
    expect((await failure(path.join(dir, 'nope.js'))).message).to.match(/does not exist: run `npm run build`, or pass --settings PATH/)
    expect((await failure(write('settings.ts', 'export default {}'))).message).to.match(/is TypeScript: point at its compiled \.js file/)
    const throws = write('throws.cjs', `throw new Error('no DB password in env')`)
    expect((await failure(throws)).message).to.equal(`settings module ${throws} failed to load: ${throws}:1 threw Error: no DB password in env (run with --traceback for the stack trace)`)
    expect((await failure(write('empty.cjs', `module.exports = 42`))).message).to.match(/exports no settings object/)
  })

  // The job module a settings module requires is what failed, not the settings: its file and line are named.
  it('names the job module that threw while loading, and its line', async () => {
    const job = write('bad-job.cjs', `'use strict'\nconst config = JSON.parse(process.env.MANAGE_NO_SUCH_VARIABLE)\nexports.BadCronJob = class {}\n`)
    const settings = write('settings.cjs', `const {BadCronJob} = require('./bad-job.cjs')\nmodule.exports = {crons: [BadCronJob]}\n`)
    const error = await failure(settings)
    expect(error.message).to.equal(`settings module ${settings} failed to load: ${job}:2 threw SyntaxError: "undefined" is not valid JSON (run with --traceback for the stack trace)`)
    expect((error.cause as Error).stack).to.include(`${job}:2:`)
  })

  it('names the job module with a syntax error, and its line', async () => {
    const job = write('broken-job.cjs', `'use strict'\n\nconst options = {a: 1,, b: 2}\n`)
    const settings = write('settings.cjs', `require('./broken-job.cjs')\nmodule.exports = {crons: []}\n`)
    expect((await failure(settings)).message).to.equal(`settings module ${settings} failed to load: ${job}:3 has a syntax error: Unexpected token ',' (run with --traceback for the stack trace)`)
  })

  it('reads the system zone from TZ (UTC aliases as UTC) without needing Intl for UTC', () => {
    const saved = process.env.TZ
    try {
      process.env.TZ = 'America/New_York'
      expect(systemTimeZone()).to.equal('America/New_York')
      process.env.TZ = ':Etc/UTC'
      expect(systemTimeZone()).to.equal('UTC')
      process.env.TZ = 'GMT'
      expect(systemTimeZone()).to.equal('UTC')
    } finally {
      if (saved === undefined) delete process.env.TZ
      else process.env.TZ = saved
    }
  })

  it("the project's compiled settings list the example jobs", async () => {
    const settings = await load(path.resolve(__dirname, '..', '..', 'dist', 'src', 'settings.js'))
    expect(settings.crons.map((cls) => (cls as {name: string}).name)).to.deep.equal(['HeartbeatCronJob', 'DeleteOldRunLogsCronJob'])
  })
})
