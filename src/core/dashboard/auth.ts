import {randomBytes, scryptSync, timingSafeEqual} from 'node:crypto'
import {shown} from '../text'

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
    if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH) problems.push(`${from} is shorter than ${MIN_TOKEN_LENGTH} characters: use a random one, e.g. the output of \`openssl rand -hex 24\``)
    else auth.token = token
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

/** Sign-in attempts per client address: `limit` failures within `windowMs`, then 429 until the window passes. */
export class SignInLimiter {
  private readonly failures = new Map<string, number[]>()

  constructor(
    private readonly limit = 10,
    private readonly windowMs = 5 * 60_000,
  ) {}

  blocked(address: string, nowMs: number): boolean {
    const recent = (this.failures.get(address) ?? []).filter((at) => at > nowMs - this.windowMs)
    this.failures.set(address, recent)
    return recent.length >= this.limit
  }

  failed(address: string, nowMs: number): void {
    this.failures.set(address, [...(this.failures.get(address) ?? []), nowMs])
  }
}
