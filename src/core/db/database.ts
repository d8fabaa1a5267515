import {existsSync, mkdirSync} from 'node:fs'
import path from 'node:path'
import type {Knex} from 'knex'
import {CommandError, NotMigratedError} from '../base/errors'
import {firstLine} from '../base/text'
import {connectionStringSecrets, parseDatabaseUrl, refuseAmbiguousConnectionString, safeConnectionString} from './database-url'
import {requirePg} from './pg-driver'

export type Dialect = 'sqlite' | 'postgres' | 'mysql'

export interface DatabaseConfig {
  dialect: Dialect
  knex: Knex.Config
  /** For messages: the file, or the URL with its secrets masked. */
  description: string
  /** The password and any other secret of the connection: never shown, scrubbed from every error (see command-end). */
  secrets: string[]
}

/** How long a sqlite connection waits for another process's write lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000

/**
 * Where the database is: DATABASE_URL when set, else the knexfile's entry for the environment
 * (MANAGE_ENV, then NODE_ENV, then 'development').
 */
export function resolveDatabaseConfig(env: NodeJS.ProcessEnv, knexfilePath: string, root: string): DatabaseConfig {
  if (env.DATABASE_URL) return configFromUrl(env.DATABASE_URL, root)
  if (!existsSync(knexfilePath)) {
    throw new CommandError(`no database configured: ${knexfilePath} does not exist; run \`npm run build\` or set DATABASE_URL`)
  }
  const loaded = require(knexfilePath)
  const file = loaded && loaded.__esModule && loaded.default ? loaded.default : loaded
  const environment = env.MANAGE_ENV || env.NODE_ENV || 'development'
  const config: Knex.Config | undefined = file && typeof file === 'object' && 'client' in file ? file : file?.[environment]
  if (!config || typeof config !== 'object') {
    throw new CommandError(`${knexfilePath} has no '${environment}' configuration: add one, or set DATABASE_URL`)
  }
  return fromKnexConfig(config, root, `the knexfile's '${environment}' connection`)
}

/** A knexfile entry as manage uses it; a relative sqlite filename is in the project folder, wherever manage runs from. */
function fromKnexConfig(config: Knex.Config, root: string, source: string): DatabaseConfig {
  const client = String(config.client ?? '')
  const dialect = ['pg', 'postgres', 'postgresql'].includes(client) ? 'postgres' : ['mysql', 'mysql2'].includes(client) ? 'mysql' : undefined
  const connectionString = typeof config.connection === 'string' ? config.connection : (config.connection as {connectionString?: unknown} | undefined)?.connectionString
  if (dialect !== undefined && typeof connectionString === 'string') refuseAmbiguousConnectionString(connectionString, dialect, source)
  if (client === 'sqlite3' || client === 'better-sqlite3') {
    const connection = config.connection as {filename?: string} | undefined
    const filename = connection?.filename === undefined || connection.filename === ':memory:' ? ':memory:' : path.resolve(root, connection.filename)
    return {dialect: 'sqlite', knex: sqliteConfig(filename, config), description: `sqlite file ${filename}`, secrets: []}
  }
  if (client === 'pg' || client === 'postgres' || client === 'postgresql') {
    return {dialect: 'postgres', knex: config, description: `postgres database ${describeConnection(config.connection)}`, secrets: connectionSecrets(config.connection)}
  }
  if (client === 'mysql' || client === 'mysql2') {
    return {dialect: 'mysql', knex: config, description: `mysql database ${describeConnection(config.connection)}`, secrets: connectionSecrets(config.connection)}
  }
  throw new CommandError(`the knexfile's client '${client}' is not supported: use sqlite3, pg or mysql2`)
}

