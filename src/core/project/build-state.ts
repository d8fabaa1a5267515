import {existsSync, readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import type {ProjectLayout} from './layout'

const SOURCE = /\.(ts|mts|cts)$/
const DECLARATION = /\.d\.(ts|mts|cts)$/
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
      if (builtTime === null ? isPart(file.replace(SOURCE, '')) : builtTime < statSync(file).mtimeMs) {
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
