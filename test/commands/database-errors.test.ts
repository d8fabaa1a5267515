import {expect} from 'chai'
import net from 'node:net'
import type {AddressInfo} from 'node:net'
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
