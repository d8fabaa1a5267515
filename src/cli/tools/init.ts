import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {UsageError} from '../../core/base/errors'
import {readLayout, readPackageJson, type LayoutSection} from '../../core/project/layout'
import {PACKAGE_NAME} from '../../core/project/package-name'
import {cronFiles, namesOf, targetOf, type GeneratedFile} from './scaffold'
import {tscFolders} from './tsc-root'

export interface InitReport {
  root: string
  language: 'typescript' | 'javascript'
  moduleType: 'commonjs' | 'module'
  /** Files written, relative to the project folder. */
  created: string[]
  /** Files that were there already and were left as they were. */
  kept: string[]
  /** What was added to package.json and .gitignore, one line each. */
  edits: string[]
  /** What to do next, in order. */
  nextSteps: string[]
}

const NPM_INIT_TEST = 'echo "Error: no test specified" && exit 1'

/** The files init writes under src/ (tsc's inputs once written, so they count for its root). */
const PLANNED = ['src/manage/settings.ts', 'src/manage/knexfile.ts', 'src/crons/example.ts']

/**
 * Where `manage init` puts manage's parts in an app: under src/, compiled as tsc really compiles
 * them (its rootDir, else the common folder of its inputs: see tscFolders).
 */
function sectionFor(root: string, typescript: boolean): {section: Required<LayoutSection>; notes: string[]} {
  const notes: string[] = []
  let sourceDir = 'src'
  let buildDir = typescript ? 'dist' : 'src'
  if (typescript && existsSync(path.join(root, 'tsconfig.json'))) {
    const found = tscFolders(root, PLANNED)
    sourceDir = found.sourceDir
    buildDir = found.buildDir ?? buildDir
    if (found.note) notes.push(found.note)
  }
  const prefix = path.relative(sourceDir, 'src').split(path.sep).join('/')
  if (prefix.startsWith('..')) throw new UsageError(`tsc compiles this app from ${sourceDir}/, which does not hold src/: set "rootDir" in tsconfig.json, or write the "manage" section of package.json yourself (see the README)`)
  const under = prefix === '' ? '' : `${prefix}/`
  return {
    section: {sourceDir, buildDir, settings: `${under}manage/settings`, knexfile: `${under}manage/knexfile`, crons: `${under}crons`, commands: `${under}commands`, migrations: `${under}migrations`},
    notes,
  }
}

/**
 * `manage init`: manage's parts in an existing app. The "manage" section of package.json (where
 * the parts are), the settings module, a knexfile with a sqlite file in var/, an example job and its
 * test, the commands and migrations folders, a build script when a TypeScript app has none,
 * .gitignore lines for the sqlite file and var/, and a tsconfig.json when a TypeScript app has
 * none. It never overwrites a file: what exists is kept and reported.
 */
export function initProject(root: string): InitReport {
  const pkg = readPackageJson(root) as Record<string, unknown> & {scripts?: Record<string, string>; manage?: unknown}
  if (pkg.name === PACKAGE_NAME) throw new UsageError(`${root} is ${PACKAGE_NAME} itself: run manage init in your app's folder (or pass --project DIR)`)
  const edits: string[] = []
  const created: string[] = []
  const kept: string[] = []
  const write = (files: GeneratedFile[]) => {
    for (const file of files) {
      const target = path.join(root, file.path)
      if (existsSync(target)) {
        kept.push(file.path)
        continue
      }
      mkdirSync(path.dirname(target), {recursive: true})
      writeFileSync(target, file.content, {flag: 'wx'})
      created.push(file.path)
    }
  }

  const typescript = readLayout(root, pkg).language === 'typescript'
  const notes: string[] = []
  if (pkg.manage === undefined) {
    const {section, notes: found} = sectionFor(root, typescript)
    notes.push(...found)
    pkg.manage = section
    edits.push(`package.json: a "manage" section (sources in ${section.sourceDir}/, built to ${section.buildDir}/)`)
  }
  const scripts = (pkg.scripts ??= {})
  if (typescript && !scripts.build) {
    scripts.build = 'tsc'
    edits.push('package.json: a "build" script (tsc)')
  }
  // npm init's placeholder fails on purpose: it counts as no test script.
  if (!scripts.test || scripts.test === NPM_INIT_TEST) {
    scripts.test = 'manage test'
    edits.push('package.json: a "test" script (manage test: the jobs\' and commands\' tests against a throw-away run log)')
  }
  if (edits.length > 0) writeFileSync(path.join(root, 'package.json'), `${JSON.stringify(pkg, null, indentOf(readFileSync(path.join(root, 'package.json'), 'utf8')))}\n`)

  const layout = readLayout(root, pkg)
  const target = targetOf(layout)
  if (typescript && !existsSync(path.join(root, 'tsconfig.json'))) write([tsconfigFile(layout.section.sourceDir, layout.section.buildDir)])
  const example = cronFiles(target, namesOf('Example', 'NAME'))
  write(example.files)
  write([settingsFile(target, example.className, pkg.name), knexfileFile(target)])
  write([keep(layout.source.commands), keep(layout.source.migrations)].map((file) => ({...file, path: path.relative(root, file.path)})))
  edits.push(...gitignore(root))

  const dependencies = {...(pkg.dependencies as object | undefined), ...(pkg.devDependencies as object | undefined)}
  const missing = typescript ? ['typescript', '@types/node'].filter((name) => !(name in dependencies)) : []
  const build = [...(missing.length > 0 ? [`npm install --save-dev ${missing.join(' ')}`] : []), ...(typescript ? ['npm run build'] : [])]
  const exampleTest = path.relative(root, path.join(layout.build.crons, `example.test.js`))
  return {
    root,
    language: layout.language,
    moduleType: layout.moduleType,
    created,
    kept,
    edits,
    nextSteps: [
      ...notes,
      ...build,
      `npx manage migrate`,
      `npx manage runcrons ExampleCronJob --force   # try the example job`,
      `npx manage test   # the example job's test (${exampleTest}), on a throw-away run log`,
      `npx manage crontab --install   # every minute from now on`,
    ],
  }
}

