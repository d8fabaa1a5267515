/**
 * A module loaded on first use, then kept: for the parts of the per-minute path that only some
 * projects need (a policy, an H). scripts/bundle-entry.js gives each such module a file of its own,
 * so a tick that never calls the loader never reads or compiles it. Use it as
 * `lazily(() => require('./x') as typeof import('./x'))`: the literal require is what the bundler sees.
 */
export function lazily<T>(load: () => T): () => T {
  let loaded: T | undefined
  return () => (loaded ??= load())
}
