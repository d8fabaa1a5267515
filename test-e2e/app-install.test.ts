import {spawnSync, type SpawnSyncReturns} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'

/**
 * manage as a user adopts it, installed as the README says: packed from the clone with `npm pack`,
 * then `npm install` of the tarball, into fresh apps (TypeScript CommonJS, TypeScript "type": "module", plain JavaScript),
 * then init, the generators, the build, migrate, a tick at a pinned time, the app's own command,
 * crons:list, the crontab line run the way cron runs it (env -i, from /), the generated tests (npm test: manage test),
 * check, and a stale build. `npm run test:e2e` (after the build); .ci/run runs it.
 */
const ROOT = path.resolve(__dirname, '..')
const NOW = '2026-11-23T12:00:00Z'

/** The environment of a user's shell: none of the test suite's own settings. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(MANAGE_|DATABASE_URL$|TEST_|NODE_ENV$|npm_)/.test(key)) env[key] = value
  }
  return {...env, NO_COLOR: '1', ...extra}
}

function run(command: string, args: readonly string[], cwd: string, extra: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(command, args, {cwd, encoding: 'utf8', env: userEnv(extra), timeout: 240_000})
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  expect(result.status, `${what} (exit ${result.status})\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`).to.equal(0)
  return result.stdout
}

const version = (name: string) => (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {version: string}).version

interface AppKind {
  title: string
  type?: 'module'
  typescript: boolean
}

const KINDS: AppKind[] = [
  {title: 'a TypeScript CommonJS app', typescript: true},
  {title: 'a TypeScript "type": "module" app', typescript: true, type: 'module'},
  {title: 'a plain JavaScript app', typescript: false},
]

/**
 * The install commands of the README's "Add manage to your app", as a user types them (comments
 * dropped): the test installs exactly this way, so the README cannot drift from what works.
 */
function readmeInstall(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Add manage to your app')))
  expect(block, 'the README\'s "Add manage to your app" has a sh block').to.not.equal(null)
  return block![1].split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter((line) => line !== '')
}

