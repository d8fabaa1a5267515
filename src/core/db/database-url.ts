import path from 'node:path'
import {UsageError} from '../base/errors'

/**
 * DATABASE_URL, read strictly, and shown without its secrets. A URL is parsed once, by the WHATWG
 * parser (as the drivers do); what is wrong with it is said in one line that names the variable,
 * the problem and the fix, never the URL itself, which may hold a password.
 */

export type UrlDialect = 'sqlite' | 'postgres' | 'mysql'

export interface ParsedDatabaseUrl {
  dialect: UrlDialect
  /** sqlite: the file (absolute), or ':memory:'. */
  filename?: string
  /** PostgreSQL and MySQL: the URL as parsed. */
  url?: URL
  /** The URL with every secret masked: for messages, `about` and `check`. */
  safe: string
  /** Every secret the URL holds (as written and decoded), to scrub from any text shown. */
  secrets: string[]
}

const SCHEMES: Record<string, UrlDialect> = {sqlite: 'sqlite', sqlite3: 'sqlite', postgres: 'postgres', postgresql: 'postgres', mysql: 'mysql', mariadb: 'mysql'}
const EXAMPLES: Record<UrlDialect, string> = {
  sqlite: 'sqlite:///absolute/path/db.sqlite3',
  postgres: 'postgres://user:password@host:5432/database',
  mysql: 'mysql://user:password@host:3306/database',
}
const ENCODE = 'percent-encode special characters in the user and password (@ → %40, : → %3A, / → %2F, ? → %3F, # → %23, % → %25)'

/** Query parameters that may carry a secret (pg and mysql2 both take ?password=). */
const SECRET_PARAM = /pass|pwd|secret|token|auth|key/i

/** `source` names where the URL came from in messages (DATABASE_URL, or a knexfile's connection). */
export function parseDatabaseUrl(raw: string, root: string, source = 'DATABASE_URL'): ParsedDatabaseUrl {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1]?.toLowerCase()
  const dialect = scheme === undefined ? undefined : SCHEMES[scheme]
  if (dialect === undefined) {
    const what = scheme === undefined ? 'has no scheme' : `has the unknown scheme '${printable(scheme)}:'`
    throw new UsageError(`${source} ${what}: use ${EXAMPLES.sqlite}, ${EXAMPLES.postgres} or ${EXAMPLES.mysql}`)
  }
  if (dialect === 'sqlite') return sqliteUrl(raw, scheme!, root, source)

  const wrong = (problem: string) => invalid(source, dialect, problem)
  const authority = /^[^:]+:\/\/([^/?#]*)/.exec(raw)?.[1]
  if (authority === undefined) throw wrong(`it has no '//' after '${scheme}:'`)
  const ambiguity = ambiguousUserinfo(raw)
  if (ambiguity !== undefined) throw wrong(ambiguity)
  const port = /:(\d+)$/.exec(authority.slice(authority.lastIndexOf('@') + 1))?.[1]
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw wrong(`the port ${port} is out of range (1–65535)`)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw wrong(`it cannot be parsed (check the host and the port)`)
  }
  const secrets: string[] = []
  const keep = (value: string, what: string) => {
    if (value === '') return
    let decoded: string
    try {
      decoded = decodeURIComponent(value)
    } catch {
      throw wrong(`the ${what} has a '%' that is not followed by two hexadecimal digits`)
    }
    secrets.push(value, decoded)
  }
  try {
    decodeURIComponent(url.username)
  } catch {
    throw wrong(`the user has a '%' that is not followed by two hexadecimal digits`)
  }
  keep(url.password, 'password')
  for (const [name, value] of url.searchParams) if (SECRET_PARAM.test(name)) keep(encodeURIComponent(value), `parameter ${name}`)
  return {dialect, url, safe: safeUrl(url), secrets: [...new Set(secrets)]}
}

