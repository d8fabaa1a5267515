import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {callCommand} from '../../src/index'
import {ROOT} from '../helpers/cli'

/** A plain JavaScript app set up by `manage init` and `startcommand`, with this checkout as its manage-cli. */
async function initApp(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-test-app-'))
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({name: 'tested-app', version: '1.0.0'}))
  fs.mkdirSync(path.join(dir, 'node_modules'))
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'manage-cli'), 'dir')
  fs.symlinkSync(path.join(ROOT, 'node_modules', 'sqlite3'), path.join(dir, 'node_modules', 'sqlite3'), 'dir')
  for (const argv of [['init'], ['startcommand', 'hello']]) {
    const made = await callCommand(argv, {project: dir, env: {NO_COLOR: '1'}})
    expect(made.exitCode, made.stderr).to.equal(0)
  }
  return dir
}

/** A test of the app's that writes down the database it was given and the tables in it. */
const databaseTest = `const {test} = require('node:test')
const fs = require('node:fs')
const sqlite3 = require('sqlite3')
test('the run log is a throw-away one, migrated', async () => {
  const file = new URL(process.env.DATABASE_URL).pathname
  const db = new sqlite3.Database(file)
  const tables = await new Promise((resolve, reject) => db.all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", (error, rows) => (error ? reject(error) : resolve(rows.map((row) => row.name)))))
  await new Promise((resolve) => db.close(resolve))
  fs.writeFileSync('seen.json', JSON.stringify({file, project: process.env.MANAGE_PROJECT, cwd: process.cwd(), tables}))
})
`

describe('manage test', function () {
  this.timeout(60_000)
  const dirs: string[] = []
  after(() => dirs.forEach((dir) => fs.rmSync(dir, {recursive: true, force: true})))

  it("runs the app's job and command tests against a migrated run log of their own, deleted afterwards", async () => {
    const app = await initApp()
    dirs.push(app)
    fs.writeFileSync(path.join(app, 'src', 'crons', 'database.test.js'), databaseTest)
    fs.writeFileSync(path.join(app, 'src', 'migrations', '20261123120000_create_items.js'), "exports.up = (knex) => knex.schema.createTable('items', (t) => t.increments('id'))\nexports.down = (knex) => knex.schema.dropTable('items')\n")
    const run = await callCommand(['test'], {project: app, env: {NO_COLOR: '1'}})
    expect(run.exitCode, run.stdout + run.stderr).to.equal(0)
    // The example job's two tests, startcommand's one, and this one.
    expect(run.stdout).to.match(/^# pass 4$/m).and.match(/^# fail 0$/m)
    expect(run.stderr).to.match(/^3 test file\(s\), on a throw-away run log \(sqlite file .*manage-test-[^/]+\/run-log\.sqlite3\)\n$/)
    const seen = JSON.parse(fs.readFileSync(path.join(app, 'seen.json'), 'utf8')) as {file: string; project: string; cwd: string; tables: string[]}
    expect(seen.file).to.match(new RegExp(`^${os.tmpdir()}/manage-test-[^/]+/run-log\\.sqlite3$`))
    expect(seen).to.deep.include({project: app, cwd: app})
    expect(seen.tables).to.include.members(['cron_job', 'cron_job_log', 'items'])
    expect(fs.existsSync(path.dirname(seen.file)), 'the throw-away folder is deleted').to.equal(false)
    // The app's own database was never made.
    expect(fs.existsSync(path.join(app, 'var', 'db.sqlite3'))).to.equal(false)
  })

  it("exits with node's status when a test fails, and passes arguments after -- to node --test", async () => {
    const app = await initApp()
    dirs.push(app)
    fs.writeFileSync(path.join(app, 'src', 'commands', 'broken.test.js'), "require('node:test').test('broken', () => { throw new Error('it broke') })\n")
    const failed = await callCommand(['test'], {project: app, env: {NO_COLOR: '1'}})
    expect(failed.exitCode).to.equal(1)
    expect(failed.stdout).to.match(/^# fail 1$/m).and.include('it broke')
    const picked = await callCommand(['test', '--', '--test-name-pattern=greets'], {project: app, env: {NO_COLOR: '1'}})
    expect(picked.exitCode, picked.stdout).to.equal(0)
    expect(picked.stdout).to.match(/^# pass 1$/m)
  })

  it('refuses a build older than its sources, and an app without tests, in one line', async () => {
    const app = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-test-app-'))
    dirs.push(app)
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({name: 'ts-app', manage: {sourceDir: 'src', buildDir: 'dist', settings: 'manage/settings', crons: 'crons', commands: 'commands', migrations: 'migrations'}}))
    fs.writeFileSync(path.join(app, 'tsconfig.json'), '{}')
    const none = await callCommand(['test'], {project: app, env: {NO_COLOR: '1'}})
    expect(none).to.deep.include({exitCode: 1, stdout: ''})
    expect(none.stderr).to.equal('error: no test files (*.test.js) in dist/crons or dist/commands: run `npm run build`, or write one (manage startcron NAME writes a job and its test)\n')
    for (const file of ['dist/crons/job.test.js', 'src/crons/job.test.ts']) {
      fs.mkdirSync(path.dirname(path.join(app, file)), {recursive: true})
      fs.writeFileSync(path.join(app, file), '')
    }
    const later = new Date(Date.now() + 60_000)
    fs.utimesSync(path.join(app, 'src', 'crons', 'job.test.ts'), later, later)
    const stale = await callCommand(['test'], {project: app, env: {NO_COLOR: '1'}})
    expect(stale).to.deep.include({exitCode: 1, stdout: ''})
    expect(stale.stderr).to.equal('error: the build is older than its sources (src/crons/job.test.ts changed after dist/crons/job.test.js was built): run `npm run build`\n')
  })
})
