import type {ConnectionSource} from '../db/connection-source'
import type {Dialect} from '../db/database'

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

/** The database server's "now" in SQL, or null where leases follow the caller's clock (sqlite). */
export const SERVER_NOW_SQL: Record<Dialect, string | null> = {sqlite: null, postgres: 'now()', mysql: 'UTC_TIMESTAMP(3)'}

/** An SQL fragment with its own `?` bindings. */
export type SqlFragment = [sql: string, bindings: unknown[]]

/**
 * The clock leases are measured by. On PostgreSQL and MySQL it is the database server's own
 * clock, in SQL, so a server whose clock is off (or a process run with MANAGE_NOW) can neither
 * steal a live lease nor keep a dead one. On sqlite (one host) it is the caller's clock.
 */
export function leaseNowSql(dialect: Dialect, appNowMs: number): SqlFragment {
  const server = SERVER_NOW_SQL[dialect]
  return server === null ? ['?', [timeCodec(dialect).toDb(appNowMs)]] : [server, []]
}

/** The lease clock's "now" plus `ms`: a lease expiry. */
export function leaseAfterSql(dialect: Dialect, appNowMs: number, ms: number): SqlFragment {
  switch (dialect) {
    case 'postgres':
      return [`${SERVER_NOW_SQL.postgres} + ? * interval '1 millisecond'`, [ms]]
    case 'mysql':
      return [`${SERVER_NOW_SQL.mysql} + INTERVAL ? MICROSECOND`, [Math.round(ms * 1000)]]
    default:
      return ['?', [timeCodec(dialect).toDb(appNowMs + ms)]]
  }
}

/** The database server's time, in ms (for the tick's clock on PostgreSQL and MySQL). */
export async function databaseNow(source: ConnectionSource): Promise<number> {
  const server = SERVER_NOW_SQL[source.dialect]
  if (server === null) return Date.now()
  const [row] = await source.use((connection) => connection.all(`SELECT ${server} AS now`))
  return timeCodec(source.dialect).fromDb(row.now)!
}
