import {closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync} from 'node:fs'
import path from 'node:path'
import type {EndRequest} from './recorder'
import type {Entry, SpoolReading} from './spool-types'

/**
 * Where a run's outcome waits when the database cannot take it: the next tick on this machine
 * records it before it decides, so a finished run is neither lost nor run again.
 */
export interface OutcomeSpool {
  add(request: EndRequest): string
  /** The outcomes waiting for this database, and the files that could not be read (set aside as they are found). */
  pending(): SpoolReading
  /** Whether anything waits (cheap: the fast path asks it every minute). */
  hasPending(): boolean
}

/**
 * The spool as JSON files in a folder (the project's var/spool), each written whole and durable: a
 * temporary file, fsynced, renamed, then the folder fsynced, so a power loss leaves either the
 * whole file or none. Reading, every file is input: one that is not a valid outcome is set aside
 * (renamed *.failed) and reported, and the others are still recorded.
 */
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
    const temporary = `${file}.tmp`
    try {
      writeDurably(temporary, `${JSON.stringify(entry, null, 2)}\n`)
      renameSync(temporary, file)
    } catch (error) {
      // A full disk leaves a partial file: never leave it behind.
      rmSync(temporary, {force: true})
      throw error
    }
    syncFolder(this.dir)
    return file
  }

  pending(): SpoolReading {
    // Reading checks every file: the full tick's work, loaded only then (the fast path asks hasPending alone).
    return (require('./spool-reading') as typeof import('./spool-reading')).readSpool(this.dir, this.database)
  }

  hasPending(): boolean {
    return existsSync(this.dir) && readdirSync(this.dir).some((file) => file.endsWith('.json'))
  }
}

/** Write a file and make it durable before it is renamed into place. */
function writeDurably(file: string, text: string): void {
  const fd = openSync(file, 'w', 0o600)
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** The rename is durable once the folder is (a folder cannot be fsynced everywhere: Windows says EISDIR or EPERM). */
function syncFolder(dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}


