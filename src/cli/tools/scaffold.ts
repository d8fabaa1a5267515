import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {CommandError, UsageError} from '../../core/base/errors'
import {codeProblem, MAX_CODE_LENGTH} from '../../core/jobs/load-jobs'
import {readLayout, type ProjectLayout} from '../../core/project/layout'
import {PACKAGE_NAME} from '../../core/project/package-name'

/** A NAME split into words, and the spellings the generated files use. */
export interface Names {
  /** FetchNews */
  pascal: string
  /** fetch-news (file names, command ids) */
  kebab: string
  /** fetch_news (cron codes) */
  snake: string
}

/** An identifier, or words joined by hyphens (seed-sessions: the command id that seed_sessions makes). */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*$/

/** Split 'fetchNews', 'FetchNews', 'fetch_news', 'fetch-news', 'HTTPPoller' or 's3Sync' into words. */
export function namesOf(name: string, what: string, suffix = ''): Names {
  if (!IDENTIFIER.test(name) || !/[A-Za-z]/.test(name)) {
    throw new UsageError(`${what} '${name}' is not an identifier: use letters, digits, underscores and single hyphens, starting with a letter (e.g. FetchNews, fetch_news or fetch-news)`)
  }
  const base = suffix && name.endsWith(suffix) && name.length > suffix.length ? name.slice(0, -suffix.length) : name
  const words = base.match(/[A-Z]+(?![a-z])\d*|[A-Z]?[a-z]+\d*|\d+/g) ?? []
  if (words.length === 0) throw new UsageError(`${what} '${name}' has no letters to name a file after: use e.g. FetchNews`)
  return {
    pascal: words.map((word) => word[0].toUpperCase() + word.slice(1)).join(''),
    kebab: words.map((word) => word.toLowerCase()).join('-'),
    snake: words.map((word) => word.toLowerCase()).join('_'),
  }
}

export interface GeneratedFile {
  /** Relative to the project folder. */
  path: string
  content: string
}

export interface ScaffoldReport {
  /** The project folder written into. */
  dir: string
  created: string[]
  className: string
  /** For startcron: the job's code. */
  code?: string
  /** For startcommand: the command's id. */
  commandId?: string
  /** For startcron: whether the settings were edited; when not, `manualStep` says what to add. */
  registered?: boolean
  settingsFile?: string
  manualStep?: string
  /** The project compiles its sources (TypeScript) before they run. */
  needsBuild: boolean
}

/** How generated files are written in this project: its language, module type and folders. */
export interface Target {
  layout: ProjectLayout
  /** The file extension of a source module: .ts, or .js in a JavaScript project. */
  extension: string
}

export function targetOf(layout: ProjectLayout): Target {
  return {layout, extension: layout.language === 'typescript' ? '.ts' : '.js'}
}

/**
 * How a module in `fromDir` imports `entry` of the framework ('' or '/testing', '/command'): by
 * the package's name in an app; relatively to src/ in this repository, which is the package.
 */
function frameworkImport(target: Target, fromDir: string, entry = ''): string {
  const {layout} = target
  if (layout.name !== PACKAGE_NAME) return `${PACKAGE_NAME}${entry}`
  const module = path.join(layout.source.dir, 'src', entry === '' ? 'index' : entry.slice(1))
  return relativeImport(target, fromDir, module)
}

/** A relative specifier; ES modules name the compiled file (.js), as Node resolves them. */
function relativeImport(target: Target, fromDir: string, module: string): string {
  const relative = path.relative(fromDir, module).split(path.sep).join('/')
  const specifier = relative.startsWith('.') ? relative : `./${relative}`
  return target.layout.moduleType === 'module' ? `${specifier}.js` : specifier
}

/** A file under the project folder, by its absolute path. */
function file(target: Target, absolute: string, content: string): GeneratedFile {
  return {path: path.relative(target.layout.root, absolute), content}
}

