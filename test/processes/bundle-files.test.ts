import {readFileSync} from 'node:fs'
import path from 'node:path'
import {expect} from 'chai'

const ENTRY = path.resolve(__dirname, '..', '..', 'dist', 'entry')
const sourcesOf = (bundle: string): string[] => (JSON.parse(readFileSync(path.join(ENTRY, `${bundle}.map`), 'utf8')) as {sources: string[]}).sources

describe('the per-minute bundles (scripts/bundle-entry.js)', () => {
  it('direct-tick.js holds no copy of a module main.js holds: it takes those from main.js', () => {
    const inMain = new Set(sourcesOf('main.js'))
    const direct = sourcesOf('direct-tick.js')
    expect(direct.filter((source) => inMain.has(source)), 'modules in both').to.deep.equal([])
    expect(direct.some((source) => source.startsWith('from-main:')), 'modules taken from main.js').to.equal(true)
  })
})
