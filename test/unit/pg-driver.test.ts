import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
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

  it("loads node:crypto only when pg first uses its password helpers, which then answer as pg's own", () => {
    // A script file, not node -e (which loads node:crypto itself).
    const dir = mkdtempSync(path.join(tmpdir(), 'manage-pg-'))
    const file = path.join(dir, 'probe.js')
    writeFileSync(
      file,
      [
        `const pg = require(${JSON.stringify(COMPILED)}).requirePg()`,
        `const before = process.moduleLoadList.includes('NativeModule crypto')`,
        `const helpers = require(require.resolve('pg/lib/crypto/utils.js', {paths: [${JSON.stringify(path.resolve(__dirname, '..', '..'))}]}))`,
        // pg's md5 exchange: 'md5' + md5(md5(password + user) + salt), as the server checks it.
        `helpers.postgresMd5PasswordHash('app', 'secret', Buffer.from([1, 2, 3, 4])).then((hash) => process.stdout.write(JSON.stringify({client: typeof pg.Client, before, after: process.moduleLoadList.includes('NativeModule crypto'), hash})))`,
      ].join('\n'),
    )
    const md5 = (text: string | Buffer) => createHash('md5').update(text).digest('hex')
    try {
      const seen = JSON.parse(execFileSync(process.execPath, [file], {encoding: 'utf8'})) as unknown
      expect(seen).to.deep.equal({client: 'function', before: false, after: true, hash: 'md5' + md5(Buffer.concat([Buffer.from(md5('secretapp')), Buffer.from([1, 2, 3, 4])]))})
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
