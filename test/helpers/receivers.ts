import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {SMTPServer} from 'smtp-server'

/** What a webhook receiver got: each request's path and JSON body. */
export interface Received {
  path: string
  body: Record<string, unknown> & {kind: string; code: string | null; text: string}
}

/** A real local HTTP receiver (a webhook's other end); `answer` is the status, or the status of the n-th request (from 0). */
export async function receiver(answer: number | ((n: number) => number) = 200): Promise<{url: string; got: Received[]; answered: number[]; close(): Promise<void>}> {
  const got: Received[] = []
  const answered: number[] = []
  const server = http.createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      const status = typeof answer === 'number' ? answer : answer(got.length)
      got.push({path: request.url ?? '', body: JSON.parse(body || '{}')})
      answered.push(status)
      response.writeHead(status).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got, answered, close: () => new Promise((resolve) => server.close(() => resolve()))}
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