function indentOf(json: string): string | number {
  return /^\{\n(\s+)"/.exec(json)?.[1] ?? 2
}

function keep(folder: string): GeneratedFile {
  return {path: path.join(folder, '.gitkeep'), content: ''}
}

/** The lines .gitignore needs (the sqlite files, var/), added when missing; returns what was added. */
function gitignore(root: string): string[] {
  const file = path.join(root, '.gitignore')
  const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const have = new Set(text.split('\n').map((line) => line.trim()))
  const missing = ['var/', '*.sqlite3', '*.sqlite3-*'].filter((line) => !have.has(line) && !have.has(`/${line}`))
  if (missing.length === 0) return []
  writeFileSync(file, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}# manage: the sqlite database, the spool and the cron log\n${missing.join('\n')}\n`)
  return [`.gitignore: ${missing.join(', ')}`]
}

function tsconfigFile(sourceDir: string, buildDir: string): GeneratedFile {
  const config = {
    compilerOptions: {
      target: 'ES2022',
      module: 'node16',
      moduleResolution: 'node16',
      rootDir: sourceDir,
      outDir: buildDir,
      strict: true,
      esModuleInterop: true,
      skipLibCheck: true,
    },
    include: [sourceDir],
  }
  return {path: 'tsconfig.json', content: `${JSON.stringify(config, null, 2)}\n`}
}

function settingsFile(target: ReturnType<typeof targetOf>, className: string, appName: unknown): GeneratedFile {
  const {layout, extension} = target
  const settings = layout.source.settings + extension
  const jobModule = path.relative(path.dirname(settings), path.join(layout.source.crons, 'example')).split(path.sep).join('/')
  const jobImport = `${jobModule.startsWith('.') ? jobModule : `./${jobModule}`}${layout.moduleType === 'module' ? '.js' : ''}`
  const body = `{
  // The cron classes runcrons considers, in this order (django-cron's CRON_CLASSES).
  crons: [${className}],
  // runAtTimes and the day filters are read in this zone; default: the system's, as cron uses.
  timeZone: process.env.MANAGE_TIME_ZONE || undefined,
  // A running job's claim lasts this long without renewal (it is renewed while the job runs).
  leaseSeconds: 300,
  // Delete run-log rows older than this many days at the end of every tick.
  deleteLogsOlderThanDays: 30,
  // The app's own settings, read by its jobs as ctx.settings.appName.
  appName: ${JSON.stringify(String(appName ?? path.basename(layout.root)))},
}`
  const esm = layout.moduleType === 'module' || extension === '.ts'
  const content = esm
    ? `import {defineSettings} from '${PACKAGE_NAME}'
import {${className}} from '${jobImport}'

/** manage's settings for this app (Django's settings.py): manage loads the compiled module. */
export default defineSettings(${body})
`
    : `const {defineSettings} = require('${PACKAGE_NAME}')
const {${className}} = require('${jobImport}')

/** manage's settings for this app (Django's settings.py). */
module.exports = defineSettings(${body})
`
  return {path: path.relative(layout.root, settings), content}
}

function knexfileFile(target: ReturnType<typeof targetOf>): GeneratedFile {
  const {layout, extension} = target
  const body = `{
  development: {client: 'sqlite3', connection: {filename: 'var/db.sqlite3'}, useNullAsDefault: true},
  test: {client: 'sqlite3', connection: {filename: 'var/test.sqlite3'}, useNullAsDefault: true},
  production: {client: 'sqlite3', connection: {filename: 'var/manage.sqlite3'}, useNullAsDefault: true},
}`
  const comment = `/**
 * The database per environment (MANAGE_ENV, then NODE_ENV, default 'development'); a sqlite
 * filename is relative to the app's folder. DATABASE_URL (in the environment or .env) overrides
 * it: postgres://…, mysql://… or sqlite:///absolute/path.sqlite3.
 */`
  const esm = layout.moduleType === 'module' || extension === '.ts'
  const content = esm
    ? `${extension === '.ts' ? `import type {Knex} from '${PACKAGE_NAME}'\n\n` : ''}${comment}
const config${extension === '.ts' ? ': Record<string, Knex.Config>' : ''} = ${body}

export default config
`
    : `${comment}
module.exports = ${body}
`
  return {path: path.relative(layout.root, layout.source.knexfile + extension), content}
}
