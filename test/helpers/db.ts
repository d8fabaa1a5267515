import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import type {Knex} from 'knex'
import {configFromUrl, openDatabase, type DatabaseConfig} from '../../src/core/database'
import {migrate} from '../../src/core/migrations'

export interface TestDatabase {
  db: Knex
  file: string
  url: string
  config: DatabaseConfig
  /** Another connection to the same file, as a second process would have. */
  connect(): Knex
  close(): Promise<void>
}

/** A fresh, migrated sqlite file in a temporary folder. */
export async function freshDatabase(options: {migrated?: boolean} = {}): Promise<TestDatabase> {
  const dir = mkdtempSync(path.join(tmpdir(), 'manage-test-'))
  const file = path.join(dir, 'db.sqlite3')
  const url = `sqlite://${file}`
  const config = configFromUrl(url, dir)
  const db = openDatabase(config)
  if (options.migrated ?? true) await migrate(db, path.join(dir, 'no-project-migrations'))
  const others: Knex[] = []
  return {
    db,
    file,
    url,
    config,
    connect() {
      const other = openDatabase(config)
      others.push(other)
      return other
    },
    async close() {
      await Promise.all([db, ...others].map((k) => k.destroy()))
      rmSync(dir, {recursive: true, force: true})
    },
  }
}
