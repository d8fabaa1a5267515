import {existsSync} from 'node:fs'
import path from 'node:path'
import {cacheAs} from './require-cache'

/**
 * require('pg') without what its load costs a tick that never needs it, on Node 20:
 * - pg asks whether it runs in a Cloudflare Worker by reading `navigator.userAgent`; Node < 21 has
 *   no navigator, so pg builds a `new Response()` instead, and that loads undici, half of pg's load
 *   time on every PostgreSQL tick. Node ≥ 21 defines navigator itself; for the time of the require,
 *   pg gets the same answer. The probe runs once, when pg is first loaded, so knex's own
 *   require('pg') afterwards finds it in the cache.
 * - pg's lib/crypto/utils.js loads node:crypto (about a quarter of pg's load time) for the
 *   password exchanges (md5, SCRAM) alone: a server that trusts the connection, or one already
 *   authenticated, never uses it. Its place in the require cache is taken by a stand-in that loads
 *   the real module on its first use, and hands every use on to it.
 */
export function requirePg(): typeof import('pg') {
  const global = globalThis as {navigator?: unknown}
  if (global.navigator !== undefined) return load()
  global.navigator = {userAgent: `Node.js/${process.versions.node.split('.')[0]}`}
  try {
    return load()
  } finally {
    delete global.navigator
  }
}

const load = () => {
  deferCrypto()
  return require('pg') as typeof import('pg')
}

let deferred = false

/** pg's crypto helpers loaded on first use (see requirePg); anywhere else than where pg 8 keeps them, nothing is done. */
function deferCrypto(): void {
  if (deferred) return
  deferred = true
  try {
    const file = path.join(path.dirname(require.resolve('pg')), 'crypto', 'utils.js')
    if (require.cache[file] !== undefined || !existsSync(file)) return
    const real = (): Record<string | symbol, unknown> => {
      if (require.cache[file] === standIn) delete require.cache[file]
      return require(file) as Record<string | symbol, unknown>
    }
    const standIn = cacheAs(file, new Proxy({}, {get: (_target, name) => real()[name], has: (_target, name) => name in real(), ownKeys: () => Reflect.ownKeys(real()), getOwnPropertyDescriptor: (_target, name) => ({...Reflect.getOwnPropertyDescriptor(real(), name), configurable: true})}))
  } catch {
    // pg's own require below loads it as it is
  }
}
