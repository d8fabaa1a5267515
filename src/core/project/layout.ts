import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {parseEnv} from 'node:util'
import {UsageError} from '../base/errors'

/**
 * The `manage` section of a project's package.json: where its parts are. Every entry is optional.
 * A part is named once, relative to both folders: its source is under sourceDir (`.ts`, or `.js`
 * in a JavaScript project) and its compiled module under buildDir (`.js`), as tsc's rootDir and
 * outDir place it. A JavaScript project without a build gives the same folder for both.
 */
export interface LayoutSection {
  /** Where the sources are compiled from (tsconfig's rootDir). */
  sourceDir?: string
  /** Where the build writes them (tsconfig's outDir). */
  buildDir?: string
  /** The settings module, without its extension. */
  settings?: string
  /** The knexfile (the database per environment), without its extension. */
  knexfile?: string
  /** The folder of the project's cron classes (`runcrons NAME` looks there for classes not in the settings). */
  crons?: string
  /** The folder of the project's own commands. */
  commands?: string
  /** The folder of the project's own migrations. */
  migrations?: string
}

/** The layout of a project without a `manage` section: this repository's own (tsc's rootDir is the project folder). */
export const DEFAULT_LAYOUT: Required<LayoutSection> = {
  sourceDir: '.',
  buildDir: 'dist',
  settings: 'src/settings',
  knexfile: 'knexfile',
  crons: 'src/crons',
  commands: 'src/commands',
  migrations: 'migrations',
}

type Part = 'settings' | 'knexfile' | 'crons' | 'commands' | 'migrations'
const PARTS: readonly Part[] = ['settings', 'knexfile', 'crons', 'commands', 'migrations']

export interface ProjectLayout {
  root: string
  /** The project's package name (from package.json), if it has one. */
  name?: string
  /** How the project's compiled modules are loaded: package.json's "type". */
  moduleType: 'commonjs' | 'module'
  /** TypeScript sources (a tsconfig.json, or typescript among the dependencies) or plain JavaScript. */
  language: 'typescript' | 'javascript'
  /** The section as it applies (the package.json's entries over the defaults), as written. */
  section: Required<LayoutSection>
  /** Absolute source paths; module paths without their extension. */
  source: Record<Part, string> & {dir: string}
  /** Absolute compiled paths; modules with their `.js`. */
  build: Record<Part, string> & {dir: string}
}

interface PackageJson {
  name?: string
  version?: unknown
  type?: string
  manage?: unknown
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
}

export function readPackageJson(root: string): PackageJson {
  const file = path.join(root, 'package.json')
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PackageJson
  } catch (error) {
    throw new UsageError(`${file} cannot be read as JSON (${(error as Error).message.split('\n')[0]}): fix it, or pass --project DIR`)
  }
}

/** The project's layout: its package.json's `manage` section over the defaults. */
export function readLayout(root: string, pkg: PackageJson = readPackageJson(root)): ProjectLayout {
  const file = path.join(root, 'package.json')
  const written = pkg.manage ?? {}
  if (typeof written !== 'object' || written === null || Array.isArray(written)) {
    throw new UsageError(`the "manage" section of ${file} is not an object: use e.g. "manage": {"sourceDir": "src", "buildDir": "dist"}`)
  }
  const section = {...DEFAULT_LAYOUT}
  for (const [key, value] of Object.entries(written)) {
    if (!(key in DEFAULT_LAYOUT)) {
      throw new UsageError(`the "manage" section of ${file} has an unknown entry "${key}": the entries are ${Object.keys(DEFAULT_LAYOUT).join(', ')}`)
    }
    if (typeof value !== 'string' || value === '' || path.isAbsolute(value)) {
      throw new UsageError(`"manage": {"${key}": ${JSON.stringify(value)}} in ${file} is not a path relative to the project folder: use e.g. "${key}": "${DEFAULT_LAYOUT[key as keyof LayoutSection]}"`)
    }
    section[key as keyof LayoutSection] = value
  }
  const sourceDir = path.resolve(root, section.sourceDir)
  const buildDir = path.resolve(root, section.buildDir)
  const source = {dir: sourceDir} as ProjectLayout['source']
  const build = {dir: buildDir} as ProjectLayout['build']
  for (const part of PARTS) {
    source[part] = path.join(sourceDir, section[part])
    build[part] = path.join(buildDir, section[part]) + (part === 'settings' || part === 'knexfile' ? '.js' : '')
  }
  const typescript = existsSync(path.join(root, 'tsconfig.json')) || Boolean(pkg.devDependencies?.typescript ?? pkg.dependencies?.typescript)
  return {root, name: pkg.name, moduleType: pkg.type === 'module' ? 'module' : 'commonjs', language: typescript ? 'typescript' : 'javascript', section, source, build}
}

/**
 * The project `manage` works on: `explicit` (--project, MANAGE_PROJECT) when given, else the nearest
 * folder at or above `cwd` with a package.json, never one inside node_modules (an installed
 * package's own folder is not the app).
 */
export function findProjectRoot(cwd: string, explicit?: string): string {
  if (explicit) {
    const root = path.resolve(cwd, explicit)
    if (!existsSync(path.join(root, 'package.json'))) {
      throw new UsageError(`the project folder ${root} (--project or MANAGE_PROJECT) has no package.json: point it at your app's folder, the one with package.json`)
    }
    return root
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (!dir.split(path.sep).includes('node_modules') && existsSync(path.join(dir, 'package.json'))) return dir
    if (path.dirname(dir) === dir) break
  }
  throw new UsageError(`no package.json at or above ${path.resolve(cwd)}: run manage in your app's folder, or pass --project DIR (or set MANAGE_PROJECT)`)
}

/**
 * The project's .env read into `env`, without overriding what is set already (so a crontab line
 * needs no secrets and cron's bare environment gets the same settings as a shell). Absent: nothing.
 */
export function loadDotEnv(root: string, env: NodeJS.ProcessEnv): void {
  const file = path.join(root, '.env')
  // Most projects have none: a stat is cheaper than a read that throws.
  if (!existsSync(file)) return
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return
  }
  for (const [key, value] of Object.entries(parseEnv(text))) {
    if (env[key] === undefined) env[key] = value
  }
}

/** Find the project (see findProjectRoot) and read its .env into `env`: every command starts here. */
export function locateProject(cwd: string, env: NodeJS.ProcessEnv, explicit?: string): string {
  const root = findProjectRoot(cwd, explicit ?? (env.MANAGE_PROJECT || undefined))
  loadDotEnv(root, env)
  return root
}
