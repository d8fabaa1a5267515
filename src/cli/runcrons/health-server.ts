import http from 'node:http'
import {CommandError, UsageError} from '../../core/base/errors'
import type {HealthAnswer} from '../../core/runners/health'

export interface HealthServer {
  /** Where it listens (the port the system chose for --health-port 0). */
  url: string
  close(): void
}

/** The answer as the one-line JSON body and its status. */
export function healthBody(answer: HealthAnswer): {status: number; body: string} {
  if (!answer.healthy) return {status: 503, body: JSON.stringify({status: 'unhealthy', reason: answer.reason})}
  const at = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
  return {status: 200, body: JSON.stringify({status: 'ok', lastWake: at(answer.lastWakeMs), nextWake: at(answer.nextWakeMs)})}
}

/**
 * `--health-port`: GET (or HEAD) /healthz answers 200 or 503 with one line of JSON; any other path
 * 404. Each answer closes its connection (a probe's keep-alive socket would count as work to the
 * watchdog). A malformed request gets Node's own 400 (its default clientError), and nothing in the
 * listener decodes the URL, so no request can throw out of it (the dashboard's old bug). Rejects
 * with one line when it cannot listen (the port in use, a host that is not this machine's).
 */
export function serveHealth(host: string, port: number, answer: () => HealthAnswer): Promise<HealthServer> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0]
    const reply = (status: number, body: string, headers: http.OutgoingHttpHeaders = {}) => {
      response.writeHead(status, {'content-type': 'application/json', 'cache-control': 'no-store', connection: 'close', ...headers})
      response.end(request.method === 'HEAD' ? undefined : `${body}\n`)
    }
    try {
      if (path !== '/healthz') return reply(404, JSON.stringify({status: 'not found', reason: 'the health check is GET /healthz'}))
      if (request.method !== 'GET' && request.method !== 'HEAD') return reply(405, JSON.stringify({status: 'method not allowed', reason: 'GET or HEAD'}), {allow: 'GET, HEAD'})
      const {status, body} = healthBody(answer())
      reply(status, body)
    } catch (error) {
      reply(500, JSON.stringify({status: 'unhealthy', reason: String(error)}))
    }
  })
  // A slow or idle client is dropped: the probe asks once and expects an answer at once.
  server.headersTimeout = 5000
  server.requestTimeout = 5000
  server.keepAliveTimeout = 0
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, host, port)))
    server.listen(port, host, () => {
      // Past the start, an error of the server is not one that ends the scheduler.
      server.removeAllListeners('error')
      server.on('error', () => undefined)
      server.unref()
      const address = server.address()
      const bound = typeof address === 'object' && address !== null ? address.port : port
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/healthz`,
        close: () => {
          server.close()
          server.closeAllConnections()
        },
      })
    })
  })
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  if (error.code === 'EADDRINUSE') return new CommandError(`--health-port ${port}: the port is in use on ${host}; pick another port (or stop what listens on it)`, 1)
  if (error.code === 'EACCES') return new CommandError(`--health-port ${port}: not allowed to listen on it (a port below 1024 needs privileges); pick a port from 1024`, 1)
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return new UsageError(`--health-host ${host}: not an address of this machine; give one of its addresses (127.0.0.1, or 0.0.0.0 for all)`)
  return new CommandError(`--health-port ${port} --health-host ${host}: cannot listen (${error.code ?? error.message})`, 1)
}
