import type {Knex} from 'knex'
import type {Dialect} from './database'

/**
 * How instants go in and out of the database. sqlite gets fixed-width ISO-8601 UTC text
 * (its text order is time order); PostgreSQL and MySQL get Date objects for their datetime(3) columns.
 */
export interface TimeCodec {
  toDb(ms: number): string | Date
  fromDb(value: unknown): number | null
}

export function timeCodec(dialect: Dialect): TimeCodec {
  return {
    toDb: dialect === 'sqlite' ? (ms) => new Date(ms).toISOString() : (ms) => new Date(ms),
    fromDb(value) {
      if (value === null || value === undefined) return null
      if (value instanceof Date) return value.getTime()
      if (typeof value === 'number') return value
      const ms = Date.parse(String(value))
      if (Number.isNaN(ms)) throw new Error(`unreadable time in the run log: ${String(value)}`)
      return ms
    },
  }
}

/**
 * The clock leases are measured by. On PostgreSQL and MySQL it is the database server's own
 * clock, in SQL, so a server whose clock is off (or a process run with MANAGE_NOW) can neither
 * steal a live lease nor keep a dead one. On sqlite (one host) it is the caller's clock.
 */
export interface LeaseClock {
  /** The server's "now" in SQL, or null when leases follow the caller's clock (sqlite). */
  sqlNow: string | null
  /** "Now" as a value to compare lease times with. */
  now(appNowMs: number): Knex.Raw
  /** "Now" plus `ms`: a lease expiry. */
  after(appNowMs: number, ms: number): Knex.Raw
}

export function leaseClock(db: Knex, dialect: Dialect): LeaseClock {
  const codec = timeCodec(dialect)
  switch (dialect) {
    case 'postgres':
      return {
        sqlNow: 'now()',
        now: () => db.raw('now()'),
        after: (_appNowMs, ms) => db.raw(`now() + ? * interval '1 millisecond'`, [ms]),
      }
    case 'mysql':
      return {
        sqlNow: 'UTC_TIMESTAMP(3)',
        now: () => db.raw('UTC_TIMESTAMP(3)'),
        after: (_appNowMs, ms) => db.raw('UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND', [Math.round(ms * 1000)]),
      }
    default:
      return {
        sqlNow: null,
        now: (appNowMs) => db.raw('?', [codec.toDb(appNowMs)]),
        after: (appNowMs, ms) => db.raw('?', [codec.toDb(appNowMs + ms)]),
      }
  }
}

/** The database server's time, in ms (for the tick's clock on PostgreSQL and MySQL). */
export async function databaseNow(db: Knex, dialect: Dialect): Promise<number> {
  const sql = dialect === 'postgres' ? 'SELECT now() AS now' : dialect === 'mysql' ? 'SELECT UTC_TIMESTAMP(3) AS now' : null
  if (sql === null) return Date.now()
  const result = await db.raw(sql)
  const row = dialect === 'postgres' ? (result as {rows: Array<{now: Date}>}).rows[0] : (result as Array<Array<{now: Date}>>)[0][0]
  return timeCodec(dialect).fromDb(row.now)!
}
