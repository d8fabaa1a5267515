import {mkdirSync} from 'node:fs'
import path from 'node:path'
import type {Knex} from 'knex'
import {isConnectionLost, SQLITE_BUSY_TIMEOUT_MS, type DatabaseConfig, type Dialect} from './database'
import {requirePg} from './pg-driver'
import {PreparedStatements, read, sqlConnection, write, type Row, type SqlConnection, type Statement, type StatementListener} from './sql-connection'
import {requireSqlite3} from './sqlite3-module'

/**
 * Where the run log's SQL goes. The run store, the lock and the run recorder speak plain SQL
 * (run-log/statements.ts) to one of these: knex's connections (commands, tests) or a connection
 * of the driver's own (the per-minute tick, which then never loads knex, the largest part of
 * its start-up).
 */
export interface ConnectionSource {
  readonly dialect: Dialect
  /** Run `body` on one connection, so that a transaction stays on it. */
  use<T>(body: (connection: SqlConnection) => Promise<T>): Promise<T>
}

/** One statement, on a turn of its own: its rows. */
export function rowsOf(source: ConnectionSource, statement: Statement): Promise<Row[]> {
  return source.use((connection) => read(connection, statement))
}

/** One statement, on a turn of its own: how many rows it changed. */
export async function changesOf(source: ConnectionSource, statement: Statement): Promise<number> {
  return (await source.use((connection) => write(connection, statement))).changes
}

/**
 * Borrow one of knex's connections for each use. `body` must not wait for knex queries itself,
 * which on sqlite (a pool of one) would wait for this very connection. Statements are reported as
 * knex's 'query' events, as if knex had sent them.
 */
export function knexSource(db: Knex, dialect: Dialect): ConnectionSource {
  const onStatement: StatementListener = (sql, bindings) => db.emit('query', {sql, bindings: [...bindings], __manage: true})
  return {
    dialect,
    async use(body) {
      const raw: unknown = await db.client.acquireConnection()
      try {
        return await body(sqlConnection(dialect, raw, {onStatement}))
      } finally {
        await db.client.releaseConnection(raw)
      }
    },
  }
}

export interface DriverSource extends ConnectionSource {
  /** Close the connection (if it was opened), after the uses under way. */
  close(): Promise<void>
}

export interface DriverSourceOptions {
  /** Told of every statement (MANAGE_SQL_COUNT). */
  onStatement?: StatementListener
  /** sqlite: create the file when it is missing (default true, as knex does). */
  create?: boolean
  /** PostgreSQL, MySQL: how long to wait for the connection (the settings' connectTimeoutSeconds). */
  connectTimeoutMs?: number
  /** PostgreSQL, MySQL: how long one statement may take (the settings' statementTimeoutSeconds). */
  statementTimeoutMs?: number
}

/**
 * One connection of the database's own driver (sqlite3, pg, mysql2), opened on first use, with the
 * settings knex would give it (sqlite: WAL and a 5 s busy timeout). Uses take turns, so a
 * transaction is never interleaved with another job's statements. On sqlite its statements are
 * prepared once and kept until close (see PreparedStatements).
 */
export function driverSource(config: DatabaseConfig, options: DriverSourceOptions = {}): DriverSource {
  const prepared = config.dialect === 'sqlite' ? new PreparedStatements() : undefined
  let opened: Promise<{raw: unknown; connection: SqlConnection}> | undefined
  let turn: Promise<unknown> = Promise.resolve()
  const connect = async () => {
    try {
      const raw = await openDriver(config, options)
      return {raw, connection: sqlConnection(config.dialect, raw, {onStatement: options.onStatement, prepared, timeoutMs: options.statementTimeoutMs})}
    } catch (error) {
      opened = undefined // a connection that could not be made is tried again by the next use
      throw error
    }
  }
  const open = () => (opened ??= connect())
  return {
    dialect: config.dialect,
    use(body) {
      const run = turn.then(async () => {
        const {raw, connection} = await open()
        // Between uses the idle connection does not keep the process alive: only work does, so a
        // tick whose jobs wait on nothing is seen as such (see Containment).
        holdOpen(raw, true)
        try {
          return await body(connection)
        } catch (error) {
          // A connection that is gone is let go: the next use opens a new one.
          if (isConnectionLost(error) && opened !== undefined) {
            opened = undefined
            void closeDriver(config.dialect, raw)
          }
          throw error
        } finally {
          holdOpen(raw, false)
        }
      })
      turn = run.catch(() => undefined)
      return run
    },
    async close() {
      await turn
      if (!opened) return
      const {raw} = await opened.catch(() => ({raw: null}))
      opened = undefined
      if (raw === null) return
      await prepared?.finalize()
      await closeDriver(config.dialect, raw)
    },
  }
}

