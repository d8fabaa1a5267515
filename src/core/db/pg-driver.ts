/**
 * require('pg') without the cost of its runtime probe on Node 20. pg asks whether it runs in a
 * Cloudflare Worker by reading `navigator.userAgent`; Node < 21 has no navigator, so pg builds a
 * `new Response()` instead, and that loads undici, half of pg's load time on every PostgreSQL
 * tick. Node ≥ 21 defines navigator itself; for the time of the require,
 * give pg the same answer. The probe runs once, when pg is first loaded, so knex's own
 * require('pg') afterwards finds it in the cache.
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

const load = () => require('pg') as typeof import('pg')
