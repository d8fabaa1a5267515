import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {UsageError} from '../core/base/errors'
import type {DashboardAuth} from '../core/project/dashboard-settings'

/** An address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
}

/** Authentication is configured: a token (the environment's or the settings'), or users. */
export function authConfigured(auth: DashboardAuth): boolean {
  return auth.token !== null || auth.users.length > 0
}

/**
 * The bind rule: another address than this machine's own only with authentication configured
 * (a token made for one run is for this machine's browser only).
 */
export function checkBind(host: string, auth: DashboardAuth): void {
  if (!isLoopback(host) && !authConfigured(auth)) {
    throw new UsageError(`refusing to listen on ${host} without authentication configured: set MANAGE_DASHBOARD_TOKEN (24+ random characters) or the settings' dashboard.users, or keep the default --host 127.0.0.1`)
  }
}

/** Listen; a port in use or an address not on this machine is one line. */
export function listen(handler: http.RequestListener, host: string, port: number): Promise<{server: http.Server; url: string}> {
  const server = http.createServer(handler)
  // Slow clients do not hold sockets for ever.
  server.requestTimeout = 30_000
  server.headersTimeout = 10_000
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new UsageError(`port ${port} on ${host} is in use: pass another with --port`))
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') reject(new UsageError(`--host ${host} is not an address of this machine: use e.g. 127.0.0.1 or 0.0.0.0`))
      else reject(error)
    })
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
      resolve({server, url: `http://${shownHost}:${address.port}/`})
    })
  })
}