function invalid(source: string, dialect: UrlDialect, problem: string): UsageError {
  return new UsageError(`${source} is not a valid ${dialect} URL: ${problem}: use ${EXAMPLES[dialect]}, and ${ENCODE}`)
}

/** A knexfile's connection string: refused, as DATABASE_URL is, when where its password ends is ambiguous. */
export function refuseAmbiguousConnectionString(raw: string, dialect: 'postgres' | 'mysql', source: string): void {
  if (!raw.includes('://')) return // pg's socket: and other forms hold no user-info
  const ambiguity = ambiguousUserinfo(raw)
  if (ambiguity !== undefined) throw invalid(source, dialect, ambiguity)
}

/**
 * Why the user-info part of a server URL cannot be told apart from the rest, or undefined. The
 * WHATWG parser ends the user-info at the first '/', '?' or '#' and the host at the last '@' before
 * it, so an unencoded '@', '#', '?' or '/' in a password either fails to parse or, worse, parses as
 * another host with the password's tail in the path, query or fragment (and then shown, since it is
 * not "the password"). Read as a person would (the user-info runs to the LAST '@' of the URL), any of
 * these before that '@', or a '#' anywhere (a database URL has no fragment), is refused.
 */
function ambiguousUserinfo(raw: string): string | undefined {
  const rest = raw.slice(raw.indexOf('://') + 3)
  const userinfo = rest.slice(0, Math.max(0, rest.lastIndexOf('@')))
  if (/[@#?/]/.test(userinfo)) return `an '@', '#', '?' or '/' before its last '@' makes it ambiguous where the password ends`
  if (rest.includes('#')) return `a '#' in it starts a fragment, which cuts a password or parameter short`
  return undefined
}

function sqliteUrl(raw: string, scheme: string, root: string, source: string): ParsedDatabaseUrl {
  let rest = raw.slice(scheme.length + 1)
  if (rest.startsWith('//')) rest = rest.slice(2) // sqlite:///abs/path → /abs/path
  if (rest === '') throw new UsageError(`${source} names no sqlite file: use ${EXAMPLES.sqlite}`)
  let file: string
  try {
    file = decodeURIComponent(rest)
  } catch {
    throw new UsageError(`${source} has a '%' that is not followed by two hexadecimal digits: use ${EXAMPLES.sqlite}, with % written %25`)
  }
  const filename = file === ':memory:' ? file : path.resolve(root, file)
  return {dialect: 'sqlite', filename, safe: `sqlite:${filename}`, secrets: []}
}

/** The URL with its password and every secret-looking parameter masked. */
function safeUrl(url: URL): string {
  const masked = new URL(url.href)
  if (masked.password) masked.password = '***'
  for (const name of [...masked.searchParams.keys()]) if (SECRET_PARAM.test(name)) masked.searchParams.set(name, '***')
  return masked.href
}

/** A connection string (from a knexfile) for messages: masked, or only its scheme when it does not parse. */
export function safeConnectionString(raw: string): string {
  try {
    return safeUrl(new URL(raw))
  } catch {
    return `${/^[a-z][a-z0-9+.-]*:/i.exec(raw)?.[0] ?? ''}//(a connection string that does not parse)`
  }
}

/** The secrets of a connection string, or none when it does not parse. */
export function connectionStringSecrets(raw: string): string[] {
  try {
    const url = new URL(raw)
    const values = [url.password, ...[...url.searchParams].filter(([name]) => SECRET_PARAM.test(name)).map(([, value]) => value)].filter(Boolean)
    return [...new Set(values.flatMap((value) => [value, safeDecode(value)]))]
  } catch {
    return []
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/** A name from user input for a message: control characters shown escaped. */
function printable(text: string): string {
  return JSON.stringify(text).slice(1, -1)
}

/** Every occurrence of each secret replaced by ***: the last guard before text is shown. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let scrubbed = text
  // Longest first, so that a secret and its decoded form (which may contain it) are both caught.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) if (secret.length >= 3) scrubbed = scrubbed.split(secret).join('***')
  return scrubbed
}
