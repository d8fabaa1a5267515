import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {callCommand} from '../../src/index'
import {callManage, context, ROOT, runManage, Sandbox, type Env, type Result} from '../helpers/cli'

/**
 * callCommand (manage-cli's call_command): a command line run in this process gives what
 * bin/manage gives for it, and leaves the process as it found it.
 */

/** What a run shows: its exit status and output. */
const shown = (result: Result) => ({code: result.code, stdout: result.stdout, stderr: result.stderr})

describe('callCommand', function () {
  this.timeout(60_000)
  this.slow(10_000)

  let box: Sandbox
  before(async () => {
    box = new Sandbox({tier: 'in-process'})
    await box.migrate()
    await box.runcrons('SuccessJob,FailJob', '2026-11-23T12:00:00Z')
  })
  after(() => box.remove())

  it('gives the exit status, stdout and stderr of bin/manage for the same command line and environment', async () => {
    const env: Env = {TEST_CRONS: 'SuccessJob,FailJob,AtTimesJob', MANAGE_NOW: '2026-11-23T12:03:00Z'}
    const commandLines = [
      ['crons:list', '--json'],
      // A plain runcrons (the fast path answers: nothing is due), and one through oclif.
      ['runcrons'],
      ['runcrons', 'SuccessJob', '--dry-run'],
      ['help', 'crons:list'],
      // Errors: an unknown command, a bad flag (exit 2, one line), a settings module that throws.
      ['crons:lst'],
      ['crons:list', '--no-such-flag'],
      ['runcrons', '--settings', path.join(ROOT, 'test', 'fixtures', 'cli-settings-throws.cjs'), '--traceback'],
    ]
    for (const args of commandLines) {
      const [inProcess, spawned] = [await box.run(args, env), await box.spawn(args, env)]
      // The stack of a traceback names the modules that threw: dist/ in both, but not the same frames above them.
      const comparable = (result: Result) => (args.includes('--traceback') ? {...shown(result), stderr: result.stderr.split('\n')[0]} : shown(result))
      expect(comparable(inProcess), `manage ${args.join(' ')}\n${context(spawned)}`).to.deep.equal(comparable(spawned))
    }
    expect((await box.run(['crons:list', '--no-such-flag'], env)).code).to.equal(2)
  })

  it('a tick that runs jobs: the same output, exit status and run log as bin/manage, and the process goes on', async () => {
    const [called, spawned] = [new Sandbox({tier: 'in-process'}), new Sandbox({tier: 'in-process'})]
    try {
      for (const sandbox of [called, spawned]) await sandbox.migrate()
      const env: Env = {TEST_CRONS: 'SuccessJob,FailJob', MANAGE_NOW: '2026-11-23T13:00:00Z'}
      const inProcess = await called.run(['runcrons'], env)
      expect(shown(inProcess)).to.deep.equal(shown(await spawned.spawn(['runcrons'], env)))
      expect(inProcess.code).to.equal(1)
      const rows = async (sandbox: Sandbox) => (await sandbox.rows()).map((row) => [row.code, row.status, row.start_time, row.message?.split('\n')[0]])
      expect(await rows(called)).to.deep.equal(await rows(spawned))
    } finally {
      called.remove()
      spawned.remove()
    }
  })

  it("runs the app's own commands, loading the app's modules afresh for each call", async () => {
    const app = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-call-app-'))
    try {
      const commands = path.join(app, 'dist', 'src', 'commands')
      fs.mkdirSync(commands, {recursive: true})
      fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({name: 'call-app'}))
      fs.writeFileSync(path.join(app, 'dist', 'src', 'settings.js'), 'module.exports = {crons: [], greeting: process.env.GREETING}\n')
      const command = (word: string) =>
        `const {BaseCommand, jsonFlag} = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'command.js'))})\n` +
        `module.exports = class Hello extends BaseCommand {\n` +
        `  static summary = 'Say hello.'\n  static flags = {json: jsonFlag()}\n` +
        `  async run() {\n    const {values} = await this.project.settings()\n` +
        `    if (this.flags.json) return this.printJson({word: '${word}', greeting: values.greeting})\n` +
        `    this.log('${word} ' + values.greeting)\n  }\n}\n`
      fs.writeFileSync(path.join(commands, 'hello.js'), command('hello'))
      const env = {GREETING: 'world', DATABASE_URL: `sqlite://${path.join(app, 'db.sqlite3')}`}

      const called = await callCommand(['hello'], {project: app, env})
      expect(called).to.deep.equal({exitCode: 0, stdout: 'hello world\n', stderr: ''})
      expect(shown(await runManage(['hello'], {MANAGE_PROJECT: app, ...env}))).to.deep.equal({code: 0, stdout: 'hello world\n', stderr: ''})
      // --json: the output, and the value parsed. The command and the settings are read again: a new word, a new greeting.
      fs.writeFileSync(path.join(commands, 'hello.js'), command('bonjour'))
      expect(await callCommand(['hello', '--json'], {cwd: app, env: {...env, GREETING: 'le monde'}})).to.deep.equal({
        exitCode: 0,
        stdout: '{\n  "word": "bonjour",\n  "greeting": "le monde"\n}\n',
        stderr: '',
        json: {word: 'bonjour', greeting: 'le monde'},
      })
      const listed = await callCommand(['--help'], {project: app, env})
      expect(listed.stdout).to.match(/^ {2}hello +Say hello\.$/m)
    } finally {
      fs.rmSync(app, {recursive: true, force: true})
    }
  })

  it('leaves the process as it was: environment, working directory, argv, exit status, signal handlers, output', async () => {
    const before = {env: {...process.env}, cwd: process.cwd(), argv: [...process.argv], exitCode: process.exitCode, sigterm: process.listenerCount('SIGTERM'), sigint: process.listenerCount('SIGINT')}
    const write = process.stdout.write
    // The settings module reads TEST_CRONS when it loads: each call sees its own.
    const first = await callManage(['crons:list', '--json'], box.env({TEST_CRONS: 'SuccessJob', CALL_ONLY: 'x'}))
    const second = await callManage(['crons:list', '--json'], box.env({TEST_CRONS: 'FailJob'}))
    expect([first, second].map((result) => (JSON.parse(result.stdout) as Array<{code: string}>).map((job) => job.code))).to.deep.equal([['test.success'], ['test.fail']])
    // A failing tick with signal handlers of its own, from another folder.
    const failed = await callCommand(['runcrons', 'FailJob', '--force'], {cwd: os.tmpdir(), project: ROOT, settings: box.settings, env: box.env({TEST_CRONS: 'FailJob', NO_COLOR: '1'})})
    expect(failed.exitCode, failed.stderr).to.equal(1)
    expect(failed.stdout).to.equal('[✘] test.fail: Error: boom from test.fail\n')
    // A working directory that does not exist: the call fails before it changes anything.
    const nowhere = await callCommand(['about'], {cwd: path.join(os.tmpdir(), 'no-such-folder-for-manage'), env: {CALL_ONLY: 'x'}}).then(
      () => null,
      (error: NodeJS.ErrnoException) => error.code,
    )
    expect(nowhere).to.equal('ENOENT')
    const after = {env: {...process.env}, cwd: process.cwd(), argv: [...process.argv], exitCode: process.exitCode, sigterm: process.listenerCount('SIGTERM'), sigint: process.listenerCount('SIGINT')}
    expect(after).to.deep.equal(before)
    expect(process.env.CALL_ONLY).to.equal(undefined)
    expect(process.stdout.write).to.equal(write)
  })

  it('runs calls one at a time: started together, each gets its own output', async () => {
    const results = await Promise.all(['SuccessJob', 'FailJob', 'AtTimesJob'].map((crons) => callManage(['crons:list', '--json'], box.env({TEST_CRONS: crons}))))
    expect(results.map((result) => (JSON.parse(result.stdout) as Array<{code: string}>).map((job) => job.code))).to.deep.equal([['test.success'], ['test.fail'], ['test.at_times']])
  })

  it('importing manage-cli loads neither oclif nor the CLI (callCommand loads them at its first call)', () => {
    const script = `require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))}); process.stdout.write(JSON.stringify(Object.keys(require.cache)))`
    const loaded = JSON.parse(execFileSync(process.execPath, ['-e', script], {encoding: 'utf8'})) as string[]
    expect(loaded.filter((file) => file.includes(`${path.sep}@oclif${path.sep}`) || file.includes(`${path.sep}cli${path.sep}`))).to.deep.equal([])
  })
})
