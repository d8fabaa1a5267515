import {spawn, type ChildProcess} from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import {BIN, ROOT} from './cli'

/** A real `bin/manage dashboard` on a free port, with this environment; stopped by stop(). */
export async function startDashboard(env: Record<string, string>, args: string[] = []): Promise<{url: string; output: () => string; alive: () => boolean; stop(): Promise<void>}> {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'dashboard', '--port', '0', ...args], {cwd: ROOT, env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the dashboard did not start:\n${output}`)), 15_000)
    const look = () => {
      const match = /Dashboard on (http:\/\/\S+?)[;\s]/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1])
      }
    }
    child.stdout!.on('data', look)
    child.on('exit', (code) => reject(new Error(`the dashboard exited (${code}):\n${output}`)))
  })
  return {
    url,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGINT')
      }),
  }
}

export interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
  /** The socket's error (ECONNRESET, EPIPE), if it had one. */
  error: string | null
}

/**
 * Send bytes as they are (no client to normalise the request line, the headers or the body) and
 * read the answer: until it is whole (its Content-Length read) when `whole`, else until the server
 * closes the connection.
 */
export function rawRequest(url: string, parts: Array<string | Buffer>, options: {whole?: boolean; from?: string} = {}): Promise<RawAnswer> {
  const {hostname, port} = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = net.connect({host: hostname, port: Number(port), localAddress: options.from})
    let received = Buffer.alloc(0)
    let error: string | null = null
    let done = false
    const timer = setTimeout(() => finish(new Error(`no answer within 10 s; got: ${received.toString('latin1').slice(0, 300)}`)), 10_000)
    const parsed = (): RawAnswer | null => {
      const text = received.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (end < 0) return null
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n')
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]))
      const body = received.subarray(end + 4)
      return {status: Number(statusLine.split(' ')[1]), headers, body: (headers['transfer-encoding'] === 'chunked' ? unchunked(body) : body).toString('utf8'), error}
    }
    const finish = (failure?: Error) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      const answer = parsed()
      if (failure || !answer) reject(failure ?? new Error(`no HTTP answer (socket error: ${error}); got: ${received.toString('latin1').slice(0, 300)}`))
      else resolve(answer)
    }
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk])
      const answer = parsed()
      if (options.whole && answer && answer.headers['content-length'] !== undefined && Buffer.byteLength(answer.body) >= Number(answer.headers['content-length'])) finish()
    })
    socket.on('error', (failure: NodeJS.ErrnoException) => (error = failure.code ?? failure.message))
    socket.on('close', () => finish())
    socket.on('connect', () => {
      for (const part of parts) socket.write(part)
    })
  })
}

/** A chunked body's data (as much of it as has arrived). */
function unchunked(body: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const line = body.indexOf('\r\n', at)
    if (line < 0) break
    const size = parseInt(body.subarray(at, line).toString('latin1'), 16)
    if (!(size > 0)) break
    parts.push(body.subarray(line + 2, line + 2 + size))
    at = line + 2 + size + 2
  }
  return Buffer.concat(parts)
}

export interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** One HTTP request with node:http, from a chosen local address (127.0.0.2 plays a proxy, 127.0.0.3 another client). */
export function httpRequest(url: string, options: {method?: string; path: string; headers?: Record<string, string>; body?: string; from?: string}): Promise<Answer> {
  const {hostname, port} = new URL(url)
  return new Promise((resolve, reject) => {
    const request = http.request({host: hostname, port: Number(port), method: options.method ?? 'GET', path: options.path, headers: options.headers, localAddress: options.from, agent: false}, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve({status: response.statusCode ?? 0, headers: response.headers, body}))
      response.on('error', reject)
    })
    request.on('error', reject)
    request.end(options.body)
  })
}

/**
 * `count` requests in the server at the same time: each sends its head (with `Expect: 100-continue`)
 * and its body only once the server has read every head (answered each with 100 Continue). Returns
 * each one's final status.
 */
export async function requestsAtOnce(url: string, head: string, body: string, count: number, from?: string): Promise<number[]> {
  const {hostname, port} = new URL(url)
  const requests = Array.from({length: count}, () => {
    const socket = net.connect({host: hostname, port: Number(port), localAddress: from})
    let received = ''
    let continued!: () => void
    const ready = new Promise<void>((resolve) => (continued = resolve))
    const answered = new Promise<number>((resolve, reject) => {
      socket.on('error', reject)
      socket.on('close', () => {
        const final = received.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '')
        resolve(Number(final.split(' ')[1]))
      })
    })
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      received += chunk
      if (received.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) continued()
    })
    socket.on('connect', () => socket.write(`${head.endsWith('\r\n') ? head : `${head}\r\n`}Expect: 100-continue\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`))
    return {socket, ready, answered}
  })
  // A safety net: a server that never answers fails the test instead of hanging it.
  const timer = setTimeout(() => requests.forEach((request) => request.socket.destroy(new Error('no answer within 10 s'))), 10_000)
  try {
    await Promise.all(requests.map((request) => request.ready))
    for (const request of requests) request.socket.write(body)
    return await Promise.all(requests.map((request) => request.answered))
  } finally {
    clearTimeout(timer)
  }
}