const typed = (target: Target, ts: string, js = '') => (target.extension === '.ts' ? ts : js)

export function cronFiles(target: Target, names: Names): {className: string; code: string; files: GeneratedFile[]} {
  const className = `${names.pascal}CronJob`
  const code = `app.${names.snake}`
  const dir = target.layout.source.crons
  const esm = target.layout.moduleType === 'module' || target.extension === '.ts'
  const imports = esm
    ? `import {CronJobBase${typed(target, ', type CronContext')}} from '${frameworkImport(target, dir)}'`
    : `const {CronJobBase} = require('${frameworkImport(target, dir)}')`
  const job = `${imports}

/** TODO: say what this job does and why it runs every 5 minutes. */
${esm ? 'export ' : ''}class ${className} extends CronJobBase {
  // Unique and stable: the run log is keyed by it.
  code = '${code}'
  runEveryMins = 5
  // The crontab's tick starts a little early or late each minute; without slack, every 5 minutes drifts to every 6.
  runToleranceSeconds = 10

  // What do() returns is the run's message: a string, or an object (stored as JSON).
  async do(ctx${typed(target, ': CronContext')}) {
    ctx.logger.info(\`${code} running at \${ctx.now.toISO()}\`)
    return '${code}: done'
  }
}
${esm ? '' : `\nmodule.exports = {${className}}\n`}`
  const testImports = esm
    ? `import assert from 'node:assert/strict'
import {test} from 'node:test'
import {runJob} from '${frameworkImport(target, dir, '/testing')}'
import {${className}} from '${relativeImport(target, dir, path.join(dir, names.kebab))}'`
    : `const assert = require('node:assert/strict')
const {test} = require('node:test')
const {runJob} = require('${frameworkImport(target, dir, '/testing')}')
const {${className}} = require('./${names.kebab}')`
  const test = `${testImports}

// Run with node --test on the compiled file: runJob decides and runs the job at a pinned time, over a run log in memory.
test('${className} runs when it is due and says what it did', async () => {
  const result = await runJob(${className}, {at: '2026-11-23T12:00:00Z'})
  assert.equal(result.status, 'succeeded')
  assert.equal(result.message, '${code}: done')
  assert.deepEqual(result.logged, ['info: ${code} running at 2026-11-23T12:00:00.000Z'])
})

test('${className} waits 5 minutes after a success', async () => {
  const result = await runJob(${className}, {at: '2026-11-23T12:04:00Z', history: [{status: 'succeeded', at: '2026-11-23T12:00:00Z'}]})
  assert.equal(result.ran, false)
  assert.equal(result.status, 'not-due')
})
`
  return {
    className,
    code,
    files: [file(target, path.join(dir, `${names.kebab}${target.extension}`), job), file(target, path.join(dir, `${names.kebab}.test${target.extension}`), test)],
  }
}

export function commandFiles(target: Target, names: Names): {className: string; commandId: string; files: GeneratedFile[]} {
  const className = names.pascal
  const id = names.kebab
  const dir = target.layout.source.commands
  const esm = target.layout.moduleType === 'module' || target.extension === '.ts'
  const from = frameworkImport(target, dir, '/command')
  const imports = esm ? `import {BaseCommand, Flags} from '${from}'` : `const {BaseCommand, Flags} = require('${from}')`
  const command = `${imports}

/** TODO: say what \`manage ${id}\` is for. */
${esm ? 'export default ' : ''}class ${className} extends BaseCommand${typed(target, `<typeof ${className}>`)} {
  static summary = 'TODO: one line saying what ${id} does.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --name world']

  static flags = {
    name: Flags.string({description: 'Who to greet.', default: 'world'}),
  }

  async run()${typed(target, ': Promise<void>')} {
    // Keep commands thin: parse the flags, call one function, print its result.
    const settings = await this.project.settings()
    this.log(\`${id}: hello \${this.flags.name} from \${String(settings.values.appName ?? 'this project')}\`)
  }
}
${esm ? '' : `\nmodule.exports = ${className}\n`}`
  const testImports = esm
    ? `import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import path from 'node:path'
import {test} from 'node:test'`
    : `const assert = require('node:assert/strict')
const {spawnSync} = require('node:child_process')
const path = require('node:path')
const {test} = require('node:test')`
  const bin = target.layout.name === PACKAGE_NAME ? 'bin/manage' : `node_modules/${PACKAGE_NAME}/bin/manage`
  const test = `${testImports}

// Run with node --test from the project folder, after the build: it runs \`manage ${id}\` as a user would.
test('manage ${id} greets the name given', () => {
  const result = spawnSync(process.execPath, [path.join(process.cwd(), '${bin}'), '${id}', '--name', 'tests'], {encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}})
  assert.equal(result.stderr, '')
  assert.match(result.stdout, /^${id}: hello tests from /)
  assert.equal(result.status, 0)
})
`
  return {
    className,
    commandId: id,
    files: [file(target, path.join(dir, `${id}${target.extension}`), command), file(target, path.join(dir, `${id}.test${target.extension}`), test)],
  }
}

