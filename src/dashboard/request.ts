import type http from 'node:http'
import {shown} from '../core/base/text'
import type {Client, TrustedProxies} from './proxy'

/**
 * The dashboard's HTTP plumbing, made so that no request can throw out of it: the request as the
 * routes see it (or null for a target that is not a path of this site), its body (bounded), the
 * answer written (or the connection closed when it cannot be), and the text a request may put in a
 * header or the log made safe.
 */

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
}
const MAX_BODY = 16 * 1024
/** After a 413, what a client still sends is read and dropped, up to this much and this long, before the socket closes. */
const MAX_DRAIN = 1024 * 1024
const DRAIN_MS = 5_000

/** A refusal the client caused: its status and a message for it. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export interface Request {
  method: string
  path: string
  params: URLSearchParams
  headers: http.IncomingHttpHeaders
  /** Its client: the socket's peer, or the one a trusted proxy names. */
  client: Client
  body: () => Promise<Record<string, string>>
}

/** `close`: the request's body was refused (413): answer, drop the rest of it, then close the connection. */
export type Reply = {status: number; type: 'html' | 'json' | 'css'; body: string; headers?: Record<string, string>; close?: boolean}

/** The request, or null when its target is not a path of this site (`//[`, `//host/…`, a full URL) or cannot be parsed. */
export function requestOf(incoming: http.IncomingMessage, proxies: TrustedProxies): Request | null {
  const target = incoming.url ?? '/'
  if (!target.startsWith('/') || target.startsWith('//')) return null
  let url: URL
  try {
    url = new URL(`http://dashboard.invalid${target}`)
  } catch {
    return null
  }
  if (url.host !== 'dashboard.invalid') return null
  return {
    method: incoming.method ?? 'GET',
    path: url.pathname,
    params: url.searchParams,
    headers: incoming.headers,
    client: proxies.client(incoming.socket.remoteAddress, incoming.headers),
    body: () => readBody(incoming),
  }
}

/**
 * Write the answer; false (the connection closed, nothing thrown) when it cannot be: a header a
 * request's text made invalid must cost that request, not the process.
 */
export function send(incoming: http.IncomingMessage, response: http.ServerResponse, reply: Reply): boolean {
  const type = {html: 'text/html; charset=utf-8', json: 'application/json; charset=utf-8', css: 'text/css; charset=utf-8'}[reply.type]
  const headers = {...SECURITY_HEADERS, 'content-type': type, 'cache-control': reply.type === 'css' ? 'max-age=300' : 'no-store', ...reply.headers}
  try {
    if (!reply.close) {
      response.writeHead(reply.status, headers)
      response.end(reply.body)
      return true
    }
    response.writeHead(reply.status, {...headers, connection: 'close', 'content-length': String(Buffer.byteLength(reply.body))})
    response.write(reply.body)
    endAfterDrain(incoming, response)
    return true
  } catch {
    response.destroy()
    return false
  }
}

/**
 * After refusing a body: read and drop what the client still sends (up to MAX_DRAIN, for at most
 * DRAIN_MS), then end the answer and close. Closing a socket while the client is still sending
 * resets it, and the client may lose the answer with it.
 */
function endAfterDrain(incoming: http.IncomingMessage, response: http.ServerResponse): void {
  if (incoming.complete) return void response.end()
  let dropped = 0
  const timer = setTimeout(() => response.end(), DRAIN_MS)
  incoming.on('data', (chunk: Buffer) => {
    dropped += chunk.length
    if (dropped > MAX_DRAIN) {
      clearTimeout(timer)
      response.destroy()
    }
  })
  incoming.on('error', () => clearTimeout(timer))
  incoming.on('end', () => {
    clearTimeout(timer)
    response.end()
  })
  incoming.resume()
}

/**
 * Where to go after signing in: a path of this site, else '/'. Refused: control characters and
 * whitespace anywhere (browsers drop tabs and line breaks from a URL, so `/\t/evil.example` is
 * `//evil.example` to them), a backslash (`/\evil.example` is `//evil.example` too), and any
 * path that is `//…` once resolved (`/.//evil.example`). The answer is the resolved, encoded form.
 */
export function safeNext(next: string | null | undefined): string {
  if (typeof next !== 'string' || !next.startsWith('/') || /[\s\p{Cc}\p{Cf}\\]/u.test(next)) return '/'
  let url: URL
  try {
    url = new URL(next, 'http://dashboard.invalid')
  } catch {
    return '/'
  }
  if (url.origin !== 'http://dashboard.invalid' || url.pathname.startsWith('//')) return '/'
  return url.pathname + url.search + url.hash
}

/** A path segment, decoded; a malformed %-escape is the client's mistake (400). */
export function segment(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    throw new HttpError(400, `${shown(text)} is not a valid path: it has a malformed %-escape`)
  }
}

/** Text for the log on one line: control characters escaped (a line break in a request must not forge a log line). */
export function escaped(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]/gu, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

export function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=')
    if (key === name) return value.join('=')
  }
  return undefined
}

export function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/**
 * A form's or a JSON object's fields, at most MAX_BODY bytes: a larger Content-Length is refused
 * before reading (413), a larger chunked body as soon as it passes the limit.
 */
export function readBody(incoming: http.IncomingMessage): Promise<Record<string, string>> {
  const declared = Number(incoming.headers['content-length'] ?? 0)
  if (declared > MAX_BODY) return Promise.reject(new HttpError(413, `the request body is too large (over ${MAX_BODY} bytes)`))
  return new Promise((resolve, reject) => {
    let size = 0
    const chunks: Buffer[] = []
    const collect = (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY) return void chunks.push(chunk)
      incoming.off('data', collect)
      reject(new HttpError(413, `the request body is too large (over ${MAX_BODY} bytes)`))
    }
    incoming.on('data', collect)
    incoming.on('error', reject)
    incoming.on('end', () => {
      if (size > MAX_BODY) return
      const text = Buffer.concat(chunks).toString('utf8')
      if (!text) return resolve({})
      if (!(incoming.headers['content-type'] ?? '').startsWith('application/json')) return resolve(Object.fromEntries(new URLSearchParams(text)))
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        return reject(new HttpError(400, 'the body is not JSON'))
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return reject(new HttpError(400, 'the body is not a JSON object'))
      resolve(Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)])))
    })
  })
}
