import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {callCommand} from '../../src/index'
import {readLayout} from '../../src/core/project/layout'
import {ROOT} from '../helpers/cli'

/** An app folder with these files (relative path → content). */
function app(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-init-'))
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), {recursive: true})
    fs.writeFileSync(path.join(dir, file), content)
  }
  return dir
}

/** The app's node_modules: these packages of this checkout (manage-cli is this checkout, built). */
function link(dir: string, names: Record<string, string>): void {
  for (const [name, target] of Object.entries(names)) {
    fs.mkdirSync(path.dirname(path.join(dir, 'node_modules', name)), {recursive: true})
    fs.symlinkSync(target, path.join(dir, 'node_modules', name), 'dir')
  }
}

const pkg = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))

describe('manage init', function () {
  this.timeout(60_000)
  const dirs: string[] = []
  const make = (files: Record<string, string>) => (dirs.push(app(files)), dirs.at(-1)!)
  after(() => dirs.forEach((dir) => fs.rmSync(dir, {recursive: true, force: true})))

  // A tsconfig without rootDir whose inputs reach above src/: tsc emits src/x.ts to dist/src/x.js.
  const noRootDir = {
    'package.json': JSON.stringify({name: 'wide-app', version: '2.0.0', scripts: {test: 'echo "Error: no test specified" && exit 1'}}, null, 2),
    'tsconfig.json': '{\n  // no rootDir\n  "compilerOptions": {"target": "ES2022", "module": "node16", "outDir": "dist", "strict": true, "skipLibCheck": true, "types": ["node"]},\n  "include": ["src", "scripts"],\n}\n',
    'scripts/seed.ts': 'export const seed = 1\n',
  }

  it('lays the app out where tsc really emits when tsconfig.json has no rootDir (its inputs\' common folder), and the build puts the settings there', async () => {
    const dir = make(noRootDir)
    link(dir, {typescript: path.join(ROOT, 'node_modules', 'typescript'), '@types/node': path.join(ROOT, 'node_modules', '@types', 'node'), 'manage-cli': ROOT})
    const init = await callCommand(['init'], {project: dir, env: {NO_COLOR: '1'}})
    expect(init.exitCode, init.stderr).to.equal(0)
    expect(pkg(dir).manage).to.deep.equal({sourceDir: '.', buildDir: 'dist', settings: 'src/manage/settings', knexfile: 'src/manage/knexfile', crons: 'src/crons', commands: 'src/commands', migrations: 'src/migrations'})
    expect(init.stdout).to.include('+ src/manage/settings.ts').and.not.include('rootDir')
    // tsc itself agrees: the compiled settings are where manage looks.
    const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], {encoding: 'utf8'})
    expect(tsc.status, tsc.stdout).to.equal(0)
    expect(fs.existsSync(readLayout(dir).build.settings), readLayout(dir).build.settings).to.equal(true)
  })

  it('without typescript installed, reads the include entries as tsc would match them', async () => {
    const dir = make(noRootDir)
    expect((await callCommand(['init'], {project: dir, env: {NO_COLOR: '1'}})).exitCode).to.equal(0)
    expect(pkg(dir).manage).to.include({sourceDir: '.', buildDir: 'dist', settings: 'src/manage/settings'})
    const narrow = make({'package.json': '{"name": "narrow-app"}', 'tsconfig.json': '{"compilerOptions": {"outDir": "build"}, "include": ["src/**/*"]}'})
    expect((await callCommand(['init'], {project: narrow, env: {NO_COLOR: '1'}})).exitCode).to.equal(0)
    expect(pkg(narrow).manage).to.include({sourceDir: 'src', buildDir: 'build', settings: 'manage/settings', crons: 'crons'})
  })

  it('adds "test": "manage test" in place of none or npm init\'s placeholder, and keeps a real one', async () => {
    const placeholder = make(noRootDir)
    const init = await callCommand(['init'], {project: placeholder, env: {NO_COLOR: '1'}})
    expect(pkg(placeholder).scripts).to.deep.equal({test: 'manage test', build: 'tsc'})
    expect(init.stdout).to.include('+ package.json: a "test" script (manage test').and.include('npx manage test')
    const none = make({'package.json': '{"name": "js-app"}'})
    await callCommand(['init'], {project: none, env: {NO_COLOR: '1'}})
    expect(pkg(none).scripts).to.deep.equal({test: 'manage test'})
    const own = make({'package.json': '{"name": "own-app", "scripts": {"test": "mocha"}}'})
    await callCommand(['init'], {project: own, env: {NO_COLOR: '1'}})
    expect(pkg(own).scripts).to.deep.equal({test: 'mocha'})
  })

  it('check (and every command that loads the settings) names the path it expected and the one the build has, with the fix', async () => {
    const dir = make({
      'package.json': JSON.stringify({name: 'moved-app', manage: {sourceDir: 'src', buildDir: 'dist', settings: 'manage/settings'}}),
      'dist/src/manage/settings.js': 'module.exports = {crons: []}\n',
    })
    const env = {NO_COLOR: '1', DATABASE_URL: `sqlite://${path.join(dir, 'db.sqlite3')}`}
    const check = await callCommand(['check'], {project: dir, env})
    expect(check.exitCode).to.equal(1)
    const about = await callCommand(['about'], {project: dir, env})
    expect(about).to.deep.include({exitCode: 1, stdout: ''})
    expect(about.stderr).to.match(/^error: the compiled settings are expected at dist\/manage\/settings\.js .*, but dist\/src\/manage\/settings\.js exists: .*\n$/)
    expect(check.stderr + check.stdout).to.include(
      `the compiled settings are expected at dist/manage/settings.js ("sourceDir" src built to "buildDir" dist), but dist/src/manage/settings.js exists: tsc compiles from another folder (tsconfig.json without "rootDir"?); set "rootDir": "src" in tsconfig.json's compilerOptions and run \`npm run build\`, or set "sourceDir"/"buildDir" in package.json's "manage" section`,
    )
  })
})

describe('in an app: about and --help name the app', () => {
  let dir: string
  before(() => {
    dir = app({
      'package.json': JSON.stringify({name: 'my-app', version: '3.1.4', manage: {sourceDir: 'src', buildDir: 'build', settings: 'manage/settings'}}),
      'build/manage/settings.js': 'module.exports = {crons: []}\n',
    })
  })
  after(() => fs.rmSync(dir, {recursive: true, force: true}))
  const env = () => ({NO_COLOR: '1', DATABASE_URL: `sqlite://${path.join(dir, 'db.sqlite3')}`})

  it("about names the app (its package.json), then the manage-cli it runs on", async () => {
    const about = await callCommand(['about'], {project: dir, env: env()})
    expect(about.exitCode, about.stderr).to.equal(0)
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string}
    expect(about.stdout.split('\n').slice(0, 2)).to.deep.equal(['  Application  my-app 3.1.4', `  Manage       manage-cli ${pkg.version}`])
  })

  it("--help gives the app's settings file as --settings' default, not this repository's", async () => {
    const help = await callCommand(['check', '--help'], {cwd: dir, env: env()})
    const text = help.stdout.replace(/\s+/g, ' ')
    expect(text).to.include('[default: build/manage/settings.js; env: MANAGE_SETTINGS]').and.not.include('dist/src/settings.js;')
    // This repository's own help still names its own.
    expect((await callCommand(['check', '--help'], {cwd: ROOT, env: {NO_COLOR: '1'}})).stdout.replace(/\s+/g, ' ')).to.include('[default: dist/src/settings.js; env: MANAGE_SETTINGS]')
  })
})