/**
 * The settings source with `className` imported and appended to its `crons: [...]` list, or null
 * when there is no single recognisable `crons: [` list to edit.
 */
export function registerCron(source: string, className: string, importPath: string): string | null {
  const lists = [...source.matchAll(/\bcrons\s*:\s*\[([^\[\]]*)\]/g)]
  if (lists.length !== 1) return null
  const list = lists[0]
  const inner = list[1]
  if (new RegExp(`\\b${className}\\b`).test(inner)) return null

  const body = inner.replace(/\s+$/, '')
  const tail = inner.slice(body.length)
  let next: string
  if (body.trim() === '') next = className
  else if (inner.includes('\n')) {
    // One class per line: follow the last line's indentation and trailing-comma style.
    const indent = /\n([ \t]*)[^\n]*$/.exec(body)?.[1] ?? '  '
    const trailingComma = body.endsWith(',')
    next = `${trailingComma ? body : `${body},`}\n${indent}${className}${trailingComma ? ',' : ''}${tail}`
  } else next = `${body.replace(/,\s*$/, '')}, ${className}${tail}`
  const start = list.index! + list[0].indexOf('[') + 1
  const edited = source.slice(0, start) + next + source.slice(start + inner.length)

  // A CommonJS module (require, no import) gets a require; an ES module or TypeScript an import.
  const commonJs = !/^import\b/m.test(source) && /\brequire\(/.test(source)
  const semicolon = (commonJs ? /^const .*require\(.*;\s*$/m : /^import .*;\s*$/m).test(source) ? ';' : ''
  const statement = commonJs ? `const {${className}} = require('${importPath}')${semicolon}` : `import {${className}} from '${importPath}'${semicolon}`
  const lines = edited.split('\n')
  let lastImport = -1
  let inImport = false
  for (let i = 0; i < lines.length; i++) {
    if (commonJs && /^(const|let|var)\b.*=\s*require\(/.test(lines[i])) lastImport = i
    if (/^import\b/.test(lines[i])) inImport = true
    if (inImport && (/\bfrom\s+['"][^'"]+['"];?\s*$/.test(lines[i]) || /^import\s+['"]/.test(lines[i]))) {
      lastImport = i
      inImport = false
    }
  }
  lines.splice(lastImport + 1, 0, statement)
  return lines.join('\n')
}

/** The longest file name most file systems take, in bytes. */
const MAX_NAME_BYTES = 255

/** Refuse before writing anything when a name is too long or a target exists, then write every file (never overwriting). */
function writeAll(dir: string, files: GeneratedFile[]): string[] {
  const long = files.find((file) => Buffer.byteLength(path.basename(file.path)) > MAX_NAME_BYTES)
  if (long) {
    throw new UsageError(`NAME is too long: it would make the file name ${path.basename(long.path).slice(0, 40)}… of ${Buffer.byteLength(path.basename(long.path))} bytes, more than the ${MAX_NAME_BYTES} a file system takes: use a shorter NAME (nothing was written)`)
  }
  const existing = files.filter((file) => existsSync(path.join(dir, file.path)))
  if (existing.length > 0) {
    throw new CommandError(`${existing.map((file) => path.join(dir, file.path)).join(' and ')} ${existing.length === 1 ? 'already exists: choose another NAME or delete it first' : 'already exist: choose another NAME or delete them first'} (nothing was written)`)
  }
  for (const file of files) {
    const target = path.join(dir, file.path)
    mkdirSync(path.dirname(target), {recursive: true})
    writeFileSync(target, file.content, {flag: 'wx'})
  }
  return files.map((file) => file.path)
}

/** The project a generator writes into: --dir when given (a folder with package.json), else this command's. */
export function scaffoldTarget(dirOption: string | undefined, project: () => ProjectLayout): Target {
  if (dirOption === undefined) return targetOf(project())
  const absolute = path.resolve(dirOption)
  if (!existsSync(path.join(absolute, 'package.json'))) {
    throw new UsageError(`--dir ${absolute} is not a project folder (it has no package.json): point --dir at the folder with package.json`)
  }
  return targetOf(readLayout(absolute))
}

/** A job whose code the loader would refuse fails every tick: refused here, before anything is written. */
function refuseCode(code: string): void {
  const problem = codeProblem(code)
  if (problem === undefined) return
  if (code.length > MAX_CODE_LENGTH) {
    throw new UsageError(
      `NAME is too long for a job's code: it gives the code '${code.slice(0, 40)}…' of ${code.length} characters, more than the ${MAX_CODE_LENGTH} a code may have: ` +
        `shorten NAME by at least ${code.length - MAX_CODE_LENGTH} character${code.length - MAX_CODE_LENGTH === 1 ? '' : 's'} (nothing was written)`,
    )
  }
  throw new UsageError(`NAME gives the job a ${problem} (nothing was written)`)
}

/** `manage startcron NAME`: the job and its test in the crons folder, and the job listed in the settings' crons. */
export function startCron(target: Target, name: string): ScaffoldReport {
  const names = namesOf(name, 'NAME', 'CronJob')
  const {layout} = target
  const {className, code, files} = cronFiles(target, names)
  refuseCode(code)
  const settingsFile = layout.source.settings + target.extension
  const importPath = relativeImport(target, path.dirname(settingsFile), path.join(layout.source.crons, names.kebab))
  const edited = existsSync(settingsFile) ? registerCron(readFileSync(settingsFile, 'utf8'), className, importPath) : null

  const created = writeAll(layout.root, files)
  if (edited !== null) writeFileSync(settingsFile, edited)
  const shownSettings = path.relative(layout.root, settingsFile)
  return {
    dir: layout.root,
    created,
    className,
    code,
    needsBuild: target.extension === '.ts',
    registered: edited !== null,
    settingsFile: shownSettings,
    manualStep: edited === null ? `import {${className}} from '${importPath}' in ${shownSettings} and add ${className} to its crons: [...]` : undefined,
  }
}

/** `manage startcommand NAME`: the command and its test in the commands folder. */
/** `builtIns`: the command ids (and topics) of manage itself, which an app's command can never take. */
export function startCommand(target: Target, name: string, builtIns: ReadonlySet<string> = new Set()): ScaffoldReport {
  const names = namesOf(name, 'NAME', 'Command')
  const {className, commandId, files} = commandFiles(target, names)
  if (builtIns.has(commandId)) {
    throw new UsageError(`NAME '${name}' would make \`manage ${commandId}\`, a built-in command's name, which an app's command never gets: choose another (e.g. app-${commandId})`)
  }
  return {dir: target.layout.root, created: writeAll(target.layout.root, files), className, commandId, needsBuild: target.extension === '.ts'}
}