/** Ref or unref a server connection's socket (sqlite has none). */
function holdOpen(raw: unknown, hold: boolean): void {
  const socket = (raw as {connection?: {stream?: Socket}; stream?: Socket}).connection?.stream ?? (raw as {stream?: Socket}).stream
  if (socket && typeof socket.ref === 'function') {
    if (hold) socket.ref()
    else socket.unref()
  }
}

interface Socket {
  ref(): void
  unref(): void
}

interface Closable {
  close?(callback: (error: Error | null) => void): void
  end?(callback?: (error?: Error | null) => void): unknown
  destroy?(): void
  connection?: {stream?: {destroy(): void}}
}

/** How long closing a connection may take before it is torn down: a connection a timeout broke may never answer its goodbye. */
const CLOSE_WAIT_MS = 2000

async function openDriver(config: DatabaseConfig, options: DriverSourceOptions): Promise<unknown> {
  const create = options.create ?? true
  const connection = config.knex.connection
  if (typeof connection === 'function') throw new Error('a knexfile connection given as a function is opened by knex only')
  switch (config.dialect) {
    case 'sqlite': {
      const filename = (connection as {filename: string}).filename
      if (create && filename !== ':memory:') mkdirSync(path.dirname(filename), {recursive: true})
      const sqlite3 = requireSqlite3()
      const db = await new Promise<import('sqlite3').Database>((resolve, reject) => {
        const mode = sqlite3.OPEN_READWRITE | (create ? sqlite3.OPEN_CREATE : 0)
        const handle: import('sqlite3').Database = new sqlite3.Database(filename, mode, (error) => (error ? reject(error) : resolve(handle)))
      })
      db.configure('busyTimeout', SQLITE_BUSY_TIMEOUT_MS)
      if (create) await new Promise<void>((resolve, reject) => db.run('PRAGMA journal_mode = WAL', (error) => (error ? reject(error) : resolve())))
      return db
    }
    case 'postgres': {
      const {Client} = requirePg()
      const client = new Client({
        ...(typeof connection === 'string' ? {connectionString: connection} : (connection as object)),
        // pg waits forever by default: for a server that takes the connection and never answers.
        connectionTimeoutMillis: options.connectTimeoutMs,
        // The server cancels a statement past this; the client gives up a little later if the server is gone.
        statement_timeout: options.statementTimeoutMs,
        query_timeout: options.statementTimeoutMs === undefined ? undefined : options.statementTimeoutMs + 1000,
      })
      // A connection that drops while idle reports it here; the next query fails with it.
      client.on('error', () => undefined)
      await client.connect()
      const searchPath = (config.knex as {searchPath?: string | string[]}).searchPath
      if (searchPath) {
        const schemas = (Array.isArray(searchPath) ? searchPath : searchPath.split(',')).map((schema) => `"${schema.trim().replace(/"/g, '""')}"`)
        await client.query(`SET search_path TO ${schemas.join(', ')}`)
      }
      return client
    }
    case 'mysql': {
      const mysql = require('mysql2') as typeof import('mysql2')
      const db = mysql.createConnection({...(connection as import('mysql2').ConnectionOptions), connectTimeout: options.connectTimeoutMs})
      db.on('error', () => undefined)
      await new Promise<void>((resolve, reject) => db.connect((error) => (error ? reject(error) : resolve())))
      return db
    }
  }
}

function closeDriver(dialect: Dialect, raw: unknown): Promise<void> {
  const handle = raw as Closable
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      if (dialect === 'mysql') handle.destroy?.()
      else if (dialect === 'postgres') handle.connection?.stream?.destroy()
      resolve()
    }, CLOSE_WAIT_MS)
    const done = () => {
      clearTimeout(force)
      resolve()
    }
    if (dialect === 'sqlite') handle.close!(done)
    else if (dialect === 'postgres') (handle.end!() as Promise<void>).then(done, done)
    else handle.end!(done)
  })
}
