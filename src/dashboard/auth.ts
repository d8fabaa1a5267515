import {randomBytes, scryptSync, timingSafeEqual} from 'node:crypto'
import {shown} from '../core/base/text'

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

/** Who made a request, once signed in or by token. */
export interface Identity {
  name: string
  readOnly: boolean
  /** By a session cookie (state-changing requests then need the CSRF token), or by the bearer token. */
  via: 'session' | 'token'
}

const SCRYPT = {N: 16384, r: 8, p: 1, keyLength: 32}
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
      else if (typeof hash !== 'string' || parseHash(hash) === null) problems.push(`dashboard.users[${i}].passwordHash (${name}) is not a hash from \`manage dashboard:password\`: make one with it`)
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

/** A password's hash for the settings (scrypt, random salt). */
export function hashPassword(password: string): string {
  const salt = randomBytes(16)
  const hash = scryptSync(password, salt, SCRYPT.keyLength, {N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p})
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`
}

function parseHash(text: string): {N: number; r: number; p: number; salt: Buffer; hash: Buffer} | null {
  const parts = text.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null
  const [N, r, p] = parts.slice(1, 4).map(Number)
  const salt = Buffer.from(parts[4], 'base64')
  const hash = Buffer.from(parts[5], 'base64')
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || salt.length < 8 || hash.length < 16) return null
  return {N, r, p, salt, hash}
}

/** Equal without telling, by its timing, how much of it was right. */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The identity a sign-in (user and password, or the token as the password with no user) proves, or null. */
export function signIn(auth: DashboardAuth, name: string, password: string): Identity | null {
  if (name === '' && auth.token !== null && sameSecret(password, auth.token)) return {name: 'token', readOnly: false, via: 'session'}
  const user = auth.users.find((candidate) => candidate.name === name)
  const parsed = user ? parseHash(user.passwordHash) : null
  if (!user || !parsed) {
    // Spend the same time on an unknown user, so timing does not tell which names exist.
    scryptSync(password, 'unknown-user-salt', SCRYPT.keyLength, {N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p})
    return null
  }
  const hash = scryptSync(password, parsed.salt, parsed.hash.length, {N: parsed.N, r: parsed.r, p: parsed.p, maxmem: 256 * parsed.N * parsed.r})
  return timingSafeEqual(hash, parsed.hash) ? {name: user.name, readOnly: user.readOnly, via: 'session'} : null
}

/** The identity a bearer token proves, or null. */
export function byToken(auth: DashboardAuth, header: string | undefined): Identity | null {
  const match = /^Bearer (\S+)$/.exec(header ?? '')
  if (!match || auth.token === null || !sameSecret(match[1], auth.token)) return null
  return {name: 'token', readOnly: false, via: 'token'}
}

interface Session {
  identity: Identity
  csrf: string
  expiresMs: number
}

/** Signed-in browsers, in memory: a restart signs everyone out. */
export class Sessions {
  private readonly sessions = new Map<string, Session>()

  constructor(private readonly ttlMs = 12 * 60 * 60_000) {}

  open(identity: Identity, nowMs: number): {id: string; csrf: string} {
    const id = randomBytes(32).toString('base64url')
    const csrf = randomBytes(32).toString('base64url')
    this.sessions.set(id, {identity, csrf, expiresMs: nowMs + this.ttlMs})
    return {id, csrf}
  }

  get(id: string | undefined, nowMs: number): Session | null {
    if (!id) return null
    const session = this.sessions.get(id)
    if (!session || session.expiresMs <= nowMs) {
      if (session) this.sessions.delete(id)
      return null
    }
    return session
  }

  close(id: string | undefined): void {
    if (id) this.sessions.delete(id)
  }

  /** The CSRF token a state-changing request with this session's cookie must carry. */
  csrfMatches(session: Session, given: string | undefined): boolean {
    return given !== undefined && sameSecret(given, session.csrf)
  }
}

/** One kind of key the sign-in limit counts attempts under, and how many it allows in the window. */
export interface LimitKey {
  key: string
  limit: number
}

/**
 * Sign-in attempts in a sliding window, under several keys at once (the client's address, the user
 * name): an attempt is counted (reserved) before its password is checked, so however many arrive
 * together at most `limit` are checked per key and window; a sign-in that succeeds gives its
 * reservation back. Entries expire with the window, and at most `maxKeys` keys are kept (the oldest
 * go first), so a flood of addresses cannot grow it without bound.
 */
export class SignInLimiter {
  private readonly attempts = new Map<string, number[]>()

  constructor(
    private readonly windowMs = 5 * 60_000,
    private readonly maxKeys = 10_000,
  ) {}

  /** Count an attempt under every key, or null (and count nothing) when one of them is at its limit. */
  reserve(keys: readonly LimitKey[], nowMs: number): {release(): void} | null {
    const since = nowMs - this.windowMs
    const recent = keys.map(({key}) => (this.attempts.get(key) ?? []).filter((at) => at > since))
    if (keys.some(({limit}, i) => recent[i].length >= limit)) return null
    keys.forEach(({key}, i) => {
      this.attempts.delete(key) // re-inserted last: the Map's order is then oldest use first
      this.attempts.set(key, [...recent[i], nowMs])
    })
    this.bound(since)
    return {
      release: () => {
        for (const {key} of keys) {
          const times = this.attempts.get(key)
          const index = times?.lastIndexOf(nowMs) ?? -1
          if (times && index >= 0) times.splice(index, 1)
        }
      },
    }
  }

  /** How many keys are kept (for tests of the bound). */
  get size(): number {
    return this.attempts.size
  }

  private bound(since: number): void {
    if (this.attempts.size <= this.maxKeys) return
    for (const [key, times] of this.attempts) if (times.every((at) => at <= since)) this.attempts.delete(key)
    for (const key of this.attempts.keys()) {
      if (this.attempts.size <= this.maxKeys) break
      this.attempts.delete(key)
    }
  }
}
