import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {expect} from 'chai'

const CODE_CACHE = JSON.stringify(path.resolve(__dirname, '..', '..', 'dist', 'src', 'cli', 'code-cache.js'))

/**
 * Each compile in a process of its own, as each tick is: in one process V8 keeps what it compiled
 * and never reads a cache for the same source twice.
 */

describe("bin/manage's bundles compiled with V8's code cache (compileBundle, in fresh processes)", () => {
  let dir: string
  let cacheDir: string
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'manage-code-cache-'))
    cacheDir = path.join(dir, '.code-cache')
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  /** compileBundle in a fresh process: whether it took the cache, and what the bundle exports when run as bin/manage's loader runs it. */
  const compiled = (file: string, cache: string, save: boolean): {cacheUsed: boolean; value: string; twice: number; sibling: string} => {
    const script =
      `const {compileBundle} = require(${CODE_CACHE}); const Module = require('node:module');` +
      `const bundle = compileBundle(${JSON.stringify(file)}, ${JSON.stringify(cache)});` +
      `const module = new Module(${JSON.stringify(file)}); module.filename = ${JSON.stringify(file)}; module.paths = []; bundle.run(module);` +
      `${save ? 'bundle.saveCache();' : ''}` +
      `const {value, twice, sibling} = module.exports; process.stdout.write(JSON.stringify({cacheUsed: bundle.cacheUsed, value, twice: twice(21), sibling}))`
    return JSON.parse(execFileSync(process.execPath, ['-e', script], {encoding: 'utf8'})) as {cacheUsed: boolean; value: string; twice: number; sibling: string}
  }
  const write = (file: string, value: string) =>
    writeFileSync(file, `'use strict'\nexports.value = ${JSON.stringify(value)}\nexports.twice = (n) => n * 2\nexports.sibling = require('./sibling.js').name\nexports.resolved = require.resolve('./sibling.js')\n`)

  it('runs a bundle as a CommonJS module; the cache made after it ran is taken by the next process, and a rebuilt bundle never meets the old one', () => {
    const file = path.join(dir, 'main.js')
    writeFileSync(path.join(dir, 'sibling.js'), `exports.name = 'sibling'\n`)
    write(file, 'first')
    expect(compiled(file, cacheDir, true)).to.deep.equal({cacheUsed: false, value: 'first', twice: 42, sibling: 'sibling'})
    expect(readdirSync(cacheDir)).to.have.length(1)
    expect(compiled(file, cacheDir, false), 'the cache of the same build').to.deep.equal({cacheUsed: true, value: 'first', twice: 42, sibling: 'sibling'})

    // Rebuilt with the same length (all V8 checks of the source) and a later time: its own cache, never the old one.
    write(file, 'other')
    const later = new Date(Date.now() + 5_000)
    utimesSync(file, later, later)
    expect(compiled(file, cacheDir, true)).to.deep.include({cacheUsed: false, value: 'other'})
    expect(readdirSync(cacheDir), "the earlier build's cache removed").to.have.length(1)
    expect(compiled(file, cacheDir, false)).to.deep.include({cacheUsed: true, value: 'other'})
  })

  it('a cache V8 refuses (not a cache at all) is not used, and one that cannot be written is no error', () => {
    const file = path.join(dir, 'main.js')
    writeFileSync(path.join(dir, 'sibling.js'), `exports.name = 'sibling'\n`)
    write(file, 'first')
    compiled(file, cacheDir, true)
    const [cached] = readdirSync(cacheDir)
    writeFileSync(path.join(cacheDir, cached), 'not a code cache')
    expect(compiled(file, cacheDir, false)).to.deep.include({cacheUsed: false, value: 'first'})

    const blocked = path.join(dir, 'a-file')
    writeFileSync(blocked, '')
    expect(compiled(file, path.join(blocked, '.code-cache'), true)).to.deep.include({cacheUsed: false, value: 'first'})
    expect(existsSync(path.join(blocked, '.code-cache'))).to.equal(false)
  })

  it('useCodeCache: bundles in its folder are required through the cache, other files as Node loads them; only a process that saves writes one, and one whose cache was taken writes none', () => {
    const bundles = path.join(dir, 'entry')
    mkdirSync(bundles)
    writeFileSync(path.join(bundles, 'sibling.js'), `exports.name = 'sibling'\n`)
    write(path.join(bundles, 'main.js'), 'bundled')
    writeFileSync(path.join(dir, 'other.js'), `exports.value = 'other'\n`)
    const required = (save: boolean): string =>
      execFileSync(
        process.execPath,
        ['-e', `require(${CODE_CACHE}).useCodeCache(${JSON.stringify(bundles)}, ${JSON.stringify(cacheDir)}, {save: ${save}}); process.stdout.write(require(${JSON.stringify(path.join(bundles, 'main.js'))}).value + ' ' + require(${JSON.stringify(path.join(dir, 'other.js'))}).value)`],
        {encoding: 'utf8'},
      )
    const cached = () => (existsSync(cacheDir) ? readdirSync(cacheDir).sort() : [])
    expect(required(false)).to.equal('bundled other')
    expect(cached(), 'a process that does not save (every command but runcrons)').to.deep.equal([])
    expect(required(true)).to.equal('bundled other')
    const made = cached()
    expect(made.map((name) => name.split('.')[0])).to.deep.equal(['main', 'sibling'])
    const written = made.map((name) => statSync(path.join(cacheDir, name)).mtimeMs)
    expect(required(true)).to.equal('bundled other')
    expect(made.map((name) => statSync(path.join(cacheDir, name)).mtimeMs), 'taken, not written again').to.deep.equal(written)
  })
})

