import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {namesOf, registerCron} from '../../src/cli/tools/scaffold'
import {callManage, lines, ROOT, type Result} from '../helpers/cli'

/**
 * `manage startcron` and `manage startcommand` (run in this process by callCommand), always with
 * --dir pointing at a temporary copy of this project, so no test writes into the repository. The
 * generated code is compiled and its generated tests are run, against that copy, by its own
 * bin/manage.
 */

function context(result: Result): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`
}

/** Every file under `dir` (relative paths), to show that nothing was written. */
function tree(dir: string): string[] {
  return (fs.readdirSync(dir, {recursive: true, withFileTypes: true}) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort()
}

/** A copy of this project's sources (node_modules linked) that generators may write into. */
function copyProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-scaffold-'))
  for (const entry of ['src', 'bin', 'migrations', 'scripts', 'knexfile.ts', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) {
    fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), {recursive: true})
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'))
  return dir
}

describe('manage startcron / startcommand', function () {
  this.timeout(60_000)
  this.slow(5_000)

  const temps: string[] = []
  const temp = (dir: string) => (temps.push(dir), dir)
  after(() => {
    for (const dir of temps) fs.rmSync(dir, {recursive: true, force: true})
  })

  describe('in a copy of this project', () => {
    let project: string
    let settingsBefore: string

    before(() => {
      project = temp(copyProject())
      settingsBefore = fs.readFileSync(path.join(project, 'src', 'settings.ts'), 'utf8')
    })

    it('startcron writes the job and its test, and lists the job in src/settings.ts', async () => {
      const result = await callManage(['startcron', 'FetchNews', '--dir', project], {})
      expect(lines(result.stdout), context(result)).to.deep.equal([
        'Created src/crons/fetch-news.ts',
        'Created src/crons/fetch-news.test.ts',
        "Added FetchNewsCronJob (code 'app.fetch_news') to the crons in src/settings.ts",
        'Next: npm run build, then `manage runcrons FetchNewsCronJob --force` to try it.',
      ])
      expect(result.stderr).to.equal('')
      expect(result.code).to.equal(0)

      const job = fs.readFileSync(path.join(project, 'src', 'crons', 'fetch-news.ts'), 'utf8')
      expect(job).to.include("import {CronJobBase, type CronContext} from '../index'")
      expect(job).to.include('export class FetchNewsCronJob extends CronJobBase {')
      expect(job).to.include("code = 'app.fetch_news'")
      expect(job).to.include('runEveryMins = 5')
      expect(job).to.include('runToleranceSeconds = 10')
      expect(job).to.include('async do(ctx: CronContext)')
      const test = fs.readFileSync(path.join(project, 'src', 'crons', 'fetch-news.test.ts'), 'utf8')
      expect(test).to.include("import {runJob} from '../testing'")
      expect(test).to.include("import {FetchNewsCronJob} from './fetch-news'")

      // Exactly two changes to the settings: the import, and the class at the end of crons.
      const expected = settingsBefore
        .replace("import {HeartbeatCronJob} from './crons/heartbeat'\n", "import {HeartbeatCronJob} from './crons/heartbeat'\nimport {FetchNewsCronJob} from './crons/fetch-news'\n")
        .replace('crons: [HeartbeatCronJob, DeleteOldRunLogsCronJob]', 'crons: [HeartbeatCronJob, DeleteOldRunLogsCronJob, FetchNewsCronJob]')
      expect(expected).to.not.equal(settingsBefore)
      expect(fs.readFileSync(path.join(project, 'src', 'settings.ts'), 'utf8')).to.equal(expected)
    })

    it('startcommand writes the command and its test', async () => {
      const result = await callManage(['startcommand', 'sendReport', '--dir', project], {})
      expect(lines(result.stdout), context(result)).to.deep.equal(['Created src/commands/send-report.ts', 'Created src/commands/send-report.test.ts', 'Next: npm run build, then `manage send-report --help`.'])
      expect(result.code).to.equal(0)
      const command = fs.readFileSync(path.join(project, 'src', 'commands', 'send-report.ts'), 'utf8')
      expect(command).to.include("import {BaseCommand, Flags} from '../command'")
      expect(command).to.include('export default class SendReport extends BaseCommand<typeof SendReport> {')
      expect(command).to.match(/static summary = '/)
      expect(command).to.match(/static examples = \[/)
      expect(command).to.include('async run(): Promise<void> {')
    })

    it('the generated code compiles with the project\'s build, its tests pass (node --test), and the job runs from the settings', () => {
      // The project's own build: tsc, then the entry bundles bin/manage loads.
      const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(project, 'tsconfig.build.json')], {encoding: 'utf8'})
      expect(tsc.status, `${tsc.stdout}${tsc.stderr}`).to.equal(0)
      const bundle = spawnSync(process.execPath, [path.join(project, 'scripts', 'bundle-entry.js')], {encoding: 'utf8'})
      expect(bundle.status, `${bundle.stdout}${bundle.stderr}`).to.equal(0)

      const tests = spawnSync(process.execPath, ['--test', path.join('dist', 'src', 'crons', 'fetch-news.test.js'), path.join('dist', 'src', 'commands', 'send-report.test.js')], {
        cwd: project,
        encoding: 'utf8',
        env: {...process.env, NO_COLOR: '1', DATABASE_URL: `sqlite://${path.join(project, 'db.sqlite3')}`, MANAGE_SETTINGS: ''},
      })
      expect(tests.status, `${tests.stdout}${tests.stderr}`).to.equal(0)
      expect(tests.stdout).to.match(/^# pass 3$/m)

      const manage = (...args: string[]) =>
        spawnSync(process.execPath, [path.join(project, 'bin', 'manage'), ...args], {
          cwd: project,
          encoding: 'utf8',
          env: {...process.env, DATABASE_URL: `sqlite://${path.join(project, 'db.sqlite3')}`, MANAGE_SETTINGS: '', NO_COLOR: '1'},
        })
      expect(manage('migrate').status).to.equal(0)
      // Not named on the command line: it runs because the settings now list it.
      const tick = manage('runcrons', '--force')
      expect(tick.stdout, `${tick.stdout}${tick.stderr}`).to.include('[✔] app.fetch_news')
    })

    it('refuses to overwrite: one line, exit 1, nothing written (not even the files that did not exist)', async () => {
      fs.writeFileSync(path.join(project, 'src', 'crons', 'only-test.test.ts'), '// mine\n')
      const settings = fs.readFileSync(path.join(project, 'src', 'settings.ts'), 'utf8')
      const before = tree(path.join(project, 'src'))

      const cron = await callManage(['startcron', 'OnlyTestCronJob', '--dir', project], {})
      expect(lines(cron.stderr), context(cron)).to.deep.equal([`error: ${project}/src/crons/only-test.test.ts already exists: choose another NAME or delete it first (nothing was written)`])
      expect(cron.stdout).to.equal('')
      expect(cron.code).to.equal(1)

      expect(tree(path.join(project, 'src'))).to.deep.equal(before)
      expect(fs.readFileSync(path.join(project, 'src', 'settings.ts'), 'utf8')).to.equal(settings)

      expect((await callManage(['startcommand', 'refuseMe', '--dir', project], {})).code).to.equal(0)
      const commandFile = path.join(project, 'src', 'commands', 'refuse-me.ts')
      fs.writeFileSync(commandFile, '// edited by hand\n')
      const command = await callManage(['startcommand', 'refuse_me', '--dir', project], {})
      expect(lines(command.stderr), context(command)).to.deep.equal([
        `error: ${project}/src/commands/refuse-me.ts and ${project}/src/commands/refuse-me.test.ts already exist: choose another NAME or delete them first (nothing was written)`,
      ])
      expect(command.code).to.equal(1)
      expect(fs.readFileSync(commandFile, 'utf8')).to.equal('// edited by hand\n')

      expect(fs.readFileSync(path.join(project, 'src', 'settings.ts'), 'utf8')).to.equal(settings)
      expect(fs.readFileSync(path.join(project, 'src', 'crons', 'only-test.test.ts'), 'utf8')).to.equal('// mine\n')
    })
  })

  it('rejects a NAME that is not an identifier: exit 2, one line, nothing written', async () => {
    const project = temp(fs.mkdtempSync(path.join(os.tmpdir(), 'manage-scaffold-')))
    fs.writeFileSync(path.join(project, 'package.json'), '{}\n')
    for (const [command, name] of [['startcron', 'fetch-news-'], ['startcommand', '1report'], ['startcron', '../evil'], ['startcommand', 'send report'], ['startcommand', 'seed--sessions']]) {
      const result = await callManage([command, name, '--dir', project], {})
      expect(lines(result.stderr), context(result)).to.deep.equal([`error: NAME '${name}' is not an identifier: use letters, digits, underscores and single hyphens, starting with a letter (e.g. FetchNews, fetch_news or fetch-news)`])
      expect(result.code).to.equal(2)
    }
    expect(tree(project)).to.deep.equal(['package.json'])
  })

  it('startcommand takes seed_sessions and seed-sessions alike (both make `manage seed-sessions`), and refuses a built-in command\'s name in one line', async () => {
    for (const name of ['seed_sessions', 'seed-sessions', 'seedSessions']) {
      const project = temp(fs.mkdtempSync(path.join(os.tmpdir(), 'manage-scaffold-')))
      fs.writeFileSync(path.join(project, 'package.json'), '{"devDependencies": {"typescript": "^5.9.3"}}\n')
      const result = await callManage(['startcommand', name, '--dir', project], {})
      expect(result.code, context(result)).to.equal(0)
      expect(tree(project)).to.deep.equal(['package.json', 'src/commands/seed-sessions.test.ts', 'src/commands/seed-sessions.ts'])
      expect(fs.readFileSync(path.join(project, 'src', 'commands', 'seed-sessions.ts'), 'utf8')).to.include('class SeedSessions extends BaseCommand')
    }
    const project = temp(fs.mkdtempSync(path.join(os.tmpdir(), 'manage-scaffold-')))
    fs.writeFileSync(path.join(project, 'package.json'), '{}\n')
    for (const [name, id] of [['check', 'check'], ['run_crons', undefined], ['Migrate', 'migrate'], ['about', 'about'], ['help', 'help']] as const) {
      const result = await callManage(['startcommand', name, '--dir', project], {})
      if (id === undefined) {
        expect(result.code, context(result)).to.equal(0) // run-crons is not runcrons
        continue
      }
      expect(lines(result.stderr), context(result)).to.deep.equal([`error: NAME '${name}' would make \`manage ${id}\`, a built-in command's name, which an app's command never gets: choose another (e.g. app-${id})`])
      expect(result.code, context(result)).to.equal(2)
    }
    expect(tree(project)).to.deep.equal(['package.json', 'src/commands/run-crons.js', 'src/commands/run-crons.test.js'])
  })

  it('rejects a NAME too long for a file name before writing anything: exit 2, one line', async () => {
    const project = temp(fs.mkdtempSync(path.join(os.tmpdir(), 'manage-scaffold-')))
    fs.writeFileSync(path.join(project, 'package.json'), '{}\n')
    // (startcron's NAME is refused sooner, for its code: see below.)
    const result = await callManage(['startcommand', `Cmd${'y'.repeat(250)}`, '--dir', project], {})
    expect(result.code, context(result)).to.equal(2)
    expect(lines(result.stderr)).to.have.length(1)
    expect(result.stderr).to.match(/^error: NAME is too long: it would make the file name .* of \d+ bytes, more than the 255 a file system takes: use a shorter NAME \(nothing was written\)/)
    expect(tree(project)).to.deep.equal(['package.json'])
  })

  it("rejects a NAME whose code would be over the loader's 191 characters before writing anything: exit 2, one line", async () => {
    const project = temp(fs.mkdtempSync(path.join(os.tmpdir(), 'manage-scaffold-')))
    fs.writeFileSync(path.join(project, 'package.json'), '{"devDependencies": {"typescript": "^5.9.3"}}\n')
    fs.mkdirSync(path.join(project, 'src'))
    const settings = "import {defineSettings} from 'manage-cli'\n\nexport default defineSettings({crons: []})\n"
    fs.writeFileSync(path.join(project, 'src', 'settings.ts'), settings)
    // 190 characters give the code 'app.j…' of 194; 248 would also make too long a file name.
    for (const [name, length, over] of [[`J${'x'.repeat(189)}`, 194, 3], [`Job${'x'.repeat(245)}`, 252, 61]] as const) {
      const result = await callManage(['startcron', name, '--dir', project], {})
      expect(result.code, context(result)).to.equal(2)
      expect(result.stdout).to.equal('')
      expect(lines(result.stderr)).to.have.length(1)
      expect(result.stderr).to.match(new RegExp(`^error: NAME is too long for a job's code: it gives the code 'app\\.j[a-z]+…' of ${length} characters, more than the 191 a code may have: shorten NAME by at least ${over} characters \\(nothing was written\\)\n$`))
    }
    // One character less is a code of 191, which the loader takes: written and registered.
    const fits = await callManage(['startcron', `J${'x'.repeat(186)}`, '--dir', project], {})
    expect(fits.code, context(fits)).to.equal(0)
    expect(fs.readFileSync(path.join(project, 'src', 'settings.ts'), 'utf8')).to.include(`J${'x'.repeat(186)}CronJob`)
    fs.writeFileSync(path.join(project, 'src', 'settings.ts'), settings)
    for (const file of tree(project)) if (file.startsWith('src/crons/')) fs.rmSync(path.join(project, file))
    // And the 188-character NAME (code of 192) is refused, files and settings untouched.
    const over = await callManage(['startcron', `J${'x'.repeat(187)}`, '--dir', project], {})
    expect(over.code, context(over)).to.equal(2)
    expect(over.stderr).to.match(/of 192 characters, more than the 191 a code may have: shorten NAME by at least 1 character \(nothing was written\)/)
    expect(tree(project)).to.deep.equal(['package.json', 'src/settings.ts'])
    expect(fs.readFileSync(path.join(project, 'src', 'settings.ts'), 'utf8')).to.equal(settings)
  })

  it('rejects a --dir that is not a project folder: exit 2', async () => {
    const notProject = temp(fs.mkdtempSync(path.join(os.tmpdir(), 'manage-scaffold-')))
    const result = await callManage(['startcron', 'FetchNews', '--dir', notProject], {})
    expect(lines(result.stderr), context(result)).to.deep.equal([`error: --dir ${notProject} is not a project folder (it has no package.json): point --dir at the folder with package.json`])
    expect(result.code).to.equal(2)
    expect(tree(notProject)).to.deep.equal([])
  })

  it('without a recognisable crons: [ list, writes the files anyway and prints what to add (framework imported from the package)', async () => {
    const project = temp(fs.mkdtempSync(path.join(os.tmpdir(), 'manage-scaffold-')))
    fs.writeFileSync(path.join(project, 'package.json'), '{"devDependencies": {"typescript": "^5.9.3"}}\n')
    fs.mkdirSync(path.join(project, 'src'))
    const settings = "import {defineSettings} from 'manage-cli'\nimport {jobs} from './jobs'\n\nexport default defineSettings({crons: jobs})\n"
    fs.writeFileSync(path.join(project, 'src', 'settings.ts'), settings)

    const result = await callManage(['startcron', 'send_digest', '--dir', project], {})
    expect(lines(result.stdout), context(result)).to.deep.equal([
      'Created src/crons/send-digest.ts',
      'Created src/crons/send-digest.test.ts',
      "src/settings.ts has no crons: [...] list to edit: add it yourself: import {SendDigestCronJob} from './crons/send-digest' in src/settings.ts and add SendDigestCronJob to its crons: [...]",
      'Next: npm run build, then `manage runcrons SendDigestCronJob --force` to try it.',
    ])
    expect(result.code).to.equal(0)
    expect(fs.readFileSync(path.join(project, 'src', 'settings.ts'), 'utf8')).to.equal(settings)
    expect(fs.readFileSync(path.join(project, 'src', 'crons', 'send-digest.ts'), 'utf8')).to.match(/^import \{CronJobBase, type CronContext\} from 'manage-cli'\n/)
    expect(fs.readFileSync(path.join(project, 'src', 'crons', 'send-digest.test.ts'), 'utf8')).to.include("import {runJob} from 'manage-cli/testing'")
  })

  describe('registerCron (the settings edit)', () => {
    it('appends to a one-line list and adds the import after the last import', () => {
      const source = "import {a} from './a'\nimport {\n  B,\n} from './b'\n\nexport default {crons: [A, B], x: [1]}\n"
      expect(registerCron(source, 'NewCronJob', './crons/new')).to.equal(
        "import {a} from './a'\nimport {\n  B,\n} from './b'\nimport {NewCronJob} from './crons/new'\n\nexport default {crons: [A, B, NewCronJob], x: [1]}\n",
      )
    })

    it('follows a one-per-line list, its indentation, trailing comma and semicolons', () => {
      const source = "import {A} from './a';\n\nexport default {\n  crons: [\n    A,\n  ],\n};\n"
      expect(registerCron(source, 'NewCronJob', './crons/new')).to.equal("import {A} from './a';\nimport {NewCronJob} from './crons/new';\n\nexport default {\n  crons: [\n    A,\n    NewCronJob,\n  ],\n};\n")
    })

    it('fills an empty list', () => {
      expect(registerCron('export default {crons: []}\n', 'NewCronJob', './crons/new')).to.equal("import {NewCronJob} from './crons/new'\nexport default {crons: [NewCronJob]}\n")
    })

    it('gives up (null) on no list, two lists, or a nested one', () => {
      expect(registerCron('export default {crons: jobs}\n', 'X', './x')).to.equal(null)
      expect(registerCron('const a = {crons: [A]}\nconst b = {crons: [B]}\n', 'X', './x')).to.equal(null)
      expect(registerCron('export default {crons: [...[A]]}\n', 'X', './x')).to.equal(null)
    })
  })

  it('namesOf: the spellings of a NAME', () => {
    expect(namesOf('fetchNews', 'NAME', 'CronJob')).to.deep.equal({pascal: 'FetchNews', kebab: 'fetch-news', snake: 'fetch_news'})
    expect(namesOf('fetch_news', 'NAME', 'CronJob')).to.deep.equal({pascal: 'FetchNews', kebab: 'fetch-news', snake: 'fetch_news'})
    expect(namesOf('FetchNewsCronJob', 'NAME', 'CronJob')).to.deep.equal({pascal: 'FetchNews', kebab: 'fetch-news', snake: 'fetch_news'})
    expect(namesOf('HTTPPoller', 'NAME')).to.deep.equal({pascal: 'HTTPPoller', kebab: 'http-poller', snake: 'http_poller'})
    expect(namesOf('s3Sync', 'NAME')).to.deep.equal({pascal: 'S3Sync', kebab: 's3-sync', snake: 's3_sync'})
  })
})