/** The database a DATABASE_URL names (sqlite:, postgres:, mysql:); a malformed one is a UsageError (exit 2) that never shows the URL. */
export function configFromUrl(raw: string, root: string): DatabaseConfig {
  const parsed = parseDatabaseUrl(raw, root)
  if (parsed.dialect === 'sqlite') return {dialect: 'sqlite', knex: sqliteConfig(parsed.filename!, {}), description: `sqlite file ${parsed.filename}`, secrets: []}
  const url = parsed.url!
  const description = `${parsed.dialect} database ${parsed.safe}`
  if (parsed.dialect === 'postgres') return {dialect: 'postgres', knex: {client: 'pg', connection: raw}, description, secrets: parsed.secrets}
  return {
    dialect: 'mysql',
    knex: {
      client: 'mysql2',
      connection: {
        host: url.hostname || '127.0.0.1',
        port: url.port ? Number(url.port) : 3306,
        user: decodeURIComponent(url.username || 'root'),
        // mysql2 takes the password from the URL's query too (?password=…).
        password: url.password ? decodeURIComponent(url.password) : (url.searchParams.get('password') ?? ''),
        database: decodeURIComponent(url.pathname.replace(/^\//, '')),
        timezone: 'Z', // the run log's times are UTC
        dateStrings: false,
      },
    },
    description,
    secrets: parsed.secrets,
  }
}

function sqliteConfig(filename: string, base: Knex.Config): Knex.Config {
  return {
    ...base,
    client: 'sqlite3',
    connection: {filename},
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      ...(base.pool ?? {}),
      // Every claim is one statement; with WAL and a busy timeout, racing processes queue instead of failing.
      afterCreate(connection: {run: (sql: string, callback: (error: Error | null) => void) => void}, done: (error: Error | null, connection: unknown) => void) {
        connection.run(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`, (error) => {
          if (error) return done(error, connection)
          connection.run('PRAGMA journal_mode = WAL', (walError) => done(walError, connection))
        })
      },
    },
  }
}

function describeConnection(connection: unknown): string {
  if (typeof connection === 'string') return safeConnectionString(connection)
  if (connection && typeof connection === 'object') {
    const c = connection as {host?: string; port?: number; database?: string; user?: string; connectionString?: string}
    if (c.connectionString) return safeConnectionString(c.connectionString)
    return `${c.user ?? ''}${c.user ? '@' : ''}${c.host ?? 'localhost'}${c.port ? `:${c.port}` : ''}/${c.database ?? ''}`
  }
  return '(unknown)'
}

/** The secrets a knexfile's connection holds: its password, or those of its connection string. */
function connectionSecrets(connection: unknown): string[] {
  if (typeof connection === 'string') return connectionStringSecrets(connection)
  if (connection && typeof connection === 'object') {
    const c = connection as {password?: unknown; connectionString?: string}
    return [...(typeof c.password === 'string' && c.password ? [c.password] : []), ...(c.connectionString ? connectionStringSecrets(c.connectionString) : [])]
  }
  return []
}

/** knex would print driver errors (with stacks) itself; they reach the user once, as one line, from the CLI. */
const QUIET_LOG = {warn() {}, error() {}, deprecate() {}, debug() {}}

/**
 * Open the database. A sqlite file that is missing is made (its folder first, the file on first
 * use) only when `create` (the default; the commands that write); otherwise it is an error that
 * says to migrate, and nothing is made: a mistyped path from a read-only command leaves no folders.
 * `connectTimeoutMs`: how long a new connection to a server may take (pg waits forever by default).
 */
export function openDatabase(config: DatabaseConfig, options: {connectTimeoutMs?: number; create?: boolean} = {}): Knex {
  if (config.dialect === 'sqlite') {
    const filename = (config.knex.connection as {filename: string}).filename
    if (filename !== ':memory:' && !existsSync(filename)) {
      if (options.create === false) throw new CommandError(`the ${config.description} does not exist: run \`manage migrate\` to create it, or fix DATABASE_URL (or the knexfile)`)
      mkdirSync(path.dirname(filename), {recursive: true})
    }
  }
  // knex is loaded here, not at the top, so commands that never touch the database stay fast.
  const knex = require('knex') as typeof import('knex').knex
  try {
    if (config.dialect === 'postgres') requirePg()
    return knex({log: QUIET_LOG, ...withConnectTimeout(config, options.connectTimeoutMs)})
  } catch (error) {
    throw explainDatabaseError(error, config) ?? error
  }
}

/** The knex config with a connect timeout on a server's connections. */
function withConnectTimeout(config: DatabaseConfig, connectTimeoutMs: number | undefined): Knex.Config {
  const connection = config.knex.connection
  if (connectTimeoutMs === undefined || config.dialect === 'sqlite' || typeof connection === 'function') return config.knex
  const base = typeof connection === 'string' ? {connectionString: connection} : (connection as object)
  const timeout = config.dialect === 'postgres' ? {connectionTimeoutMillis: connectTimeoutMs} : {connectTimeout: connectTimeoutMs}
  return {...config.knex, connection: {...base, ...timeout} as Knex.Config['connection'], acquireConnectionTimeout: config.knex.acquireConnectionTimeout ?? connectTimeoutMs + 5000}
}

/** The connection is gone (the server restarted, the network dropped it): a new one may work. */
export function isConnectionLost(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as {code?: string}).code
  const fatal = (error as {fatal?: boolean}).fatal
  return (
    fatal === true ||
    ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST', '57P01', '57P02', '57P03', '08006', '08003', '08001'].includes(code ?? '') ||
    /Connection terminated|not queryable|Client was closed|timeout expired|Query read timeout|Can't add new command when connection is in closed state/.test(error.message)
  )
}

/**
 * Another transaction's locks: the server chose this one to roll back (a deadlock, PostgreSQL's
 * serialization failure) or it gave up waiting for them (MySQL's lock wait timeout). The same
 * transaction, tried again, goes through.
 */
const CONFLICTS = ['40P01', '40001', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']

/** Worth another try within a budget: the connection is gone, a conflict with another transaction, or sqlite's file is locked by a writer or full for now. */
export function isTransient(error: unknown): boolean {
  const code = (error as {code?: string} | null)?.code
  return isConnectionLost(error) || CONFLICTS.includes(code ?? '') || code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_FULL' || code === 'SQLITE_IOERR'
}

/** No route to the server, or no server at the address. */
const UNREACHABLE = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']
/** The server (or something at its address) took the connection and then dropped it. */
const DROPPED = ['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'PROTOCOL_CONNECTION_LOST', '57P01', '57P02', '57P03']
/** pg's words for a dropped connection (it gives no code), and libpq's. */
const DROPPED_MESSAGE = /^Connection terminated|server closed the connection unexpectedly/

/** Turn a driver's error into one line that says what to do, or null when it is not a known case. */
export function explainDatabaseError(error: unknown, config: DatabaseConfig): CommandError | null {
  if (!(error instanceof Error)) return null
  const code = (error as {code?: string}).code
  const message = error.message
  if (/no such table|ER_NO_SUCH_TABLE/.test(message) || code === '42P01' || code === 'ER_NO_SUCH_TABLE') {
    // sqlite: "no such table: t"; PostgreSQL: relation "t" does not exist; MySQL: Table 'db.t' doesn't exist.
    const table = /no such table: (\w+)|relation "(\w+)"|Table '(?:[^'.]*\.)?(\w+)'/.exec(message)
    return new NotMigratedError(config.description, table ? (table[1] ?? table[2] ?? table[3]) : undefined)
  }
  if (/no such column/.test(message) || code === '42703' || code === 'ER_BAD_FIELD_ERROR') {
    return new CommandError(`the database ${config.description} is behind this version of manage (${firstLine(message)}): run \`manage migrate\``)
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new CommandError(`the ${config.description} stayed locked by another writer (a job's long write transaction through ctx.db?): keep write transactions short`)
  }
  if (code === 'SQLITE_FULL') {
    return new CommandError(`the disk that holds the ${config.description} is full: free some space`)
  }
  if (code === 'SQLITE_CANTOPEN') {
    return new CommandError(`cannot open the ${config.description}: check that its folder exists and is writable, or set DATABASE_URL`)
  }
  if (code === '3D000' || code === 'ER_BAD_DB_ERROR') {
    return new CommandError(`the ${config.description} does not exist: create it (CREATE DATABASE …) or fix DATABASE_URL`)
  }
  const sqlState = (error as {sqlState?: string}).sqlState
  if (code === '28P01' || code === '28000' || sqlState === '28000' || /^ER_(DB)?ACCESS_DENIED/.test(code ?? '')) {
    return new CommandError(`access to the ${config.description} was refused (${firstLine(message)}): check the user and password in DATABASE_URL`)
  }
  if (code === 'ETIMEDOUT' || /^timeout expired$|connection timeout/.test(message)) {
    return new CommandError(`the ${config.description} did not answer within connectTimeoutSeconds: is the server up and reachable? check DATABASE_URL, or raise connectTimeoutSeconds in the settings`)
  }
  if (code === '57014' || code === 'PROTOCOL_SEQUENCE_TIMEOUT' || /^Query read timeout$/.test(message)) {
    return new CommandError(
      `a statement on the ${config.description} did not finish within statementTimeoutSeconds: another transaction may hold a lock (a job's long transaction through ctx.db?) or the server is overloaded; raise statementTimeoutSeconds in the settings if this is expected`,
    )
  }
  if (code !== undefined && UNREACHABLE.includes(code)) {
    return new CommandError(`cannot connect to the ${config.description} (${code}): is the server running? check DATABASE_URL`)
  }
  if ((code !== undefined && DROPPED.includes(code)) || DROPPED_MESSAGE.test(message)) {
    return new CommandError(
      `the ${config.description} closed the connection (${firstLine(message)}): is the server up, and is it a ${config.dialect} server at that host and port? check DATABASE_URL, and the server's log`,
    )
  }
  if (/Cannot find module '(pg|mysql2|sqlite3)'|run \$ npm install (pg|mysql2|sqlite3)/.test(message)) {
    const driver = /(pg|mysql2|sqlite3)/.exec(message)?.[1]
    return new CommandError(`the database driver '${driver}' is not installed: run \`npm install ${driver}\``)
  }
  return null
}
