import {execFileSync} from 'node:child_process'
import path from 'node:path'
import {expect} from 'chai'
import {requirePg} from '../../src/core/db/pg-driver'

const COMPILED = path.resolve(__dirname, '..', '..', 'dist', 'src', 'core', 'db', 'pg-driver.js')

describe('requirePg', () => {
  it('loads pg and leaves the global navigator as it found it', () => {
    const global = globalThis as {navigator?: unknown}
    const before = global.navigator
    expect(requirePg().Client).to.be.a('function')
    expect(global.navigator).to.equal(before)
    expect(Object.hasOwn(globalThis, 'navigator')).to.equal(before !== undefined)
  })

  it("spares a fresh process pg's Cloudflare probe: undici is never loaded (plain require('pg') loads it on Node 20)", () => {
    const undiciAfter = (load: string) =>
      execFileSync(process.execPath, ['-e', `${load}; process.stdout.write(String(process.moduleLoadList.some((m) => m.includes('undici'))))`], {encoding: 'utf8'})
    expect(undiciAfter(`require(${JSON.stringify(COMPILED)}).requirePg()`)).to.equal('false')
    // The reason for requirePg, where it still holds (Node ≥ 21 has a navigator of its own).
    if (Number(process.versions.node.split('.')[0]) < 21) expect(undiciAfter(`require('pg')`)).to.equal('true')
  })
})
