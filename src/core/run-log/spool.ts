import {existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import type {EndRequest} from './recorder'

/** An outcome kept on local disk because the database could not take it. */
export interface SpooledOutcome {
  request: EndRequest
  /** Where it is kept (for messages). */
  where: string
  /** Recorded at last: forget it. */
  remove(): void
  /** It can never be recorded (the database refuses it): set it aside, out of the way of the ticks. */
  setAside(): void
}

/**
 * Where a run's outcome waits when the database cannot take it: the next tick on this machine
 * records it before it decides, so a finished run is neither lost nor run again.
 */
export interface OutcomeSpool {
  add(request: EndRequest): string
  /** The outcomes waiting for this database. */
  pending(): SpooledOutcome[]
  /** Whether anything waits (cheap: the fast path asks it every minute). */
  hasPending(): boolean
}

interface Entry {
  version: 1
  /** The database the outcome belongs to (its description, without secrets): another one's entries are left alone. */
  database: string
  spooledAt: string
  request: EndRequest
}

/** The spool as JSON files in a folder (the project's var/spool), each written whole (a temporary file, then a rename). */
export class FileSpool implements OutcomeSpool {
  constructor(
    private readonly dir: string,
    private readonly database: string,
  ) {}

  add(request: EndRequest): string {
    mkdirSync(this.dir, {recursive: true})
    // One file per run (its id); the time and pid keep two databases' runs with one id apart.
    const file = path.join(this.dir, `run-${request.runId}-${Date.now()}-${process.pid}.json`)
    const entry: Entry = {version: 1, database: this.database, spooledAt: new Date().toISOString(), request}
    writeFileSync(`${file}.tmp`, `${JSON.stringify(entry, null, 2)}\n`)
    renameSync(`${file}.tmp`, file)
    return file
  }

  pending(): SpooledOutcome[] {
    if (!existsSync(this.dir)) return []
    const waiting: SpooledOutcome[] = []
    for (const name of readdirSync(this.dir).filter((file) => file.endsWith('.json')).sort()) {
      const file = path.join(this.dir, name)
      const entry = JSON.parse(readFileSync(file, 'utf8')) as Entry
      if (entry.database !== this.database) continue
      waiting.push({request: entry.request, where: file, remove: () => rmSync(file, {force: true}), setAside: () => renameSync(file, `${file}.failed`)})
    }
    return waiting
  }

  hasPending(): boolean {
    return existsSync(this.dir) && readdirSync(this.dir).some((file) => file.endsWith('.json'))
  }
}
