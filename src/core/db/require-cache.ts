import Module from 'node:module'

/**
 * `exports` put in the require cache as the module at `file`: a later require(file), the package's
 * own included, gets them without reading the file. How the drivers load lighter
 * (sqlite3-module.ts, pg-driver.ts).
 */
export function cacheAs(file: string, exports: unknown): Module {
  const module = new Module(file)
  module.filename = file
  module.exports = exports
  module.loaded = true
  require.cache[file] = module
  return module
}
