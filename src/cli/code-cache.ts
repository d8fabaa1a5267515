import {mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import Module from 'node:module'
import path from 'node:path'
import vm from 'node:vm'

/**
 * V8's code cache for bin/manage's bundles (dist/entry): each start of the per-minute tick parses
 * and compiles main.js (and direct-tick.js when something is due) again, a few ms of a tick that
 * takes tens. A bundle compiled with its cache skips most of that. The cache is made at the
 * process's exit, after the bundle ran, so it holds the functions that ran, not only the top level:
 * only by a process that `save`s (bin/manage's runcrons, so that the cache holds the tick's
 * functions, not those of whichever command ran first), when the bundle had none or V8 refused it
 * (another Node). Every process reads it.
 *
 * Kept in dist/.code-cache beside the bundles (never in a shared temporary folder: whoever can
 * write it could hand the tick code), named by the bundle, its size and modification time, and
 * V8's version: a rebuilt bundle never meets an old cache (V8 itself only checks the source's
 * length), and two Nodes sharing a checkout keep one each. Written to a temporary name and renamed,
 * so that processes starting together never read half a file. A folder that cannot be written
 * (a read-only install) only means no cache.
 */
export function useCodeCache(bundleDir: string, cacheDir: string, options: {save: boolean}): void {
  const extensions = (Module as unknown as {_extensions: Record<string, (module: Module, filename: string) => void>})._extensions
  const compileJs = extensions['.js']
  const made: CompiledBundle[] = []
  extensions['.js'] = function (module, filename) {
    if (path.dirname(filename) !== bundleDir) return compileJs.call(this, module, filename)
    const bundle = compileBundle(filename, cacheDir)
    bundle.run(module)
    if (!bundle.cacheUsed) made.push(bundle)
  }
  if (options.save) {
    process.on('exit', () => {
      for (const bundle of made) bundle.saveCache()
    })
  }
}

export interface CompiledBundle {
  /** Whether V8 took the cache it was given. */
  readonly cacheUsed: boolean
  /** Run it as the CommonJS module `module`. */
  run(module: Module): void
  /** Write the cache of what has been compiled of it so far (errors ignored: no cache next time). */
  saveCache(): void
}

/** A bundle compiled with its cache, if it has one for its present form. */
export function compileBundle(filename: string, cacheDir: string): CompiledBundle {
  const source = readFileSync(filename, 'utf8')
  const stat = statSync(filename)
  const build = `${path.basename(filename)}.${stat.size}-${Math.round(stat.mtimeMs * 1000)}-`
  const cacheFile = path.join(cacheDir, `${build}${process.versions.v8}.cache`)
  let cachedData: Buffer | undefined
  try {
    cachedData = readFileSync(cacheFile)
  } catch {
    cachedData = undefined
  }
  const script = new vm.Script(Module.wrap(source), {filename, cachedData})
  return {
    cacheUsed: cachedData !== undefined && !script.cachedDataRejected,
    run(module) {
      // What Node's own loader gives a module (its require, with resolve, cache and main).
      const moduleRequire = Object.assign((id: string) => module.require(id), {
        resolve: (request: string, options?: {paths?: string[]}) => (Module as unknown as {_resolveFilename: (...args: unknown[]) => string})._resolveFilename(request, module, false, options),
        cache: require.cache,
        main: require.main,
      })
      ;(script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, moduleRequire, module, filename, path.dirname(filename))
    },
    saveCache() {
      try {
        mkdirSync(cacheDir, {recursive: true})
        const temporary = `${cacheFile}.${process.pid}`
        writeFileSync(temporary, script.createCachedData())
        renameSync(temporary, cacheFile)
        // The caches of this bundle's earlier builds (another size or time), whatever their V8.
        for (const file of readdirSync(cacheDir)) {
          if (file.startsWith(`${path.basename(filename)}.`) && !file.startsWith(build)) rmSync(path.join(cacheDir, file), {force: true})
        }
      } catch {
        // No cache next time either.
      }
    },
  }
}
