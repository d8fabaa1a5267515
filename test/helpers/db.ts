import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import type {Knex} from 'knex'
import {knexSource, type ConnectionSource} from '../../src/core/db/connection-source'
import {configFromUrl, openDatabase, type DatabaseConfig, type Dialect} from '../../src/core/db/database'
import {migrate} from '../../src/core/db/migrations'
import {SqlJobLock, type Holder} from '../../src/core/run-log/job-lock'
import {claimJobOn} from '../../src/core/run-log/recorder'

/** A project without migrations of its own: only the framework's apply. */
const NO_MIGRATIONS = path.join(tmpdir(), 'manage-no-project-migrations')

/** The servers the tests use; .ci/run makes sure they are up. Point these at your own to test there. */
export const SERVER_URLS: Record<Exclude<Dialect, 'sqlite'>, string> = {
  postgres: process.env.MANAGE_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test',
  mysql: process.env.MANAGE_TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test',
}

/**
 * The backends the suite runs on: MANAGE_TEST_BACKENDS (e.g. `sqlite`, or `sqlite,postgres`) to
 * work without the servers, else all three. CI (.ci/run) always runs all three.
 */
export const BACKENDS: Dialect[] = backendsFrom(process.env.MANAGE_TEST_BACKENDS)

function backendsFrom(setting: string | undefined): Dialect[] {
  if (setting === undefined || setting.trim() === '') return ['sqlite', 'postgres', 'mysql']
  const names = setting.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean)
  const known: Record<string, Dialect> = {sqlite: 'sqlite', postgres: 'postgres', postgresql: 'postgres', mysql: 'mysql', mariadb: 'mysql'}
  const unknown = names.filter((name) => !(name in known))
  if (unknown.length > 0) throw new Error(`MANAGE_TEST_BACKENDS='${setting}' names ${unknown.map((name) => `'${name}'`).join(', ')}: use a comma-separated list of sqlite, postgres and mysql`)
  return [...new Set(names.map((name) => known[name]))]
}

/** `it` for a test that needs this backend's server, else `it.skip` (see MANAGE_TEST_BACKENDS). */
export function itOn(dialect: Dialect): Mocha.TestFunction | Mocha.PendingTestFunction {
  return BACKENDS.includes(dialect) ? it : it.skip
}

export interface TestDatabase {
  dialect: Dialect
  db: Knex
  /** A DATABASE_URL for child processes. */
  url: string
  config: DatabaseConfig
  /** Another connection pool to the same database, as a second process would have. */
  connect(): Knex
  close(): Promise<void>
}

/** Swap the database name (the URL's path) of a server URL. */
function withDatabase(url: string, name: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${name}`
  return parsed.toString()
}

/**
 * A fresh, migrated database of the given kind: a sqlite file in a temporary folder, or a new
 * database on the PostgreSQL / MariaDB server, dropped again by close(), so runs never collide.
 */
export async function freshDatabase(options: {migrated?: boolean; dialect?: Dialect; createOptions?: string} = {}): Promise<TestDatabase> {
  const dialect = options.dialect ?? 'sqlite'
  let url: string
  let cleanup: () => Promise<void>
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'manage-test-'))
    url = `sqlite://${path.join(dir, 'db.sqlite3')}`
    cleanup = async () => rmSync(dir, {recursive: true, force: true})
  } else {
    const name = `manage_test_${process.pid}_${randomBytes(4).toString('hex')}`
    const admin = openDatabase(configFromUrl(SERVER_URLS[dialect], process.cwd()))
    try {
      await admin.raw(`CREATE DATABASE ${name}${options.createOptions ? ` ${options.createOptions}` : ''}`)
    } catch (error) {
      await admin.destroy()
      throw new Error(`cannot create a test database on ${SERVER_URLS[dialect]} (is the server running? .ci/run starts it): ${(error as Error).message}`)
    }
    await admin.destroy()
    url = withDatabase(SERVER_URLS[dialect], name)
    cleanup = async () => {
      const dropper = openDatabase(configFromUrl(SERVER_URLS[dialect], process.cwd()))
      try {
        await dropper.raw(dialect === 'postgres' ? `DROP DATABASE IF EXISTS ${name} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${name}`)
      } finally {
        await dropper.destroy()
      }
    }
  }

  const config = configFromUrl(url, process.cwd())
  const db = openDatabase(config)
  if (options.migrated ?? true) await migrate(db, {source: NO_MIGRATIONS, build: NO_MIGRATIONS})
  const others: Knex[] = []
  return {
    dialect,
    db,
    url,
    config,
    connect() {
      const other = openDatabase(config)
      others.push(other)
      return other
    },
    async close() {
      await Promise.all([db, ...others].map((k) => k.destroy()))
      await cleanup()
    },
  }
}

/** A row as plain values: Dates (PostgreSQL, MySQL) become ISO strings, as sqlite stores them. */
export function plain<T extends Record<string, unknown>>(row: T): T {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(row)) out[key] = value instanceof Date ? value.toISOString() : value
  return out as T
}

/** The rows of a table, oldest first, as plain values. */
export async function tableRows(db: Knex, table: string): Promise<Array<Record<string, unknown>>> {
  return (await db(table).orderBy(table === 'cron_job' ? 'code' : 'id')).map((row: Record<string, unknown>) => plain(row))
}

/**
 * Make every lease in the database run out, as time passing would. Leases follow a real clock (the
 * server's on PostgreSQL and MySQL, the system's on sqlite), which MANAGE_NOW does not move, so the
 * test moves the leases instead.
 */
export async function expireLeases(t: TestDatabase): Promise<void> {
  const past =
    t.dialect === 'postgres' ? t.db.raw(`now() - interval '1 second'`) : t.dialect === 'mysql' ? t.db.raw('UTC_TIMESTAMP(3) - INTERVAL 1 SECOND') : new Date(Date.now() - 1000).toISOString()
  // A lease already in the past stays (a test that drives the lease clock itself set it there).
  await t.db('cron_job').where('lease_expires_at', '>', past).update({lease_expires_at: past})
  await t.db('cron_job_log').where('lease_expires_at', '>', past).update({lease_expires_at: past})
  await t.db('cron_limit_slot').where('lease_expires_at', '>', past).update({lease_expires_at: past})
}

/**
 * The job lock, and a claim taken as another process takes it: with the recorder's claim
 * (claimJobOn), outside any run. Tests use it to hold a job "elsewhere" and to test leases.
 */
export class TestLock extends SqlJobLock {
  private readonly connections: ConnectionSource

  constructor(db: Knex, dialect: Dialect) {
    const connections = knexSource(db, dialect)
    super(connections)
    this.connections = connections
  }

  claim(code: string, holder: Holder, nowMs: number, leaseMs: number): Promise<boolean> {
    return this.connections.use((connection) => claimJobOn(connection, code, holder, nowMs, leaseMs))
  }
}

/** `source`, except for the statements `fails` answers with an error (a reset connection, a deadlock): those fail as the server would have them. */
export function faultySource(source: ConnectionSource, fails: (sql: string, kind: 'run' | 'all') => Error | null): ConnectionSource {
  return {
    dialect: source.dialect,
    use: (body) =>
      source.use((connection) =>
        body({
          dialect: connection.dialect,
          run: (sql, bindings) => {
            const error = fails(sql, 'run')
            return error ? Promise.reject(error) : connection.run(sql, bindings)
          },
          all: (sql, bindings) => {
            const error = fails(sql, 'all')
            return error ? Promise.reject(error) : connection.all(sql, bindings)
          },
        }),
      ),
  }
}
