import {readFileSync} from 'node:fs'
import path from 'node:path'
import {UsageError} from '../../core/base/errors'

type TypeScript = typeof import('typescript')

/** Where tsc compiles an app from and to, as `init` finds it. */
export interface TscFolders {
  /** tsc's root: compilerOptions.rootDir, else the common folder of its input files; relative to the app. */
  sourceDir: string
  /** compilerOptions.outDir, relative to the app (undefined: none set). */
  buildDir?: string
  /** What the answer rests on, when it is a guess the user should confirm. */
  note?: string
}

/**
 * tsc's root for an app's tsconfig.json. With "rootDir" (or "composite", which makes it the
 * tsconfig's folder) it is that; without, tsc takes the longest common folder of its input files
 * (`include`/`files`, less `exclude`, the outDir, node_modules and .d.ts), so one script outside
 * src/ moves every output one folder down. `planned` are files init is about to write (they will
 * be inputs too). The app's own typescript reads the config (extends, globs) when it is installed;
 * else the include/files entries stand in for the files they match.
 */
export function tscFolders(root: string, planned: readonly string[]): TscFolders {
  const file = path.join(root, 'tsconfig.json')
  const ts = loadTypeScript(root)
  const relative = (dir: string) => path.relative(root, path.resolve(root, dir)) || '.'
  let options: {rootDir?: unknown; outDir?: unknown; composite?: unknown}
  let inputs: string[]
  let note: string | undefined
  if (ts) {
    const read = ts.readConfigFile(file, (name) => ts.sys.readFile(name))
    if (read.error) throw new UsageError(`${file} cannot be read (${ts.flattenDiagnosticMessageText(read.error.messageText, ' ')}): fix it, or write the "manage" section of package.json yourself (see the README)`)
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, file)
    options = parsed.options
    inputs = parsed.fileNames.filter((name) => !/\.d\.(m|c)?ts$/.test(name))
  } else {
    const config = readTsconfig(file)
    options = config.compilerOptions ?? {}
    const entries = [...(config.include ?? []), ...(config.files ?? [])].filter((entry): entry is string => typeof entry === 'string')
    // Without typescript: each entry's folder before its first wildcard, as if it held a file.
    inputs = entries.map((entry) => path.join(path.resolve(root, entry.split(/[*?]/)[0] || '.'), 'x.ts'))
    if (entries.length === 0) note = 'typescript is not installed and tsconfig.json names no "include": manage assumed tsc compiles from "src"; install typescript and check the "manage" section of package.json'
  }
  const buildDir = typeof options.outDir === 'string' ? relative(options.outDir) : undefined
  if (typeof options.rootDir === 'string') return {sourceDir: relative(options.rootDir), buildDir}
  if (options.composite === true) return {sourceDir: '.', buildDir}
  if (note) return {sourceDir: 'src', buildDir, note}
  const sourceDir = relative(commonFolder([...inputs, ...planned.map((name) => path.resolve(root, name))]))
  return {sourceDir, buildDir}
}

/** The longest common folder of files (tsc's computeCommonSourceDirectory). */
export function commonFolder(files: readonly string[]): string {
  let common: string[] | undefined
  for (const file of files) {
    const parts = path.dirname(path.resolve(file)).split(path.sep)
    if (common === undefined) {
      common = parts
      continue
    }
    let i = 0
    while (i < common.length && i < parts.length && common[i] === parts[i]) i++
    common = common.slice(0, i)
  }
  return common === undefined ? '.' : common.join(path.sep) || path.sep
}

/** The app's own typescript, or null when it has none (manage itself needs none at run time). */
function loadTypeScript(root: string): TypeScript | null {
  try {
    return require(require.resolve('typescript', {paths: [root]})) as TypeScript
  } catch {
    return null
  }
}

/** A tsconfig.json, which may hold comments and trailing commas, read without typescript. */
function readTsconfig(file: string): {compilerOptions?: Record<string, unknown>; include?: unknown[]; files?: unknown[]} {
  const text = readFileSync(file, 'utf8')
    .replace(/("(?:[^"\\]|\\.)*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (_match, string: string | undefined) => string ?? '')
    .replace(/,(\s*[}\]])/g, '$1')
  try {
    return JSON.parse(text) as {compilerOptions?: Record<string, unknown>}
  } catch (error) {
    throw new UsageError(`${file} cannot be read (${(error as Error).message}): fix it, or write the "manage" section of package.json yourself (see the README)`)
  }
}
