import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {registerCron} from '../../src/cli/tools/scaffold'
import {unbuiltMigrations} from '../../src/core/db/migrations'
import {messageFromError} from '../../src/core/jobs/message'
import {staleBuildLine, staleSources} from '../../src/core/project/build-state'
import {DEFAULT_LAYOUT, findProjectRoot, loadDotEnv, readLayout} from '../../src/core/project/layout'
import {PACKAGE_NAME, PACKAGE_VERSION} from '../../src/core/project/package-name'
import {runJob} from '../../src/testing'
import {job} from '../fixtures/jobs'
import {callManage, ROOT} from '../helpers/cli'

/** An app folder with these files (relative path → content). */
function app(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-layout-'))
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), {recursive: true})
    fs.writeFileSync(path.join(dir, file), content)
  }
  return dir
}

describe('the project: found from the working directory, laid out by package.json', () => {
  const dirs: string[] = []
  const make = (files: Record<string, string>) => (dirs.push(app(files)), dirs.at(-1)!)
  after(() => dirs.forEach((dir) => fs.rmSync(dir, {recursive: true, force: true})))

  it('the package is published under PACKAGE_NAME', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
    expect(pkg.name).to.equal(PACKAGE_NAME)
    expect(pkg.version, 'PACKAGE_VERSION (the heartbeat\'s version)').to.equal(PACKAGE_VERSION)
  })

  it('is the nearest folder with a package.json at or above the working directory, never one inside node_modules', () => {
    const root = make({'package.json': '{}', 'src/jobs/x.txt': '', 'node_modules/manage-cli/package.json': '{}', 'node_modules/manage-cli/bin/x': ''})
    expect(findProjectRoot(path.join(root, 'src', 'jobs'))).to.equal(root)
    expect(findProjectRoot(path.join(root, 'node_modules', 'manage-cli', 'bin'))).to.equal(root)
    expect(findProjectRoot('/tmp', root)).to.equal(root)
    expect(() => findProjectRoot('/tmp', path.join(root, 'src'))).to.throw(/^the project folder .*\/src \(--project or MANAGE_PROJECT\) has no package.json: point it at your app's folder/)
    expect(() => findProjectRoot('/')).to.throw(/^no package.json at or above \/: run manage in your app's folder, or pass --project DIR/)
  })

  it('reads its .env without overriding what the environment already says', () => {
    const root = make({'package.json': '{}', '.env': 'DATABASE_URL=sqlite:///from-dotenv.sqlite3\nMANAGE_TIME_ZONE="Europe/Paris" # comment\n'})
    const env: NodeJS.ProcessEnv = {MANAGE_TIME_ZONE: 'UTC'}
    loadDotEnv(root, env)
    expect(env).to.deep.equal({MANAGE_TIME_ZONE: 'UTC', DATABASE_URL: 'sqlite:///from-dotenv.sqlite3'})
    const none: NodeJS.ProcessEnv = {}
    loadDotEnv(make({'package.json': '{}'}), none)
    expect(none).to.deep.equal({})
  })

  it('lays out its parts from the "manage" section over the defaults, source and build alike', () => {
    const root = make({'package.json': JSON.stringify({name: 'shop', type: 'module', manage: {sourceDir: 'src', buildDir: 'build', settings: 'manage/settings'}}), 'tsconfig.json': '{}'})
    const layout = readLayout(root)
    expect(layout).to.deep.include({name: 'shop', moduleType: 'module', language: 'typescript'})
    expect(layout.source.settings).to.equal(path.join(root, 'src', 'manage', 'settings'))
    expect(layout.build.settings).to.equal(path.join(root, 'build', 'manage', 'settings.js'))
    expect(layout.build.crons).to.equal(path.join(root, 'build', DEFAULT_LAYOUT.crons))
    expect(readLayout(make({'package.json': '{}'})).language).to.equal('javascript')
  })

  const badSections: Array<[string, unknown, RegExp]> = [
    ['not an object', [1], /the "manage" section of .*package.json is not an object: use e.g. "manage": \{"sourceDir": "src", "buildDir": "dist"\}/],
    ['an unknown entry', {srcDir: 'src'}, /has an unknown entry "srcDir": the entries are sourceDir, buildDir, settings, knexfile, crons, commands, migrations/],
    ['an absolute path', {buildDir: '/dist'}, /"manage": \{"buildDir": "\/dist"\} in .* is not a path relative to the project folder: use e.g. "buildDir": "dist"/],
    ['an empty path', {crons: ''}, /"manage": \{"crons": ""\} .* is not a path relative to the project folder/],
  ]
  for (const [what, section, error] of badSections) {
    it(`refuses a "manage" section with ${what}, in one line`, () => {
      expect(() => readLayout(make({'package.json': JSON.stringify({manage: section})}))).to.throw(error)
    })
  }

  it('the crontab form of runcrons with no project to find: one line naming the folder, exit 2', async () => {
    const result = await callManage(['runcrons', '--project', '/nonexistent-app'], {})
    expect(result.stderr).to.equal("error: the project folder /nonexistent-app (--project or MANAGE_PROJECT) has no package.json: point it at your app's folder, the one with package.json\n")
    expect(result.code).to.equal(2)
  })

  it('a package.json that is not JSON: one line naming it, exit 2', async () => {
    const root = make({'package.json': '{"name": '})
    const result = await callManage(['about', '--project', root], {})
    expect(result.stderr).to.match(/^error: .*package.json cannot be read as JSON \(.*\): fix it, or pass --project DIR\n$/)
    expect(result.code).to.equal(2)
  })
})

describe('the build and its sources', () => {
  let root: string
  beforeEach(() => {
    root = app({
      'package.json': JSON.stringify({manage: {sourceDir: 'src', buildDir: 'dist', settings: 'settings', crons: 'crons', migrations: 'migrations'}}),
      'src/settings.ts': '',
      'src/crons/a.ts': '',
      'src/lib/util.ts': '',
      'src/lib/types.d.ts': '',
      'src/migrations/20260101000000_one.ts': '',
      'src/migrations/20260102000000_two.ts': '',
      'dist/settings.js': '',
      'dist/crons/a.js': '',
      'dist/lib/util.js': '',
      'dist/migrations/20260101000000_one.js': '',
    })
  })
  afterEach(() => fs.rmSync(root, {recursive: true, force: true}))
  const age = (file: string, secondsAgo: number) => {
    const when = new Date(Date.now() - secondsAgo * 1000)
    fs.utimesSync(path.join(root, file), when, when)
  }

  it("a job made by startcron and not built is named, not its test (which manage never runs)", () => {
    fs.writeFileSync(path.join(root, 'src', 'crons', 'another.test.ts'), '')
    fs.writeFileSync(path.join(root, 'src', 'crons', 'another.ts'), '')
    fs.writeFileSync(path.join(root, 'dist', 'migrations', '20260102000000_two.js'), '')
    const stale = staleSources(readLayout(root), 10)
    expect(stale).to.deep.equal([{source: 'src/crons/another.ts', built: 'dist/crons/another.js', missing: true}])
    expect(staleBuildLine(stale[0])).to.equal('src/crons/another.ts is not built (no dist/crons/another.js): run `npm run build`')
  })

  it('a migration in the sources that is not built is reported by name', () => {
    expect(unbuiltMigrations({source: path.join(root, 'src', 'migrations'), build: path.join(root, 'dist', 'migrations')})).to.deep.equal(['20260102000000_two'])
    expect(unbuiltMigrations({source: path.join(root, 'dist', 'migrations'), build: path.join(root, 'dist', 'migrations')})).to.deep.equal([])
  })

  it('a source edited after its build is stale; a part not compiled at all is missing; other unbuilt files are not manage\'s', () => {
    for (const file of ['src/settings.ts', 'src/crons/a.ts', 'src/lib/util.ts', 'src/migrations/20260101000000_one.ts', 'src/migrations/20260102000000_two.ts']) age(file, 60)
    const layout = readLayout(root)
    expect(staleSources(layout, 10)).to.deep.equal([{source: 'src/migrations/20260102000000_two.ts', built: 'dist/migrations/20260102000000_two.js', missing: true}])
    fs.writeFileSync(path.join(root, 'dist', 'migrations', '20260102000000_two.js'), '')
    expect(staleSources(layout, 10)).to.deep.equal([])
    age('src/lib/util.ts', -60)
    const [stale] = staleSources(layout)
    expect(staleBuildLine(stale)).to.equal('the build is older than its sources (src/lib/util.ts changed after dist/lib/util.js was built): run `npm run build`')
  })
})

describe('smaller points', () => {
  it("a failure's message keeps its cause (fetch says why only there), on the first line too", () => {
    const error = new TypeError('fetch failed', {cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {code: 'ECONNREFUSED'})})
    const message = messageFromError(error)
    expect(message.split('\n')[0]).to.equal('TypeError: fetch failed (caused by Error: connect ECONNREFUSED 127.0.0.1:9)')
    expect(message).to.match(/\nCaused by: Error: connect ECONNREFUSED 127\.0\.0\.1:9\n {4}at /)
    expect(messageFromError(new Error('plain')).split('\n')[0]).to.equal('Error: plain')
  })

  it('startcron registers a job in a CommonJS settings module with a require', () => {
    const source = "const {defineSettings} = require('manage-cli')\nconst {A} = require('../crons/a')\n\nmodule.exports = defineSettings({crons: [A]})\n"
    expect(registerCron(source, 'B', '../crons/b')).to.equal("const {defineSettings} = require('manage-cli')\nconst {A} = require('../crons/a')\nconst {B} = require('../crons/b')\n\nmodule.exports = defineSettings({crons: [A, B]})\n")
  })

  it('a mistyped command gets the nearest names, exit 2', async () => {
    const result = await callManage(['runcron'], {})
    expect(result.stderr).to.equal("error: manage has no command 'runcron': did you mean runcrons?\n")
    expect(result.code).to.equal(2)
    expect((await callManage(['crons:lst'], {})).stderr).to.equal("error: manage has no command 'crons:lst': did you mean crons:list or crons:next?\n")
  })

  it('the crons topic has its own summary in --help', async () => {
    expect((await callManage(['--help'], {})).stdout).to.match(/^ {2}crons +Look after the cron jobs: list, history, next runs, pause, resume,/m)
  })

  it('runJob: one job at a pinned time over a given history, its decision, outcome and message', async () => {
    const Every5 = job('app.every5', {runEveryMins: 5}, (ctx) => {
      ctx.logger.info(`at ${ctx.now.toISO()}`)
      return {seen: ctx.settings.appName}
    })
    expect(await runJob(Every5, {at: '2026-01-05T10:00:00Z', settings: {appName: 'shop'}})).to.deep.equal({
      ran: true,
      status: 'succeeded',
      reason: null,
      message: '{"seen":"shop"}',
      error: undefined,
      slot: null,
      logged: ['info: at 2026-01-05T10:00:00.000Z'],
      paused: null,
    })
    const early = await runJob(Every5, {at: '2026-01-05T10:03:00Z', history: [{status: 'succeeded', at: '2026-01-05T10:00:00Z'}]})
    expect(early).to.deep.include({ran: false, status: 'not-due'})
    expect(early.reason).to.match(/every 5 min; last successful start 2026-01-05 10:00:00/)
    expect(await runJob(Every5, {at: '2026-01-05T10:03:00Z', history: [{status: 'succeeded', at: '2026-01-05T10:00:00Z'}], force: true})).to.deep.include({ran: true, status: 'succeeded'})
    const Failing = job('app.failing', {runEveryMins: 5}, () => {
      throw new Error('boom')
    })
    const failed = await runJob(Failing, {at: '2026-01-05T10:00:00Z'})
    expect(failed).to.deep.include({ran: true, status: 'failed'})
    expect(failed.message).to.match(/^Error: boom\n/)
    const Db = job('app.db', {runEveryMins: 5}, (ctx) => ctx.db)
    expect((await runJob(Db, {at: '2026-01-05T10:00:00Z'})).message).to.match(/^Error: runJob was given no db: pass runJob\(MyCronJob, \{at, db: knex\(…\)\}\)/)
  })
})
