import {BlockList, isIP} from 'node:net'
import {shown} from '../base/text'

// The settings' dashboard section checked (by `manage check` and when the dashboard starts):
// who may sign in, and which reverse proxies are believed. Rules of the settings, so below both.

/**
 * Who may use the dashboard: a token (MANAGE_DASHBOARD_TOKEN or the settings' dashboard.token),
 * for API clients as `Authorization: Bearer …` and for signing in, and optional users with
 * scrypt-hashed passwords (`manage dashboard:password` makes a hash). A user may be read-only.
 */
export interface DashboardUser {
  name: string
  /** `scrypt$<N>$<r>$<p>$<salt, base64>$<hash, base64>` */
  passwordHash: string
  readOnly: boolean
}

export interface DashboardAuth {
  token: string | null
  users: DashboardUser[]
}

/** The shortest token accepted: a guessable token is no authentication. */
export const MIN_TOKEN_LENGTH = 24

/** The settings' dashboard section and the environment's token, checked (each problem one line, never quoting a secret). */
export function checkDashboardAuth(section: unknown, envToken: string | undefined, problems: string[]): DashboardAuth {
  const auth: DashboardAuth = {token: null, users: []}
  const value = (section ?? {}) as Record<string, unknown>
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`dashboard is ${shown(section)}, not an object: use e.g. dashboard: {users: [{name: 'ops', passwordHash: '…'}]}`)
    return auth
  }
  const token = envToken !== undefined && envToken !== '' ? envToken : value.token
  if (token !== undefined && token !== null) {
    const from = envToken ? 'MANAGE_DASHBOARD_TOKEN' : 'dashboard.token'
    const weakness = tokenWeakness(token)
    if (weakness !== null) problems.push(`${from} ${weakness}: use a random one, e.g. the output of \`openssl rand -hex 24\``)
    else auth.token = token as string
  }
  const users = value.users ?? []
  if (!Array.isArray(users)) problems.push("dashboard.users must be a list: use e.g. users: [{name: 'ops', passwordHash: '…'}]")
  else {
    users.forEach((user: Record<string, unknown> | null, i) => {
      const name = user?.name
      const hash = user?.passwordHash
      if (typeof name !== 'string' || !/^[\w.@-]{1,64}$/.test(name)) problems.push(`dashboard.users[${i}].name must be 1–64 letters, digits or . _ @ -`)
      else if (typeof hash !== 'string' || parsePasswordHash(hash) === null) problems.push(`dashboard.users[${i}].passwordHash (${name}) is not a hash from \`manage dashboard:password\`: make one with it`)
      else auth.users.push({name, passwordHash: hash, readOnly: user?.readOnly === true})
    })
  }
  return auth
}

/** The least entropy a token may have, estimated from its characters' frequencies (`openssl rand -hex 24` scores about 180, a base64 token of 24 bytes about 145). */
export const MIN_TOKEN_BITS = 80
/** The fewest different characters a token may have (`openssl rand -hex 24` gives about 16). */
const MIN_TOKEN_DISTINCT = 10

/**
 * Why a token is too easy to guess, or null: too short, whitespace or control characters, too few
 * different characters, or too little entropy (each character's surprise, -log2 of its frequency in
 * the token, summed). Never the token itself: the answer goes to the log.
 */
export function tokenWeakness(token: unknown): string | null {
  if (typeof token !== 'string') return 'is not a string'
  if (token.length < MIN_TOKEN_LENGTH) return `is shorter than ${MIN_TOKEN_LENGTH} characters`
  if (/[\s\p{Cc}]/u.test(token)) return 'contains whitespace or control characters'
  const counts = new Map<string, number>()
  for (const character of token) counts.set(character, (counts.get(character) ?? 0) + 1)
  const length = [...token].length
  let bits = 0
  for (const count of counts.values()) bits += count * Math.log2(length / count)
  if (counts.size < MIN_TOKEN_DISTINCT || bits < MIN_TOKEN_BITS) return `is too easy to guess (fewer than ${MIN_TOKEN_DISTINCT} different characters, or too many repeats for ${MIN_TOKEN_BITS} bits of entropy)`
  return null
}

/** A password hash as `manage dashboard:password` makes it (`scrypt$<N>$<r>$<p>$<salt>$<hash>`), read; null when it is not one. */
export function parsePasswordHash(text: string): {N: number; r: number; p: number; salt: Buffer; hash: Buffer} | null {
  const parts = text.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null
  const [N, r, p] = parts.slice(1, 4).map(Number)
  const salt = Buffer.from(parts[4], 'base64')
  const hash = Buffer.from(parts[5], 'base64')
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || salt.length < 8 || hash.length < 16) return null
  return {N, r, p, salt, hash}
}

/** The settings' dashboard.trustProxy checked: a list of IP addresses or CIDR ranges (each problem one line); null when it names none. */
export function parseTrustProxy(value: unknown, problems: string[]): BlockList | null {
  if (value === undefined || value === null) return null
  const example = "use e.g. trustProxy: ['127.0.0.1'] (the address your reverse proxy connects from)"
  if (!Array.isArray(value)) {
    problems.push(`dashboard.trustProxy is ${shown(value)}, not a list: ${example}`)
    return null
  }
  const list = new BlockList()
  value.forEach((entry: unknown, i) => {
    const [address, bits, ...rest] = typeof entry === 'string' ? entry.trim().split('/') : []
    const family = address === undefined ? 0 : isIP(address)
    const prefix = bits === undefined ? null : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN
    if (family === 0 || rest.length > 0 || (prefix !== null && !(prefix >= 0 && prefix <= (family === 6 ? 128 : 32)))) {
      problems.push(`dashboard.trustProxy[${i}] is ${shown(entry)}, not an IP address or range (like 10.0.0.0/8): ${example}`)
      return
    }
    const type = family === 6 ? 'ipv6' : 'ipv4'
    if (prefix === null) list.addAddress(address, type)
    else list.addSubnet(address, prefix, type)
  })
  return value.length > 0 ? list : null
}
