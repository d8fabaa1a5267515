import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {callManage, context, lines, ROOT} from '../helpers/cli'

describe("an app's command that throws as it loads", () => {
  let dir: string
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-app-commands-'))
    const commands = path.join(dir, 'dist', 'src', 'commands')
    fs.mkdirSync(commands, {recursive: true})
    fs.writeFileSync(path.join(dir, 'package.json'), '{"name": "shop"}\n')
    fs.writeFileSync(path.join(commands, 'broken.js'), "throw new Error('boom at load')\n")
    const core = JSON.stringify(path.join(ROOT, 'node_modules', '@oclif', 'core', 'lib', 'index.js'))
    fs.writeFileSync(path.join(commands, 'hello.js'), `const {Command} = require(${core})\nmodule.exports = class extends Command { async run() { this.log('hello') } }\n`)
  })
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  const broken = () => path.join(dir, 'dist', 'src', 'commands', 'broken.js')

  it('is one line naming its file and the error on every command, and the others still run', async () => {
    const result = await callManage(['hello'], {MANAGE_PROJECT: dir})
    expect(result.code, context(result)).to.equal(0)
    expect(lines(result.stdout)).to.deep.equal(['hello'])
    expect(lines(result.stderr), context(result)).to.deep.equal([
      `warning: the app's command 'broken' (${broken()}) failed to load, the others work: Error: boom at load (run with --traceback for the stack trace)`,
    ])
  })

  it('--traceback adds its stack under the line', async () => {
    const result = await callManage(['hello', '--traceback'], {MANAGE_PROJECT: dir})
    const errors = lines(result.stderr)
    expect(errors[0], context(result)).to.equal(`warning: the app's command 'broken' (${broken()}) failed to load, the others work: Error: boom at load`)
    expect(errors[1]).to.equal('  Error: boom at load')
    expect(errors[2]).to.include(`at Object.<anonymous> (${broken()}:1:7)`)
  })
})
