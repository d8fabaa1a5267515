import {existsSync} from 'node:fs'
import path from 'node:path'
import {cacheAs} from './require-cache'

let loaded = false

/**
 * The sqlite3 package, without its search for the addon. Its lib/sqlite3-binding.js asks the
 * `bindings` package for node_sqlite3.node, which loads itself and tries candidate paths one by
 * one: a few milliseconds at every start of the per-minute tick. sqlite3's build (node-gyp, or a
 * prebuilt binary) puts the addon in build/Release, so this loads it from there and hands it to
 * sqlite3 as that module (the require cache's entry): sqlite3, and knex's client after it, find it
 * loaded. Another layout (a future version, a patched install): plain require('sqlite3'), as before.
 */
export function requireSqlite3(): typeof import('sqlite3') {
  if (!loaded) {
    loaded = true
    try {
      preloadAddon()
    } catch {
      // sqlite3's own way below says what is wrong, if anything is
    }
  }
  return require('sqlite3') as typeof import('sqlite3')
}

function preloadAddon(): void {
  const lib = path.dirname(require.resolve('sqlite3'))
  const bindingFile = path.join(lib, 'sqlite3-binding.js')
  const addon = path.join(lib, '..', 'build', 'Release', 'node_sqlite3.node')
  if (require.cache[bindingFile] !== undefined || !existsSync(bindingFile) || !existsSync(addon)) return
  cacheAs(bindingFile, require(addon) as unknown)
}
