import {BlockList, isIP} from 'node:net'
import {parseTrustProxy} from '../core/project/dashboard-settings'

/** Who a request came from: the client's address, and whether it reached the proxy over HTTPS. */
export interface Client {
  address: string
  https: boolean
}

/**
 * The reverse proxies named in the settings' dashboard.trustProxy (addresses or CIDR ranges). A
 * request's X-Forwarded-For and X-Forwarded-Proto are believed only when its socket comes from one
 * of them: from anyone else they are whatever the client chose to send.
 */
export class TrustedProxies {
  constructor(private readonly list: BlockList | null) {}

  trusts(address: string): boolean {
    const plain = unmapped(address)
    const family = isIP(plain)
    return this.list !== null && family !== 0 && this.list.check(plain, family === 6 ? 'ipv6' : 'ipv4')
  }

  /**
   * The client behind the socket: through a trusted proxy, the right-most X-Forwarded-For address
   * that is not itself a trusted proxy (those on its left were written by the client and prove
   * nothing); otherwise the socket's own address.
   */
  client(socketAddress: string | undefined, headers: Record<string, string | string[] | undefined>): Client {
    const socket = unmapped(socketAddress ?? '?')
    if (!this.trusts(socket)) return {address: socket, https: false}
    let address = socket
    const forwarded = joined(headers['x-forwarded-for'])
      .split(',')
      .map((part) => unmapped(part.trim()))
    for (let i = forwarded.length - 1; i >= 0; i--) {
      const hop = forwarded[i]
      if (isIP(hop) === 0) break // not an address: what a trusted proxy would never write, so stop at the last good one
      address = hop
      if (!this.trusts(hop)) break
    }
    // The nearest proxy's word on the scheme (the right-most value).
    const proto = joined(headers['x-forwarded-proto']).split(',').pop()?.trim().toLowerCase()
    return {address, https: proto === 'https'}
  }
}

/** The settings' dashboard.trustProxy checked (see parseTrustProxy), as the proxies it names. */
export function checkTrustProxy(value: unknown, problems: string[]): TrustedProxies {
  return new TrustedProxies(parseTrustProxy(value, problems))
}

/** An IPv4 address as a dual-stack socket shows it (::ffff:10.0.0.1), as itself. */
function unmapped(address: string): string {
  return /^::ffff:\d{1,3}(\.\d{1,3}){3}$/i.test(address) ? address.slice(7) : address
}

function joined(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(',') : (value ?? '')
}
