import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {crontabLine, crontabStatus, shellQuote, withBlock, withoutBlock} from '../../src/cli/tools/crontab'
import {BIN, callManage, lines, ROOT, type Env, type Result} from '../helpers/cli'

/**
 * `manage crontab`, against test/fixtures/fake-crontab (put on PATH as `crontab`), whose "user's
 * crontab" is the file FAKE_CRONTAB_FILE: no test reads or writes the real user's crontab.
 */

const FAKE_CRONTAB = path.join(ROOT, 'test', 'fixtures', 'fake-crontab')
const BEGIN = `# BEGIN manage ${ROOT}`
const END = `# END manage ${ROOT}`

function context(result: Result): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`
}

describe('manage crontab', function () {
  this.timeout(30_000)
  this.slow(2_000)

  let dir: string
  let crontabFile: string
  let logFile: string
  let env: Env

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-crontab-'))
    fs.mkdirSync(path.join(dir, 'bin'))
    fs.symlinkSync(FAKE_CRONTAB, path.join(dir, 'bin', 'crontab'))
    crontabFile = path.join(dir, 'crontab.txt')
    logFile = path.join(dir, 'logs', 'cron.log')
    env = {PATH: `${path.join(dir, 'bin')}${path.delimiter}${process.env.PATH}`, FAKE_CRONTAB_FILE: crontabFile}
  })

  afterEach(() => {
    fs.rmSync(dir, {recursive: true, force: true})
  })

  const crontab = (...args: string[]) => callManage(['crontab', ...args], env)
  const lineFor = (log: string) => `* * * * * cd ${shellQuote(ROOT)} && ${shellQuote(process.execPath)} ${shellQuote(BIN)} runcrons --timestamps >> ${shellQuote(log)} 2>&1`
  const installed = () => fs.readFileSync(crontabFile, 'utf8')

  it('prints the line with absolute paths and the default log, and touches no crontab', async () => {
    const result = await crontab()
    expect(result.stdout, context(result)).to.equal(`${lineFor(path.join(ROOT, 'var', 'cron.log'))}\n`)
    expect(result.stdout).to.match(/^\* \* \* \* \* cd \/\S+ && \/\S+ \/\S+\/bin\/manage runcrons --timestamps >> \/\S+\/var\/cron\.log 2>&1\n$/)
    expect(result.stderr).to.equal('')
    expect(result.code).to.equal(0)
    expect(fs.existsSync(crontabFile)).to.equal(false)
  })

  it('reads a relative --log from the current folder', async () => {
    const result = await crontab('--log', 'logs/tick.log')
    expect(result.stdout, context(result)).to.equal(`${lineFor(path.join(ROOT, 'logs', 'tick.log'))}\n`)
  })

  it('quotes a --log path with spaces', async () => {
    const result = await crontab('--log', path.join(dir, 'my logs', 'cron.log'))
    expect(result.stdout, context(result)).to.equal(`${lineFor(path.join(dir, 'my logs', 'cron.log'))}\n`)
    expect(result.stdout).to.include(`>> '${dir}/my logs/cron.log' 2>&1`)
  })

  it('quotes every path so that sh runs it as meant, escaping % for cron', () => {
    // A project folder, node and log file whose names have spaces, a quote and a %.
    const root = path.join(dir, "my app's 100%")
    fs.mkdirSync(path.join(root, 'bin'), {recursive: true})
    const node = path.join(dir, 'fake node')
    fs.writeFileSync(node, '#!/bin/sh\necho "cwd=$PWD script=$1 arg=$2"\n', {mode: 0o755})
    const log = path.join(root, 'var 50%.log')
    const line = crontabLine({root, bin: path.join(root, 'bin', 'manage'), nodeBin: node, logFile: log})
    expect(line).to.equal(
      `* * * * * cd '${dir}/my app'\\''s 100\\%' && '${dir}/fake node' '${dir}/my app'\\''s 100\\%/bin/manage' runcrons --timestamps >> '${dir}/my app'\\''s 100\\%/var 50\\%.log' 2>&1`,
    )
    // What cron does before the shell: drop the five time fields, turn \% into %.
    const command = line.replace(/^(\S+ ){5}/, '').replace(/\\%/g, '%')
    execFileSync('/bin/sh', ['-c', command])
    expect(fs.readFileSync(log, 'utf8')).to.equal(`cwd=${root} script=${root}/bin/manage arg=runcrons\n`)
  })

  it('refuses a path with a line break: exit 2, one line', async () => {
    const result = await crontab('--log', `${dir}/a\nb.log`)
    expect(lines(result.stderr), context(result)).to.deep.equal([`error: the log file '${dir}/a\\nb.log' contains a line break, which a crontab line cannot hold: use a path without one`])
    expect(result.code).to.equal(2)
  })

  it('--install into an empty crontab ("no crontab for user"): the marked block, and the log folder made', async () => {
    const result = await crontab('--install', '--log', logFile)
    expect(lines(result.stdout), context(result)).to.deep.equal([`Installed in your crontab (block '${BEGIN}'):`, `  ${lineFor(logFile)}`])
    expect(result.code).to.equal(0)
    expect(installed()).to.equal(`${BEGIN}\n${lineFor(logFile)}\n${END}\n`)
    expect(fs.statSync(path.dirname(logFile)).isDirectory()).to.equal(true)
  })

  it('--install keeps every other line byte for byte (another project\'s block too), and --remove restores the original', async () => {
    const original = [
      'MAILTO=ops@example.com',
      'SHELL=/bin/bash',
      '# m h dom mon dow command',
      '0 3 * * * /usr/local/bin/backup   --all  # two spaces kept',
      '',
      '# BEGIN manage /srv/other',
      '* * * * * cd /srv/other && /usr/bin/node /srv/other/bin/manage runcrons',
      '# END manage /srv/other',
      '@reboot echo "tab\there"',
      '',
    ].join('\n')
    fs.writeFileSync(crontabFile, original)

    const install = await crontab('--install', '--log', logFile)
    expect(install.code, context(install)).to.equal(0)
    expect(installed()).to.equal(`${original}${BEGIN}\n${lineFor(logFile)}\n${END}\n`)

    const remove = await crontab('--remove')
    expect(lines(remove.stdout), context(remove)).to.deep.equal([`Removed this project's block ('${BEGIN}') from your crontab.`])
    expect(remove.code).to.equal(0)
    expect(installed()).to.equal(original)
  })

  it('--install twice leaves one block; a changed line replaces the block where it is', async () => {
    fs.writeFileSync(crontabFile, 'MAILTO=""\n')
    await crontab('--install', '--log', logFile)
    fs.appendFileSync(crontabFile, '0 4 * * * echo after\n')

    const again = await crontab('--install', '--log', logFile)
    expect(lines(again.stdout), context(again)).to.deep.equal(['Already in your crontab, unchanged:', `  ${lineFor(logFile)}`])
    expect(installed()).to.equal(`MAILTO=""\n${BEGIN}\n${lineFor(logFile)}\n${END}\n0 4 * * * echo after\n`)

    const otherLog = path.join(dir, 'other.log')
    const changed = await crontab('--install', '--log', otherLog)
    expect(lines(changed.stdout), context(changed)).to.deep.equal(["Updated this project's block in your crontab:", `  ${lineFor(otherLog)}`])
    expect(installed()).to.equal(`MAILTO=""\n${BEGIN}\n${lineFor(otherLog)}\n${END}\n0 4 * * * echo after\n`)
  })

  it('--remove without a block says so, exits 0 and writes nothing', async () => {
    const absent = await crontab('--remove')
    expect(lines(absent.stdout), context(absent)).to.deep.equal([`Your crontab has no block for ${ROOT} ('${BEGIN}'): nothing to remove.`])
    expect(absent.code).to.equal(0)
    expect(fs.existsSync(crontabFile)).to.equal(false)

    fs.writeFileSync(crontabFile, '0 3 * * * backup')
    expect((await crontab('--remove')).code).to.equal(0)
    expect(installed()).to.equal('0 3 * * * backup')
  })

  it('--json: the action, the line, the log file and the markers', async () => {
    const print = await crontab('--json')
    expect(JSON.parse(print.stdout), context(print)).to.deep.equal({
      action: 'print',
      line: lineFor(path.join(ROOT, 'var', 'cron.log')),
      root: ROOT,
      logFile: path.join(ROOT, 'var', 'cron.log'),
      begin: BEGIN,
      end: END,
    })
    const actions: string[] = []
    for (const args of [['--install'], ['--install'], ['--remove'], ['--remove']]) {
      const result = await crontab(...args, '--log', logFile, '--json')
      const parsed = JSON.parse(result.stdout)
      expect(parsed.line, context(result)).to.equal(lineFor(logFile))
      actions.push(parsed.action)
    }
    expect(actions).to.deep.equal(['installed', 'unchanged', 'removed', 'absent'])
  })

  it('a crontab that `crontab -l` cannot read is an error, not an empty crontab to overwrite', async () => {
    fs.writeFileSync(crontabFile, '0 3 * * * backup\n')
    const result = await callManage(['crontab', '--install'], {...env, FAKE_CRONTAB_FAIL: 'crontabs/alice: Permission denied'})
    expect(lines(result.stderr), context(result)).to.deep.equal(['error: `crontab -l` failed (exit 1): crontabs/alice: Permission denied'])
    expect(result.code).to.equal(1)
    expect(installed()).to.equal('0 3 * * * backup\n')
  })

  it('a hand-broken block (BEGIN without END) is refused, nothing written', async () => {
    const broken = `${BEGIN}\n* * * * * old line\n`
    fs.writeFileSync(crontabFile, broken)
    const result = await crontab('--install')
    expect(lines(result.stderr), context(result)).to.deep.equal([`error: the crontab has '${BEGIN}' without its '${END}': fix it with \`crontab -e\`, then run this again`])
    expect(result.code).to.equal(1)
    expect(installed()).to.equal(broken)
  })

  it('a missing crontab program: one line naming the fix, exit 1; MANAGE_CRONTAB_BIN overrides the lookup', async () => {
    const emptyPath = path.join(dir, 'empty')
    fs.mkdirSync(emptyPath)
    const missing = await callManage(['crontab', '--install'], {...env, PATH: emptyPath})
    expect(lines(missing.stderr), context(missing)).to.deep.equal([
      'error: the `crontab` program is not installed (not found on PATH): install cron (e.g. `sudo apt-get install cron`), or add the line printed by `manage crontab` to your scheduler by hand',
    ])
    expect(missing.code).to.equal(1)

    const overridden = await callManage(['crontab', '--install', '--log', logFile], {FAKE_CRONTAB_FILE: crontabFile, MANAGE_CRONTAB_BIN: FAKE_CRONTAB})
    expect(overridden.code, context(overridden)).to.equal(0)
    expect(installed()).to.equal(`${BEGIN}\n${lineFor(logFile)}\n${END}\n`)
  })

  it('--install and --remove together: exit 2', async () => {
    const result = await crontab('--install', '--remove')
    expect(result.code, context(result)).to.equal(2)
    expect(fs.existsSync(crontabFile)).to.equal(false)
  })

  it('the block edit: a last line without newline gets one; hand-made duplicate blocks become one', () => {
    const root = '/srv/app'
    const block = '# BEGIN manage /srv/app\nLINE\n# END manage /srv/app\n'
    expect(withBlock('MAILTO=x', root, 'LINE')).to.equal(`MAILTO=x\n${block}`)
    const twice = `a\n${block}b\n# BEGIN manage /srv/app\nOLD\n# END manage /srv/app\nc\n`
    expect(withBlock(twice, root, 'NEW')).to.equal('a\n# BEGIN manage /srv/app\nNEW\n# END manage /srv/app\nb\nc\n')
    expect(withoutBlock(twice, root)).to.equal('a\nb\nc\n')
    // Another project's block, even one whose folder starts the same, is not ours.
    const other = '# BEGIN manage /srv/app2\nX\n# END manage /srv/app2\n'
    expect(withoutBlock(other, root)).to.equal(other)
  })

  it('crontabStatus (for `manage check`): missing, installed and current, installed with another line, unreadable', async () => {
    const processEnv = {...process.env, ...env}
    const options = {root: ROOT, bin: path.join(ROOT, 'bin', 'manage')}
    expect(await crontabStatus(options, processEnv)).to.deep.equal({readable: true, installed: false, current: false, expected: lineFor(path.join(ROOT, 'var', 'cron.log')), installedLines: []})

    fs.writeFileSync(crontabFile, `${BEGIN}\n${lineFor(path.join(ROOT, 'var', 'cron.log'))}\n${END}\n`)
    expect(await crontabStatus(options, processEnv)).to.include({readable: true, installed: true, current: true})

    fs.writeFileSync(crontabFile, `${BEGIN}\n${lineFor(logFile)}\n${END}\n`)
    const custom = await crontabStatus(options, processEnv)
    expect(custom).to.include({installed: true, current: false})
    expect(custom.installedLines).to.deep.equal([lineFor(logFile)])
    expect(await crontabStatus({...options, logFile}, processEnv)).to.include({current: true})

    const unreadable = await crontabStatus(options, {...processEnv, PATH: path.join(dir, 'nowhere')})
    expect(unreadable).to.include({readable: false, installed: false})
    expect(unreadable.problem).to.match(/install cron/)
  })
})
