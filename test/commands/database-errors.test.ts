import {expect} from 'chai'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import net from 'node:net'
import type {AddressInfo} from 'node:net'
import {configFromUrl, explainDatabaseError} from '../../src/core/db/database'
import {callManage, SETTINGS} from '../helpers/cli'

/** A TCP listener on 127.0.0.1 that takes each connection and at once closes it (FIN) or resets it (RST): a database host that answers and then drops the client. */
async function droppingListener(how: 'close' | 'reset'): Promise<{port: number; close: () => Promise<void>}> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => undefined)
    if (how === 'reset') socket.resetAndDestroy()
    else socket.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const close = () => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy()
    server.close(() => resolve())
  })
  return {port, close}
}

describe('a database host that accepts and then drops the connection: one line naming the database and the fix', function () {
  this.timeout(60_000)
  const secret = 'S3cr3t-pw'
  for (const how of ['close', 'reset'] as const) {
    for (const [dialect, template] of [
      ['postgres', `postgres://app:${secret}@127.0.0.1:PORT/db`],
      ['mysql', `mysql://root:${secret}@127.0.0.1:PORT/test`],
    ] as const) {
      it(`${dialect}, the listener ${how === 'close' ? 'closes' : 'resets'} each connection`, async () => {
        const listener = await droppingListener(how)
        try {
          const url = template.replace('PORT', String(listener.port))
          const safe = url.replace(secret, '***')
          for (const args of [['runcrons'], ['crons:list']]) {
            const result = await callManage(args, {DATABASE_URL: url, MANAGE_SETTINGS: SETTINGS, TEST_CRONS: 'SuccessJob'})
            const what = `manage ${args.join(' ')}: exit ${result.code}\n${result.stdout}${result.stderr}`
            expect(result.code, what).to.equal(1)
            expect(result.stdout, what).to.equal('')
            const escaped = safe.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
            expect(result.stderr, what).to.match(
              new RegExp(`^error: the ${dialect} database ${escaped} closed the connection \\([^\\n]+\\): is the server up, and is it a ${dialect} server at that host and port\\? check DATABASE_URL, and the server's log\\n$`),
            )
            expect(result.stderr, what).not.to.include(secret)
          }
        } finally {
          await listener.close()
        }
      })
    }
  }
})

describe("the driver's other words for a database out of reach, explained the same way", () => {
  const config = configFromUrl('postgres://app:S3cr3t-pw@db.internal:5432/shop', '/')
  const error = (message: string, code?: string) => Object.assign(new Error(message), code === undefined ? {} : {code})
  const cases: Array<[Error, RegExp]> = [
    [error('connect ENETUNREACH 10.1.2.3:5432', 'ENETUNREACH'), /^cannot connect to the postgres database postgres:\/\/app:\*\*\*@db\.internal:5432\/shop \(ENETUNREACH\): is the server running\? check DATABASE_URL$/],
    [error('getaddrinfo EAI_AGAIN db.internal', 'EAI_AGAIN'), /^cannot connect to the postgres database .* \(EAI_AGAIN\)/],
    [error('write EPIPE', 'EPIPE'), /^the postgres database .* closed the connection \(write EPIPE\): is the server up/],
    [error('terminating connection due to administrator command', '57P01'), /closed the connection \(terminating connection due to administrator command\)/],
    [error('server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally'), /closed the connection \(server closed the connection unexpectedly\): /],
  ]
  for (const [cause, pattern] of cases) {
    it(cause.message.split('\n')[0], () => {
      const explained = explainDatabaseError(cause, config)
      expect(explained?.message).to.match(pattern)
      expect(explained?.exitCode).to.equal(1)
    })
  }
})

describe('a sqlite file that does not exist', function () {
  this.timeout(60_000)
  let dir: string
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-missing-'))))
  afterEach(() => fs.rmSync(dir, {recursive: true, force: true}))

  it('a read-only command says so and to migrate, in one line, and makes neither the file nor its folders', async () => {
    const file = path.join(dir, 'typo', 'var', 'db.sqlite3')
    const env = {DATABASE_URL: `sqlite://${file}`, MANAGE_SETTINGS: SETTINGS, TEST_CRONS: 'SuccessJob'}
    for (const args of [['crons:list'], ['crons:history'], ['why', 'test.success'], ['runners']]) {
      const result = await callManage(args, env)
      const what = `manage ${args.join(' ')}: exit ${result.code}\n${result.stdout}${result.stderr}`
      expect(result.code, what).to.equal(1)
      expect(result.stderr, what).to.equal(`error: the sqlite file ${file} does not exist: run \`manage migrate\` to create it, or fix DATABASE_URL (or the knexfile)\n`)
    }
    // showmigrations lists every migration as pending, and says the file is yet to be made.
    const shown = await callManage(['showmigrations'], env)
    expect(shown.code, shown.stderr).to.equal(0)
    expect(shown.stdout.split('\n')[0]).to.equal(`sqlite file ${file} (it does not exist yet: \`manage migrate\` creates it)`)
    expect(shown.stdout).to.match(/^ \[ \] 20261123000000_manage_cron_tables/m)
    expect(shown.stdout).not.to.include('[X]')
    expect(fs.readdirSync(dir)).to.deep.equal([])
  })

  it('migrate (a command that writes) makes it, folders and all', async () => {
    const file = path.join(dir, 'new', 'db.sqlite3')
    const result = await callManage(['migrate'], {DATABASE_URL: `sqlite://${file}`, MANAGE_SETTINGS: SETTINGS})
    expect(result.code, result.stderr).to.equal(0)
    expect(fs.existsSync(file)).to.equal(true)
    const listed = await callManage(['crons:list', '--json'], {DATABASE_URL: `sqlite://${file}`, MANAGE_SETTINGS: SETTINGS, TEST_CRONS: 'SuccessJob'})
    expect(listed.code, listed.stderr).to.equal(0)
  })
})
