import {randomBytes, scryptSync, timingSafeEqual} from 'node:crypto'
import {HOUR_MS, MINUTE_MS} from '../core/time/units'
import {parsePasswordHash, type DashboardAuth} from '../core/project/dashboard-settings'

/** Who made a request, once signed in or by token. */
export interface Identity {
  name: string
  readOnly: boolean
  /** By a session cookie (state-changing requests then need the CSRF token), or by the bearer token. */
  via: 'session' | 'token'
}

const SCRYPT = {N: 16384, r: 8, p: 1, keyLength: 32}

/** A password's hash for the settings (scrypt, random salt). */
export function hashPassword(password: string): string {
  const salt = randomBytes(16)
  const hash = scryptSync(password, salt, SCRYPT.keyLength, {N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p})
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`
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
  const parsed = user ? parsePasswordHash(user.passwordHash) : null
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

  constructor(private readonly ttlMs = 12 * HOUR_MS) {}

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
    private readonly windowMs = 5 * MINUTE_MS,
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
