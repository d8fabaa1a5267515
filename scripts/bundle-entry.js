#!/usr/bin/env node
// The per-minute entry as two files (run by `npm run build`, after tsc). bin/manage loads
// dist/entry/main.js: the routing and the fast path, bundled with what they use; a tick with
// something to do loads dist/entry/direct-tick.js, the tick itself. Bundled, the path of every
// tick reads two files instead of some forty small modules, and each module costs a file read
// and a compile at every start; the modules stay as they are in src/ for reading, for the oclif
// commands and for the package's API. Packages (sqlite3, pg, luxon, knex, oclif…) are not
// bundled: they load from node_modules as before, and only where they are needed.
'use strict'
const path = require('node:path')
const esbuild = require('esbuild')

const ROOT = path.resolve(__dirname, '..')
const DIST = path.join(ROOT, 'dist')

/** main.js loads the direct tick from its own file, on the ticks that need it. */
const directTickApart = {
  name: 'direct-tick-apart',
  setup(build) {
    build.onResolve({filter: /\/runcrons\/direct-tick$/}, () => ({path: './direct-tick.js', external: true}))
  },
}

/**
 * Modules main.js loads only for a project that uses them (src/core/base/lazily.ts: a policy's
 * decisions and checks, H's hashing, the skips' statements): each is a file of its own beside it,
 * so a tick whose jobs use none never reads or compiles them. The other bundles inline them.
 */
const LAZY = {
  'ledger-verdict': 'core/schedule/ledger-verdict.js',
  'policy-options': 'core/jobs/policy-options.js',
  'hashed-cron': 'core/time/hashed-cron.js',
  'ledger-statements': 'core/run-log/ledger-statements.js',
}
const lazyApart = {
  name: 'lazy-apart',
  setup(build) {
    build.onResolve({filter: new RegExp(`/(${Object.keys(LAZY).join('|')})(\\.js)?$`)}, (args) => {
      if (args.kind === 'entry-point') return undefined
      return {path: `./${path.basename(args.path, '.js')}.js`, external: true}
    })
  },
}

// Source maps through tsc's to the TypeScript (for --traceback and DEBUG stacks; Node reads them only then, see
// bin/manage), without the sources' text: the maps stay small, and a stack needs only the file and line.
const common = {bundle: true, platform: 'node', format: 'cjs', target: 'node20', packages: 'external', logLevel: 'warning', legalComments: 'none', sourcemap: true, sourcesContent: false}

const MAIN = path.join(DIST, 'src', 'cli', 'main.js')

/**
 * main.js with a registry of the modules it holds (`shared(name)`: each one's exports, made on
 * first use), so that direct-tick.js, which main.js loads, takes those from it rather than holding and
 * compiling copies of its own (two thirds of it). The modules are the ones a first build of
 * main.js bundled (its metafile).
 */
async function buildMain() {
  const plugins = [directTickApart, lazyApart]
  const first = await esbuild.build({...common, entryPoints: [MAIN], write: false, metafile: true, sourcemap: false, plugins})
  const held = Object.keys(first.metafile.inputs).map((input) => path.resolve(input))
  // One function, compiled only when direct-tick.js first calls it: a no-op tick never does.
  const cases = held.map((file) => `    case ${JSON.stringify(sharedKey(file))}: return require(${JSON.stringify(file)})`).join('\n')
  const unknown = '    default: throw new Error(`main.js holds no module ${name}: build again (npm run build)`)'
  const contents = `module.exports = {...require(${JSON.stringify(MAIN)}), shared(name) {\n  switch (name) {\n${cases}\n${unknown}\n  }\n}}\n`
  await esbuild.build({...common, stdin: {contents, resolveDir: DIST, sourcefile: 'main-entry.js', loader: 'js'}, outfile: path.join(DIST, 'entry', 'main.js'), plugins})
  return new Set(held)
}

/** A module's name in main.js's registry: its path under dist/. */
function sharedKey(file) {
  return path.relative(DIST, file).split(path.sep).join('/')
}

/** direct-tick.js: a module main.js holds is taken from main.js's registry (main.js is loaded first: it loads this). */
function fromMain(held) {
  return {
    name: 'from-main',
    setup(build) {
      build.onResolve({filter: /^\.\.?\//}, (args) => {
        if (args.kind === 'entry-point' || args.namespace === 'from-main') return undefined
        const file = path.resolve(args.resolveDir, args.path.endsWith('.js') ? args.path : `${args.path}.js`)
        return held.has(file) ? {path: sharedKey(file), namespace: 'from-main'} : undefined
      })
      build.onResolve({filter: /^\.\/main\.js$/, namespace: 'from-main'}, () => ({path: './main.js', external: true}))
      build.onLoad({filter: /.*/, namespace: 'from-main'}, (args) => ({contents: `module.exports = require('./main.js').shared(${JSON.stringify(args.path)})`, loader: 'js', resolveDir: DIST}))
    },
  }
}

buildMain()
  .then((held) =>
    Promise.all([
      ...Object.entries(LAZY).map(([name, source]) => esbuild.build({...common, entryPoints: [path.join(DIST, 'src', source)], outfile: path.join(DIST, 'entry', `${name}.js`), plugins: [lazyApart]})),
      esbuild.build({...common, entryPoints: [path.join(DIST, 'src', 'cli', 'runcrons', 'direct-tick.js')], outfile: path.join(DIST, 'entry', 'direct-tick.js'), plugins: [fromMain(held)]}),
      // The process an isolated job runs in (forked beside the direct tick's bundle).
      esbuild.build({...common, entryPoints: [path.join(DIST, 'src', 'cli', 'runcrons', 'isolated-child.js')], outfile: path.join(DIST, 'entry', 'isolated-child.js')}),
    ]),
  )
  .catch((error) => {
    console.error(`bundle-entry: ${error.message}`)
    process.exit(1)
  })
