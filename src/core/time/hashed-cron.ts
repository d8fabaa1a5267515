import {isHashed} from './cron-expression'

/**
 * Jenkins' H in cron expressions: `H 3 * * *` is "some minute of 3 a.m.", the same minute for a
 * job on every server, every deploy and every Node version, and a different one for most other
 * jobs, so 100 jobs written `H * * * *` spread over the hour instead of all firing at :00.
 *
 * The value is the job's own: SHA-256 of its code; the field at position i (seconds 0, minutes 1,
 * hours 2, day of month 3, month 4, day of week 5, whether or not the expression has a seconds
 * field) reads digest bytes 4i..4i+3 as an unsigned 32-bit big-endian integer, so each field gets
 * its own value. (cron-parser has an H too, but drawn from its own PRNG, which may change with its
 * version: resolved here, cron-parser only ever sees numbers.) Changing any of this moves every
 * H job: test/unit/hashed-cron.test.ts pins a few resolutions. Whether an expression has an H at
 * all is cron-expression.ts's isHashed: the tick loads this file only for a job that has one.
 */

/** The forms of H a term may take: H, H(a-b), H/n, H(a-b)/n. */
const FORM = /^H(?:\((\d+)-(\d+)\))?(?:\/(\d+))?$/i

interface Field {
  name: string
  /** The field's values, for H(a-b). */
  low: number
  high: number
  /** The top of a bare H or H/n (day of month: 28, valid in every month, as in Jenkins; day of week: 6, Sunday once). */
  hashHigh: number
  /** A step to suggest in a fix. */
  step: number
}

/** In digest order: seconds first. */
const FIELDS: readonly Field[] = [
  {name: 'second', low: 0, high: 59, hashHigh: 59, step: 15},
  {name: 'minute', low: 0, high: 59, hashHigh: 59, step: 15},
  {name: 'hour', low: 0, high: 23, hashHigh: 23, step: 6},
  {name: 'day-of-month', low: 1, high: 31, hashHigh: 28, step: 7},
  {name: 'month', low: 1, high: 12, hashHigh: 12, step: 3},
  {name: 'day-of-week', low: 0, high: 7, hashHigh: 6, step: 2},
]

/** An H expression resolved for one code: the plain expression, or what is wrong with an H and the fix (to follow "cron = '…' "). */
export type Resolution = {cron: string; problem?: undefined} | {cron?: undefined; problem: string}

const MEMO_LIMIT = 5000
const resolved = new Map<string, Resolution>()

/**
 * `expression` (trimmed) with each H replaced by its value for `code`. Fields of an expression
 * that has neither five nor six fields are left as they are (the expression's own check says
 * so). Kept per (expression, code): the scheduler loads its jobs at every wake.
 */
export function resolveHashedCron(expression: string, code: string): Resolution {
  const key = `${code}\u0000${expression}`
  let answer = resolved.get(key)
  if (answer === undefined) {
    answer = resolve(expression, code)
    if (resolved.size >= MEMO_LIMIT) resolved.clear()
    resolved.set(key, answer)
  }
  return answer
}

function resolve(expression: string, code: string): Resolution {
  const parts = expression.split(/\s+/)
  if (parts.length !== 5 && parts.length !== 6) return {cron: expression}
  const offset = parts.length === 5 ? 1 : 0
  let digest: string | undefined
  const out: string[] = []
  for (let i = 0; i < parts.length; i++) {
    if (!isHashed(parts[i])) {
      out.push(parts[i])
      continue
    }
    const position = i + offset
    digest ??= sha256(code)
    // Bytes 4i..4i+3, big-endian: hex digits 8i..8i+7.
    const field = resolveField(parts[i], FIELDS[position], Number.parseInt(digest.slice(8 * position, 8 * position + 8), 16))
    if (field.problem !== undefined) return field
    out.push(field.cron)
  }
  return {cron: out.join(' ')}
}

/** One field, a comma-separated list of terms: each H term resolved (with the field's one value), the others kept. */
function resolveField(text: string, field: Field, hash: number): Resolution {
  const terms = text.split(',')
  for (let i = 0; i < terms.length; i++) {
    if (!isHashed(terms[i])) continue
    const term = resolveTerm(terms[i], field, hash)
    if (term.problem !== undefined) return term
    terms[i] = term.cron
  }
  return {cron: terms.join(',')}
}

function resolveTerm(term: string, field: Field, hash: number): Resolution {
  const where = `has ${term} in the ${field.name} field`
  const match = FORM.exec(term)
  if (!match) return {problem: `${where}, not a form of H: use H, H(a-b), H/n or H(a-b)/n, e.g. H(${field.low}-${field.hashHigh})`}
  const ranged = match[1] !== undefined
  const low = ranged ? Number(match[1]) : field.low
  const high = ranged ? Number(match[2]) : field.hashHigh
  if (ranged && low > high) return {problem: `${where}, a range from high to low: write it low to high, e.g. H(${high}-${low})`}
  if (ranged && (low < field.low || high > field.high)) {
    return {problem: `${where}, beyond ${field.low}-${field.high}: keep the range within ${field.low}-${field.high}, e.g. H(${Math.max(low, field.low)}-${Math.min(high, field.high)})`}
  }
  const size = high - low + 1
  if (match[3] === undefined) return {cron: String(low + (hash % size))}
  const step = Number(match[3])
  if (step < 1 || step > size) {
    const range = ranged ? `(${low}-${high})` : ''
    return {problem: `${where}, a step outside 1-${size} (the values of ${low}-${high}): use a step from 1 to ${size}, e.g. H${range}/${Math.min(field.step, size)}`}
  }
  // Jenkins' H/n: from a hashed start below n, every n up to the top.
  const values: number[] = []
  for (let value = low + (hash % step); value <= high; value += step) values.push(value)
  return {cron: values.join(',')}
}

type Crypto = typeof import('node:crypto')
let crypto: Crypto | undefined

/**
 * The digest in hex. node:crypto is required only when a job has an H: most ticks never need it.
 * crypto.hash (Node ≥ 20.12) is the one-shot form, and a string costs the collector less than a
 * Buffer: a tick with 1,000 H jobs hashes each code once (~3 µs each, against ~10 µs with createHash to a Buffer).
 */
function sha256(text: string): string {
  crypto ??= require('node:crypto') as Crypto
  return crypto.hash('sha256', text, 'hex')
}

/** The job code's hash at a 4-byte position of its SHA-256 (0–7; H fields use 0–5): a number the same on every server. */
export function codeHash(code: string, position: number): number {
  return Number.parseInt(sha256(code).slice(8 * position, 8 * position + 8), 16)
}
