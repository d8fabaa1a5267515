import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import path from 'node:path'

/** Where a project's cron classes are: compiled (the settings' cronsDir) and, in a TypeScript project, their sources. */
export interface CronFolders {
  cronsDir: string
  /** The sources cronsDir is built from; null when there is no build step or cronsDir is the settings' own. */
  sourceDir?: string | null
}

const TEST_FILE = /\.(test|spec)\.[cm]?[jt]s$/

/** The modules of a folder and its subfolders whose names `pattern` matches, tests left out. */
function modules(dir: string, pattern: RegExp): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, {withFileTypes: true, recursive: true})
    .filter((entry) => entry.isFile() && pattern.test(entry.name) && !TEST_FILE.test(entry.name) && !/\.d\.[cm]?ts$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath ?? (entry as unknown as {path: string}).path, entry.name))
}

/** The compiled modules of a folder and its subfolders, tests left out. */
export function compiledModules(dir: string): string[] {
  return modules(dir, /\.[cm]?js$/)
}

/** The first module that declares `class NAME`, or null. */
function declaring(files: readonly string[], name: string): string | null {
  const declaration = new RegExp(`\\bclass\\s+${name}\\b`)
  return files.find((file) => declaration.test(readFileSync(file, 'utf8'))) ?? null
}

function mtime(file: string): number | null {
  try {
    return statSync(file).mtimeMs
  } catch {
    return null
  }
}

/**
 * Why a class the crons folder declares is not a job `runcrons NAME` can find, with the fix: its
 * source is not built, or its module does not export it (or exports it without do()). null when
 * no module there declares it (a mistyped name). Read only for a name not found: never on a tick.
 */
export function missingJobReason(name: string, folders: CronFolders): string | null {
  if (!/^[A-Za-z_$][\w$]*$/.test(name)) return null
  const source = folders.sourceDir ? declaring(modules(folders.sourceDir, /\.[cm]?ts$/), name) : null
  if (source) {
    const built = path.join(folders.cronsDir, path.relative(folders.sourceDir!, source)).replace(/\.(m|c)?ts$/, (_match, kind: string | undefined) => `.${kind ?? ''}js`)
    const builtTime = mtime(built)
    if (builtTime === null) return `${source} declares it, but is not built (no ${built}): run \`npm run build\``
    if (builtTime < statSync(source).mtimeMs) return `${source} declares it, but changed after ${built} was built: run \`npm run build\``
  }
  const compiled = declaring(compiledModules(folders.cronsDir), name)
  if (compiled === null) return null
  const text = readFileSync(compiled, 'utf8')
  const at = source ?? compiled
  if (new RegExp(`\\bexports\\.${name}\\b|\\bexport\\s+(default\\s+)?class\\s+${name}\\b|\\bexport\\s*\\{[^}]*\\b${name}\\b`).test(text)) {
    return `${at} exports it, but it is not a cron class (no do() method): extend CronJobBase and add \`async do(ctx) { … }\``
  }
  return `${at} declares it without \`export\`, so manage cannot see it: write \`export class ${name}\`${source ? ', then `npm run build`' : ''}`
}
