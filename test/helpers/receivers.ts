import http, {type IncomingHttpHeaders} from 'node:http'
import net, {type AddressInfo} from 'node:net'
import {SMTPServer} from 'smtp-server'

/** What a webhook receiver got: each request's path, headers and JSON body. */
export interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: Record<string, unknown> & {kind: string; code: string | null; text: string}
}

/**
 * A real local HTTP receiver (a webhook's other end); `answer` is the status, or the status of the
 * n-th request (from 0), or 'hold': that request is never answered (until close). `arrived(n)`
 * resolves once n requests have come in whole.
 */
export async function receiver(answer: number | ((n: number) => number | 'hold') = 200): Promise<{url: string; got: Received[]; answered: number[]; arrived(count: number): Promise<void>; close(): Promise<void>}> {
  const got: Received[] = []
  const answered: number[] = []
  const came = counter()
  const server = http.createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      const status = typeof answer === 'number' ? answer : answer(got.length)
      got.push({path: request.url ?? '', headers: request.headers, body: JSON.parse(body || '{}')})
      came.add()
      if (status === 'hold') return
      answered.push(status)
      response.writeHead(status).end()
    })
  })
  await listening(server)
  return {
    url: urlOf(server),
    got,
    answered,
    arrived: came.reached,
    close: () => closed(server),
  }
}

/**
 * A real local HTTP peer that answers 200 at once (its headers), then its body a byte every
 * `everyMs`, for ever: the slow answer a per-socket idle timeout never cuts. A request whose path
 * `atOnce` picks is answered whole instead. `requests` lists what came in; `hungUp(n)` resolves
 * once the client has cut n trickled answers.
 */
export async function trickler(everyMs = 200, atOnce: (path: string) => boolean = () => false): Promise<{url: string; requests: string[]; hungUp(count: number): Promise<void>; close(): Promise<void>}> {
  const requests: string[] = []
  const cut = counter()
  const server = http.createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`)
    request.resume()
    if (atOnce(request.url ?? '')) return void response.writeHead(200).end('OK')
    response.writeHead(200, {'content-type': 'text/plain'})
    response.flushHeaders()
    const drip = setInterval(() => response.write('.'), everyMs)
    response.on('close', () => {
      clearInterval(drip)
      cut.add()
    })
  })
  await listening(server)
  return {url: urlOf(server), requests, hungUp: cut.reached, close: () => closed(server)}
}

/** A count that can be waited for: `reached(n)` resolves once it is n or more. */
function counter(): {add(): void; reached(count: number): Promise<void>} {
  let value = 0
  const waiting: Array<{count: number; resolve(): void}> = []
  return {
    add() {
      value++
      for (const waiter of waiting.filter(({count}) => value >= count)) waiter.resolve()
    },
    reached: (count) => new Promise<void>((resolve) => (value >= count ? resolve() : waiting.push({count, resolve}))),
  }
}

/**
 * A real local HTTP peer that answers 200 with a body of `bytes` (written as fast as the client
 * takes it). `written` counts the bytes that left it (flushed to the socket) before the client
 * closed the connection: what a client that reads the whole answer would have had to take.
 */
export async function flooder(bytes: number): Promise<{url: string; written: number; requests: number; close(): Promise<void>}> {
  const peer = {url: '', written: 0, requests: 0, close: async () => undefined}
  const chunk = Buffer.alloc(64 * 1024, 'x')
  const server = http.createServer((request, response) => {
    peer.requests++
    request.resume()
    response.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': String(bytes)})
    let left = bytes
    const pour = () => {
      while (left > 0 && !response.destroyed) {
        const piece = chunk.subarray(0, Math.min(chunk.length, left))
        left -= piece.length
        const more = response.write(piece, (error) => {
          if (!error) peer.written += piece.length
        })
        if (!more) return void response.once('drain', pour)
      }
      if (left === 0) response.end()
    }
    pour()
  })
  await listening(server)
  return Object.assign(peer, {url: urlOf(server), close: () => closed(server)})
}

/**
 * A raw local SMTP peer that greets at once, then answers EHLO a byte every `everyMs`, with an
 * endless multi-line reply: every phase timeout of an SMTP client is reset by each byte.
 * `hungUp(n)` resolves once n connections have closed.
 */
export async function smtpTrickler(everyMs = 100): Promise<{port: number; connections: number; hungUp(count: number): Promise<void>; close(): Promise<void>}> {
  const cut = counter()
  const peer = {port: 0, connections: 0, hungUp: cut.reached, close: async () => undefined}
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    peer.connections++
    sockets.add(socket)
    let drip: NodeJS.Timeout | undefined
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearInterval(drip)
      sockets.delete(socket)
      cut.add()
    })
    socket.write('220 127.0.0.1 ESMTP trickle\r\n')
    socket.once('data', () => {
      const line = Buffer.from('250-trickle\r\n')
      let at = 0
      drip = setInterval(() => {
        socket.write(line.subarray(at, at + 1))
        at = (at + 1) % line.length
      }, everyMs)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  peer.port = (server.address() as AddressInfo).port
  peer.close = () =>
    new Promise<undefined>((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve(undefined))
    })
  return peer
}

function listening(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
}

function urlOf(server: http.Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Close a server, its open connections too (a held or trickled request would keep it open). */
function closed(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

/** A real local SMTP server that takes one login (alerts / Sm7p-S3cret) and keeps every message. */
export async function mailbox(): Promise<{port: number; mails: Array<{from: string; to: string[]; data: string}>; close(): Promise<void>}> {
  const mails: Array<{from: string; to: string[]; data: string}> = []
  const server = new SMTPServer({
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    onAuth: (auth, _session, callback) => (auth.username === 'alerts' && auth.password === 'Sm7p-S3cret' ? callback(null, {user: 'alerts'}) : callback(new Error('bad login'))),
    onData: (stream, session, callback) => {
      let data = ''
      stream.on('data', (chunk) => (data += chunk))
      stream.on('end', () => {
        mails.push({from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((to) => to.address), data})
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {port: (server.server.address() as AddressInfo).port, mails, close: () => new Promise((resolve) => server.close(() => resolve()))}
}

/** A mail's subject, its folded header lines unfolded (RFC 5322). */
export function subjectOf(data: string): string | null {
  return /^Subject: (.*?)\r?$/m.exec(data.replace(/\r\n[ \t]+/g, ' '))?.[1] ?? null
}
