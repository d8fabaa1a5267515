import type {Dialect} from '../db/database'

/**
 * How instants go in and out of the database. sqlite gets fixed-width ISO-8601 UTC text
 * (its text order is time order); PostgreSQL and MySQL get Date objects for their datetime(3) columns.
 */
export interface TimeCodec {
  toDb(ms: number): string | Date
  fromDb(value: unknown): number | null
}

/** One codec per dialect, made once: every statement asks for one (a scheduler sends many a second). */
const codecs = new Map<Dialect, TimeCodec>()

export function timeCodec(dialect: Dialect): TimeCodec {
  let codec = codecs.get(dialect)
  if (!codec) codecs.set(dialect, (codec = Object.freeze(makeCodec(dialect))))
  return codec
}

function makeCodec(dialect: Dialect): TimeCodec {
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
