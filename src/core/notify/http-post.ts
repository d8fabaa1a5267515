import type {ClientRequest} from 'node:http'
import {PACKAGE_NAME, PACKAGE_VERSION} from '../project/package-name'
import {firstLine} from '../base/text'

/** How much of an answer is read: its status is what counts, the rest is left unread and the connection closed. */
export const ANSWER_BYTES = 4096

export interface Posted {
  /** The status answered; null when none came. */
  status: number | null
  /** Answered 2xx: the receiver took it (a body cut afterwards changes nothing; sending it again would make a copy). */
  ok: boolean
  /** The answer came whole (or its first ANSWER_BYTES) within the deadline; false when cut. */
  whole: boolean
  /** What happened, in one line: "200 OK", "503 Service Unavailable", "connect ECONNREFUSED …", "no answer within 3000 ms", "200 OK, but the rest of its answer did not come within 3000 ms". */
  detail: string
}

/**
 * POST `body` to `url` and read the answer, all of it within `deadlineMs`: one timer, armed
 * before the connection, destroys the request when it fires, whatever the peer does (silent,
 * or its headers and then a body a byte at a time). At most ANSWER_BYTES of the answer are read,
 * then the connection is closed, so a receiver cannot make us hold its answer. The one way pings
 * and webhooks go out. node:http(s) with no keep-alive, not fetch: loading fetch would cost a
 * no-op tick more than the rest of it, it reads a whole answer, and a kept-alive socket would
 * hold the process open. Never rejects.
 */
export function httpPost(url: string, body: string, options: {headers: Record<string, string>; deadlineMs: number}): Promise<Posted> {
  return new Promise((resolve) => {
    let request: ClientRequest | undefined
    let status: number | null = null
    let statusLine = ''
    let settled = false
    const finish = (whole: boolean, detail: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      request?.destroy()
      resolve({status, ok: status !== null && status >= 200 && status < 300, whole, detail})
    }
    const answered = () => finish(true, statusLine)
    const failed = (what: string) => finish(false, status === null ? what : `${statusLine}, but ${what}`)
    const timer = setTimeout(() => failed(status === null ? `no answer within ${options.deadlineMs} ms` : `the rest of its answer did not come within ${options.deadlineMs} ms`), options.deadlineMs)
    try {
      const target = new URL(url)
      const client = (target.protocol === 'https:' ? require('node:https') : require('node:http')) as typeof import('node:http')
      // A User-Agent: some receivers behind a CDN turn away a request without one.
      const headers = {'user-agent': `${PACKAGE_NAME}/${PACKAGE_VERSION}`, ...options.headers, 'content-length': String(Buffer.byteLength(body))}
      request = client.request(target, {method: 'POST', agent: false, headers}, (response) => {
        status = response.statusCode ?? 0
        // (The reason phrase is the peer's words: a line's worth of them.)
        statusLine = `${status} ${(response.statusMessage ?? '').slice(0, 120)}`.trim()
        let read = 0
        response.on('data', (chunk: Buffer) => {
          read += chunk.length
          if (read >= ANSWER_BYTES) answered()
        })
        response.on('end', answered)
        response.on('error', (error) => failed(`its answer broke off: ${firstLine(error.message)}`))
        response.on('close', () => failed('its answer broke off'))
      })
      request.on('error', (error) => failed(firstLine(error.message)))
      request.end(body)
    } catch (error) {
      failed(firstLine(error instanceof Error ? error.message : String(error)))
    }
  })
}
