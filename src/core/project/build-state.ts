import {existsSync, readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import type {ProjectLayout} from './layout'

const SOURCE = /\.(ts|mts|cts)$/
const DECLARATION = /\.d\.(ts|mts|cts)$/
const TEST = /\.(test|spec)\.(ts|mts|cts)$/
/** Enough to find a stale file in any app; a bigger tree is not walked further. */
const MAX_FILES = 5000

/** A source newer than its compiled module, or one of manage's parts not compiled at all. */
export interface StaleSource {
  /** Relative to the project folder. */
  source: string
  built: string
  missing: boolean
}

/**
 * The project's TypeScript sources whose compiled module is older than they are (an edit not
 * built yet: manage would run the old code), and the settings, crons, commands and migrations
 * sources not compiled at all. Nothing when sources and build are one folder (JavaScript).
 */
export function staleSources(layout: ProjectLayout, limit = 1): StaleSource[] {
  const {source, build} = layout
  if (path.resolve(source.dir) === path.resolve(build.dir) || !existsSync(build.dir)) return []
  const parts = [source.settings, source.knexfile, source.crons, source.commands, source.migrations]
  const isPart = (file: string) => parts.some((part) => file === part || file.startsWith(part + path.sep) || file.startsWith(`${part}.`))
  const found: StaleSource[] = []
  let seen = 0
  const walk = (dir: string) => {
    let entries
    try {
      entries = readdirSync(dir, {withFileTypes: true})
    } catch {
      return
    }
    for (const entry of entries) {
      if (found.length >= limit || seen >= MAX_FILES) return
      const file = path.join(dir, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && !entry.name.startsWith('.') && path.resolve(file) !== path.resolve(build.dir)) walk(file)
        continue
      }
      if (!entry.isFile() || !SOURCE.test(entry.name) || DECLARATION.test(entry.name)) continue
      seen++
      const built = path.join(build.dir, path.relative(source.dir, file)).replace(/\.(m|c)?ts$/, (_match, kind: string | undefined) => `.${kind ?? ''}js`)
      const builtTime = mtime(built)
      // A test not built is no part manage runs (and not the job beside it, which is named on its own).
      if (builtTime === null ? isPart(file.replace(SOURCE, '')) && !TEST.test(entry.name) : builtTime < statSync(file).mtimeMs) {
        found.push({source: path.relative(layout.root, file), built: path.relative(layout.root, built), missing: builtTime === null})
      }
    }
  }
  walk(source.dir)
  return found
}

function mtime(file: string): number | null {
  try {
    return statSync(file).mtimeMs
  } catch {
    return null
  }
}

/** The one line that says so, with the fix. */
export function staleBuildLine(stale: StaleSource): string {
  return stale.missing
    ? `${stale.source} is not built (no ${stale.built}): run \`npm run build\``
    : `the build is older than its sources (${stale.source} changed after ${stale.built} was built): run \`npm run build\``
}

/**
 * When the compiled settings are not where the layout expects them: the line that says where they
 * are instead (tsc compiled from another folder than sourceDir, e.g. a tsconfig without rootDir
 * whose inputs reach above src/), or null when the build holds no such file either.
 */
export function misplacedSettingsLine(layout: ProjectLayout, expected: string): string | null {
  if (existsSync(expected) || path.resolve(expected) !== path.resolve(layout.build.settings)) return null
  const tail = path.sep + path.normalize(layout.section.settings) + '.js'
  let found: string | null = null
  const walk = (dir: string, depth: number) => {
    let entries
    try {
      entries = readdirSync(dir, {withFileTypes: true})
    } catch {
      return
    }
    for (const entry of entries) {
      const file = path.join(dir, entry.name)
      if (found !== null) return
      if (entry.isDirectory() && depth < 4 && entry.name !== 'node_modules' && !entry.name.startsWith('.')) walk(file, depth + 1)
      else if (entry.isFile() && file.endsWith(tail)) found = file
    }
  }
  walk(layout.build.dir, 0)
  if (found === null) return null
  const relative = (file: string) => path.relative(layout.root, file)
  return `the compiled settings are expected at ${relative(expected)} ("sourceDir" ${layout.section.sourceDir} built to "buildDir" ${layout.section.buildDir}), but ${relative(found)} exists: tsc compiles from another folder (tsconfig.json without "rootDir"?); set "rootDir": "${layout.section.sourceDir}" in tsconfig.json's compilerOptions and run \`npm run build\`, or set "sourceDir"/"buildDir" in package.json's "manage" section`
}
