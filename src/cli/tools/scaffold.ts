import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {CommandError, UsageError} from '../../core/errors'

/** A NAME split into words, and the spellings the generated files use. */
export interface Names {
  /** FetchNews */
  pascal: string
  /** fetch-news (file names, command ids) */
  kebab: string
  /** fetch_news (cron codes) */
  snake: string
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Split 'fetchNews', 'FetchNews', 'fetch_news', 'HTTPPoller' or 's3Sync' into words. */
export function namesOf(name: string, what: string, suffix = ''): Names {
  if (!IDENTIFIER.test(name) || !/[A-Za-z]/.test(name)) {
    throw new UsageError(`${what} '${name}' is not an identifier: use letters, digits and underscores, starting with a letter (e.g. FetchNews or fetch_news)`)
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
}

/** Jobs import the framework from the project's own src/index.ts when there is one (this repo), else from the package. */
function frameworkImport(dir: string, fromFolder: string): string {
  const index = path.join(dir, 'src', 'index.ts')
  if (!existsSync(index)) return 'manage'
  const relative = path.relative(path.join(dir, fromFolder), path.join(dir, 'src', 'index')).split(path.sep).join('/')
  return relative.startsWith('.') ? relative : `./${relative}`
}

export function cronFiles(dir: string, names: Names): {className: string; code: string; files: GeneratedFile[]} {
  const className = `${names.pascal}CronJob`
  const code = `app.${names.snake}`
  const job = `import {CronJobBase, type CronContext} from '${frameworkImport(dir, 'src/crons')}'

/** TODO: say what this job does and why it runs every 5 minutes. */
export class ${className} extends CronJobBase {
  // Unique and stable: the run log is keyed by it.
  code = '${code}'
  runEveryMins = 5
  // The crontab's tick starts a little early or late each minute; without slack, every 5 minutes drifts to every 6.
  runToleranceSeconds = 10

  async do(ctx: CronContext): Promise<string> {
    ctx.logger.info(\`${code} running at \${ctx.now.toISO()}\`)
    // The returned value is the run's message in the run log.
    return '${code}: done'
  }
}
`
  const test = `import {expect} from 'chai'
import {DateTime} from 'luxon'
import type {CronContext} from '${frameworkImport(dir, 'test/crons')}'
import {${className}} from '../../src/crons/${names.kebab}'

/** A context with what do() reads; add fields as the job starts using them (db, settings, signal…). */
function context(logged: string[]): CronContext {
  const log = (message: string) => logged.push(message)
  return {
    code: '${code}',
    runId: 1,
    now: DateTime.fromISO('2026-11-23T12:00:00Z', {zone: 'UTC'}),
    slot: null,
    previousSuccess: null,
    forced: false,
    logger: {debug: log, info: log, warn: log, error: log},
    signal: new AbortController().signal,
    settings: {},
  } as Partial<CronContext> as CronContext
}

describe('${className}', () => {
  it('runs every 5 minutes under its code', () => {
    const job = new ${className}()
    expect(job.code).to.equal('${code}')
    expect(job.runEveryMins).to.equal(5)
    expect(job.runToleranceSeconds).to.equal(10)
  })

  it('do() returns the run message', async () => {
    const logged: string[] = []
    expect(await new ${className}().do(context(logged))).to.equal('${code}: done')
    expect(logged).to.deep.equal(['${code} running at 2026-11-23T12:00:00.000Z'])
  })
})
`
  return {
    className,
    code,
    files: [
      {path: `src/crons/${names.kebab}.ts`, content: job},
      {path: `test/crons/${names.kebab}.test.ts`, content: test},
    ],
  }
}

export function commandFiles(names: Names): {className: string; commandId: string; files: GeneratedFile[]} {
  const className = names.pascal
  const id = names.kebab
  const command = `import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command'

/** TODO: say what \`manage ${id}\` is for. */
export default class ${className} extends BaseCommand<typeof ${className}> {
  static summary = 'TODO: one line saying what ${id} does.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --name world']

  static flags = {
    name: Flags.string({description: 'Who to greet.', default: 'world'}),
  }

  async run(): Promise<void> {
    // Keep commands thin: parse the flags, call one function, print its result.
    const settings = await this.project.settings()
    this.log(\`${id}: hello \${this.flags.name} from \${String(settings.values.appName ?? 'this project')}\`)
  }
}
`
  const test = `import {spawnSync} from 'node:child_process'
import path from 'node:path'
import {expect} from 'chai'

/** Runs the compiled command (\`npm run build\` first, as \`npm test\` does). */
const ROOT = path.resolve(__dirname, '..', '..')

function manage(...args: string[]) {
  return spawnSync(process.execPath, [path.join(ROOT, 'bin', 'manage'), ...args], {cwd: ROOT, encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}})
}

describe('manage ${id}', function () {
  this.timeout(30_000)

  it('greets the name given', () => {
    const result = manage('${id}', '--name', 'tests')
    expect(result.stderr).to.equal('')
    expect(result.stdout).to.match(/^${id}: hello tests from /)
    expect(result.status).to.equal(0)
  })
})
`
  return {
    className,
    commandId: id,
    files: [
      {path: `src/commands/${id}.ts`, content: command},
      {path: `test/commands/${id}.test.ts`, content: test},
    ],
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

  const semicolon = /^import .*;\s*$/m.test(source) ? ';' : ''
  const statement = `import {${className}} from '${importPath}'${semicolon}`
  const lines = edited.split('\n')
  let lastImport = -1
  let inImport = false
  for (let i = 0; i < lines.length; i++) {
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

function checkDir(dir: string): string {
  const absolute = path.resolve(dir)
  if (!existsSync(path.join(absolute, 'package.json'))) {
    throw new UsageError(`--dir ${absolute} is not a project folder (it has no package.json): point --dir at the folder with package.json`)
  }
  return absolute
}

/** `manage startcron NAME`: the job, its test, and the job listed in src/settings.ts. */
export function startCron(dirOption: string, name: string): ScaffoldReport {
  const names = namesOf(name, 'NAME', 'CronJob')
  const dir = checkDir(dirOption)
  const {className, code, files} = cronFiles(dir, names)
  const settingsFile = path.join(dir, 'src', 'settings.ts')
  const importPath = `./crons/${names.kebab}`
  const edited = existsSync(settingsFile) ? registerCron(readFileSync(settingsFile, 'utf8'), className, importPath) : null

  const created = writeAll(dir, files)
  if (edited !== null) writeFileSync(settingsFile, edited)
  return {
    dir,
    created,
    className,
    code,
    registered: edited !== null,
    settingsFile: path.relative(dir, settingsFile),
    manualStep: edited === null ? `import {${className}} from '${importPath}' in src/settings.ts and add ${className} to its crons: [...]` : undefined,
  }
}

/** `manage startcommand NAME`: the command and its test. */
export function startCommand(dirOption: string, name: string): ScaffoldReport {
  const names = namesOf(name, 'NAME', 'Command')
  const dir = checkDir(dirOption)
  const {className, commandId, files} = commandFiles(names)
  return {dir, created: writeAll(dir, files), className, commandId}
}