describe('installed into an app the way the README says: packed from a clone, then npm install of the tarball', function () {
  this.timeout(600_000)
  let work: string
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {name: string; version: string}
  const tgz = `${pkg.name}-${pkg.version}.tgz`
  const commands = readmeInstall()

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-e2e-'))
    // This checkout stands for the clone in ../manage (its dependencies installed, as `npm ci` leaves them).
    expect(commands[0]).to.match(/^git clone \S.* \.\.\/manage && \(cd \.\.\/manage && npm ci\)$/)
    expect(commands.slice(1, 3)).to.deep.equal(['npm pack ../manage', `npm install ./${tgz}`])
    // The rest are what each app below runs (npx manage runs node_modules/.bin/manage).
    expect(commands.slice(3)).to.deep.equal(['npx manage init', 'npm run build', 'npx manage migrate', 'npx manage crontab --install'])
  })
  after(() => fs.rmSync(work, {recursive: true, force: true}))

  for (const kind of KINDS) {
    it(`${kind.title}: npm pack, npm install, manage init, generators, build, migrate, runcrons, its command, crontab under env -i, manage test`, () => {
      const app = path.join(work, kind.type === 'module' ? 'esm-app' : kind.typescript ? 'cjs-app' : 'js-app')
      fs.mkdirSync(app)
      fs.writeFileSync(path.join(app, 'package.json'), `${JSON.stringify({name: path.basename(app), version: '1.0.0', private: true, ...(kind.type ? {type: kind.type} : {})}, null, 2)}\n`)
      // `npm pack ../manage`: the clone built (its prepare script) and packed into the app's folder.
      const packed = ok(run('npm', commands[1].replace('../manage', ROOT).split(' ').slice(1), app), commands[1])
      expect(packed.trim().split('\n').at(-1)).to.equal(tgz)
      const files = ok(run('tar', ['-tzf', path.join(app, tgz)], app), 'tar').split('\n').filter(Boolean).map((file) => file.replace(/^package\//, ''))
      // The framework only: no example settings, jobs, knexfile or tests.
      expect(files).to.include.members(['bin/manage', 'dist/entry/main.js', 'dist/src/index.js', 'dist/src/command.js', 'dist/src/testing.js', 'dist/src/crons/delete-old-run-logs.js'])
      expect(files.filter((file) => /^dist\/src\/settings\.|heartbeat|knexfile|^test|^src\/|^migrations\//.test(file))).to.deep.equal([])
      const tools = kind.typescript ? [`typescript@${version('typescript')}`, `@types/node@${version('@types/node')}`] : []
      // From npm's cache; sqlite3's native build is the one this checkout compiled (same version), not a second compile.
      // The README's `npm install ./manage-cli-<version>.tgz`, with the app's build tools beside it. The flags change nothing
      // installed: they skip sqlite3's native build (the checkout's own, of the same version, is copied below) and the network.
      ok(run('npm', [...commands[2].split(' ').slice(1), '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', ...tools], app), commands[2])
      expect(JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8')).dependencies).to.include({[pkg.name]: `file:${tgz}`})
      expect(version('sqlite3')).to.equal((JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'sqlite3', 'package.json'), 'utf8')) as {version: string}).version)
      fs.cpSync(path.join(ROOT, 'node_modules', 'sqlite3', 'build'), path.join(app, 'node_modules', 'sqlite3', 'build'), {recursive: true})

      // The built-in housekeeping job, by its own entry (kept out of the main one, which every tick loads).
      expect(ok(run(process.execPath, ['-e', "console.log(require('manage-cli/crons/delete-old-run-logs').DeleteOldRunLogsCronJob.name)"], app), 'require')).to.equal('DeleteOldRunLogsCronJob\n')

      const manage = (args: string[], extra: Record<string, string> = {}) => run(path.join(app, 'node_modules', '.bin', 'manage'), args, app, extra)
      const ext = kind.typescript ? 'ts' : 'js'
      const built = kind.typescript ? 'dist' : 'src'

      const init = ok(manage(['init']), 'manage init')
      expect(init).to.include(`+ src/manage/settings.${ext}`).and.include(`+ src/crons/example.${ext}`).and.include(`+ src/crons/example.test.${ext}`)
      expect(init).to.include('npx manage migrate').and.include('npx manage crontab --install')
      expect(fs.readFileSync(path.join(app, '.gitignore'), 'utf8')).to.include('var/\n*.sqlite3\n')
      // Never overwrites: a second init keeps every file.
      expect(ok(manage(['init']), 'manage init again')).to.include(`= src/manage/settings.${ext} (exists: kept as it is)`).and.not.include('  + src/')

      ok(manage(['startcron', 'Cleanup']), 'startcron')
      ok(manage(['startcommand', 'hello']), 'startcommand')
      const made = ok(manage(['makemigration', 'create_items'], {MANAGE_NOW: NOW}), 'makemigration')
      expect(made).to.include(`Created src/migrations/20261123120000_create_items.${ext}`)
      const migration = path.join(app, 'src', 'migrations', `20261123120000_create_items.${ext}`)
      fs.writeFileSync(migration, fs.readFileSync(migration, 'utf8').replace(/\/\/ TODO: say what [\s\S]*?\/\/ \}\)/, "await knex.schema.createTable('items', (table) => {\n    table.increments('id')\n  })"))

      // The database comes from the app's .env, which cron's bare environment must read too.
      const database = path.join(app, 'var', 'from-dotenv.sqlite3')
      fs.writeFileSync(path.join(app, '.env'), `DATABASE_URL=sqlite://${database}\n`)
      // The README's command that reads the app's own table ("How a command gets the database"), as written there.
      const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
      const itemsCommand = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('### How a command gets the database')))![1]
      if (kind.typescript) fs.writeFileSync(path.join(app, 'src', 'commands', 'items.ts'), itemsCommand)
      if (kind.typescript) ok(run('npm', ['run', 'build'], app), 'npm run build')

      const migrated = ok(manage(['migrate']), 'manage migrate')
      expect(migrated).to.include(`sqlite file ${database}`).and.include('20261123000000_manage_cron_tables').and.include('20261123120000_create_items')
      expect(ok(manage(['showmigrations']), 'showmigrations')).to.include(' [X] 20261123120000_create_items')

      if (kind.typescript) expect(ok(manage(['items', '--above', '0']), 'manage items')).to.equal(`0 item(s) in the sqlite file ${database}\n`)

      const tick = manage(['runcrons'], {MANAGE_NOW: NOW})
      expect(ok(tick, 'runcrons')).to.equal('[✔] app.example\n[✔] app.cleanup\n')
      // A tick that writes under MANAGE_NOW says so, once (README: MANAGE_NOW).
      expect(tick.stderr).to.equal(`warning: MANAGE_NOW=${NOW} pins the clock: the rows written are dated then, not now (use --dry-run to only see what would run)\n`)
      expect(ok(manage(['hello', '--name', 'e2e']), 'manage hello')).to.equal(`hello: hello e2e from ${path.basename(app)}\n`)
      expect(ok(manage(['--help']), 'manage --help')).to.match(/^ {2}hello +TODO/m).and.match(/^ {2}runcrons /m)
      const listed = JSON.parse(ok(manage(['crons:list', '--json'], {MANAGE_NOW: NOW}), 'crons:list')) as Array<{code: string}>
      expect(listed.map((job) => job.code)).to.deep.equal(['app.example', 'app.cleanup'])

      // The crontab line, run as cron runs it: no environment at all, from /.
      const line = ok(manage(['crontab']), 'manage crontab').trim()
      expect(line).to.equal(`* * * * * cd ${app} && ${process.execPath} ${path.join(app, 'node_modules', 'manage-cli', 'bin', 'manage')} runcrons --timestamps >> ${path.join(app, 'var', 'cron.log')} 2>&1`)
      const cron = spawnSync('/usr/bin/env', ['-i', '/bin/sh', '-c', line.replace(/^(\S+ ){5}/, '').replace(/\\%/g, '%')], {cwd: '/', encoding: 'utf8'})
      expect(cron.status, cron.stderr).to.equal(0)
      // It ticked at the real time, on the .env's database: both jobs ran (due again), and the log says so, each line dated.
      expect(fs.readFileSync(path.join(app, 'var', 'cron.log'), 'utf8')).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[✔\] app\.example\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[✔\] app\.cleanup\n$/)

      // The generated tests pass, on the compiled files: `npm test` is the "manage test" init added, on a throw-away run log.
      expect(JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8')).scripts.test).to.equal('manage test')
      const tests = run('npm', ['test'], app)
      expect(ok(tests, 'npm test')).to.match(/^# pass 5$/m)
      expect(tests.stderr).to.match(/^3 test file\(s\), on a throw-away run log \(sqlite file .*\/manage-test-[^/]+\/run-log\.sqlite3\)$/m)

      // check: the crontab line installed (a stand-in crontab program), then a stale build.
      const crontab = {MANAGE_CRONTAB_BIN: path.join(ROOT, 'test', 'fixtures', 'fake-crontab'), FAKE_CRONTAB_FILE: path.join(app, 'var', 'crontab')}
      expect(ok(manage(['check'], crontab), 'check')).to.include('has no entry for this project')
      ok(manage(['crontab', '--install'], crontab), 'crontab --install')
      expect(ok(manage(['check'], crontab), 'check')).to.equal('System check identified no issues (2 cron job(s)).\n')
      // An app command named as a built-in is not loaded, and says so; the built-in runs.
      fs.writeFileSync(path.join(app, built, 'commands', `migrate.${kind.type === 'module' ? 'js' : 'cjs'}`), kind.type === 'module' ? 'export default class {static run() {}}\n' : 'module.exports = class {static run() {}}\n')
      const shadowed = manage(['showmigrations'])
      expect(shadowed.stderr).to.match(/^warning: the app's command 'migrate' \(in .*\) is not loaded: a built-in command has that name; rename it \(e\.g\. app:migrate\)\n$/)
      expect(ok(shadowed, 'showmigrations')).to.include('[X] 20261123120000_create_items')
      fs.rmSync(path.join(app, built, 'commands', `migrate.${kind.type === 'module' ? 'js' : 'cjs'}`))

      if (kind.typescript) {
        // A migration made but not built: migrate refuses before applying anything, showmigrations marks it.
        ok(manage(['makemigration', 'add_price'], {MANAGE_NOW: '2026-11-23T13:00:00Z'}), 'makemigration add_price')
        const refused = manage(['migrate'])
        expect(refused.status).to.equal(1)
        expect(refused.stderr).to.include(`error: the migration 20261123130000_add_price in ${path.join(app, 'src', 'migrations')} is not in the build (${path.join(app, 'dist', 'migrations')}): run \`npm run build\` first (nothing was applied)`)
        expect(ok(manage(['showmigrations']), 'showmigrations')).to.include(' [ ] 20261123130000_add_price (not built: run `npm run build`)')
        ok(run('npm', ['run', 'build'], app), 'npm run build')
        expect(ok(manage(['migrate']), 'migrate')).to.include('20261123130000_add_price')

        const later = new Date(Date.now() + 60_000)
        fs.utimesSync(path.join(app, 'src', 'crons', 'cleanup.ts'), later, later)
        const stale = manage(['crons:list'])
        expect(stale.stderr).to.equal(`warning: the build is older than its sources (src/crons/cleanup.ts changed after dist/crons/cleanup.js was built): run \`npm run build\`\n`)
        expect(ok(manage(['check'], crontab), 'check')).to.include('src/crons/cleanup.ts changed after dist/crons/cleanup.js')
      }
    })
  }
})
