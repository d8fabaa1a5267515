import type {EndRequest} from './recorder'

// What the spool holds and what reading it finds (spool.ts writes it, spool-reading.ts reads it).

/** An outcome kept on local disk because the database could not take it. */
export interface SpooledOutcome {
  request: EndRequest
  /** Where it is kept (for messages). */
  where: string
  /** Recorded at last: forget it. */
  remove(): void
  /** It can never be recorded (the database refuses it): set it aside, out of the way of the ticks; returns where it went. */
  setAside(): string
}

/** A spool file that is not an outcome this tick can record (empty, cut short, not JSON, not a file…): set aside, never read again. */
export interface RefusedFile {
  where: string
  /** Why, in words. */
  problem: string
  /** Where it was moved, or why it could not be. */
  setAside: {as: string} | {failed: string}
}

export interface SpoolReading {
  outcomes: SpooledOutcome[]
  refused: RefusedFile[]
}

/** One spool file: an outcome for one database. */
export interface Entry {
  version: 1
  /** The database the outcome belongs to (its description, without secrets): another one's entries are left alone. */
  database: string
  spooledAt: string
  request: EndRequest
}
