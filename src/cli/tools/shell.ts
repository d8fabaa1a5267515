import {spawn} from 'node:child_process'
import {constants} from 'node:os'
import repl from 'node:repl'
import type {Knex} from 'knex'
import * as api from '../../index'
import {checkProject} from '../../core/project/check'
import type {DatabaseConfig} from '../../core/db/database'
import {CommandError} from '../../core/errors'
import {isDue} from '../../core/schedule/is-due'
import {listMigrations, migrate} from '../../core/db/migrations'
import type {Project} from '../../core/project/project'
import {runCrons} from '../../core/tick/run-crons'
import {KnexRunStore} from '../../core/run-log/run-store'
import {loadJobs} from '../../core/jobs/load-jobs'
import {unlockJob} from '../../core/run-log/unlock'

export interface ShellContext {
  /** What the REPL's globals are. */
  context: Record<string, unknown>
  /** One line saying what is loaded. */
  banner: string
}

/** The names `manage shell` puts in scope: settings, db, crons by class name, and the framework as `manage`. */
export async function shellContext(project: Project): Promise<ShellContext> {
  const loaded = await project.settings()
  const database = project.database()
  const db = project.db()
  const crons: Record<string, unknown> = {}
  for (const cls of loaded.crons) if (typeof cls === 'function' && cls.name) crons[cls.name] = cls
  // Like Django's settings: the module's own values, with the resolved defaults filled in.
  const settings = {...loaded.values, crons: loaded.crons, timeZone: loaded.timeZone, leaseSeconds: loaded.leaseSeconds, graceSeconds: loaded.graceSeconds, cronsDir: loaded.cronsDir, file: loaded.file}
  const manage = {...api, runCrons, checkProject, migrate, listMigrations, unlockJob, KnexRunStore, loadJobs, isDue, project}
  const names = Object.keys(crons)
  const banner = `manage shell: settings (${loaded.file}), db (knex, ${database.description}), crons (${names.length ? names.join(', ') : 'none'}), manage (the framework); top-level await works; .exit to quit`
  return {context: {settings, db, crons, manage}, banner}
}

export interface ReplStreams {
  input: NodeJS.ReadableStream
  output: NodeJS.WritableStream
  /** Line editing and colours; default: when the output is a terminal. */
  terminal?: boolean
}

/** Run a REPL with `context` in scope until it exits, then close the project's database. */
export function runShell(project: Project, context: Record<string, unknown>, streams: ReplStreams): Promise<void> {
  return new Promise((resolve, reject) => {
    const terminal = streams.terminal ?? Boolean((streams.output as {isTTY?: boolean}).isTTY)
    const server = repl.start({prompt: 'manage> ', input: streams.input, output: streams.output, terminal, ignoreUndefined: true})
    const fill = () => Object.assign(server.context, context)
    fill()
    // `.clear` makes a fresh context: put the names back.
    server.on('reset', fill)
    server.on('exit', () => {
      settle(project.db())
        .then(() => project.close())
        .then(resolve, reject)
    })
  })
}

/** How long `.exit` waits for queries still going before it closes the database anyway. */
const SETTLE_MS = 10_000

/**
 * Wait until the database has no query going, then let their callbacks run: piped input sends
 * `.exit` right after `db.raw(…).then(print)`, and closing at once would abort that query.
 */
async function settle(db: Knex): Promise<void> {
  const pool = (db.client as {pool?: {numUsed(): number; numPendingAcquires(): number; numPendingCreates(): number}}).pool
  const busy = () => Boolean(pool) && pool!.numUsed() + pool!.numPendingAcquires() + pool!.numPendingCreates() > 0
  const deadline = Date.now() + SETTLE_MS
  while (busy() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  await new Promise((resolve) => setImmediate(resolve))
}

/** How to start a database's own command-line client. */
export interface ClientCommand {
  /** Candidate programs, tried in order (the first found on PATH is used). */
  programs: string[]
  args: string[]
  /** Added to the environment: passwords go here, never on the command line (where `ps` shows them). */
  env: Record<string, string>
  /** What to install when none of the programs is found. */
  install: string
}

interface Connection {
  host?: string
  port?: number | string
  user?: string
  password?: string
  database?: string
  socketPath?: string
  connectionString?: string
  ssl?: unknown
}

function fromUrl(url: string): Connection & {sslmode?: string} {
  const parsed = new URL(url)
  return {
    host: parsed.hostname ? decodeURIComponent(parsed.hostname) : undefined,
    port: parsed.port || undefined,
    user: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database: parsed.pathname.length > 1 ? decodeURIComponent(parsed.pathname.slice(1)) : undefined,
    sslmode: parsed.searchParams.get('sslmode') ?? undefined,
  }
}

function connectionOf(config: DatabaseConfig): Connection & {sslmode?: string} {
  const connection = config.knex.connection as unknown
  if (typeof connection === 'string') return fromUrl(connection)
  if (connection && typeof connection === 'object') {
    const c = connection as Connection
    return c.connectionString ? {...fromUrl(c.connectionString), ...withoutUndefined({...c, connectionString: undefined})} : c
  }
  throw new CommandError(`cannot tell how to connect to the ${config.description}: its knex connection is not a URL or an object`)
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** The client command for a database (Django's dbshell): sqlite3, psql, or mysql/mariadb. */
export function clientCommand(config: DatabaseConfig, extraArgs: readonly string[] = []): ClientCommand {
  if (config.dialect === 'sqlite') {
    const filename = (config.knex.connection as {filename: string}).filename
    return {programs: ['sqlite3'], args: [filename, ...extraArgs], env: {}, install: 'install the sqlite3 command-line client (e.g. `sudo apt-get install sqlite3`)'}
  }
  const c = connectionOf(config)
  const args: string[] = []
  const env: Record<string, string> = {}
  if (config.dialect === 'postgres') {
    if (c.host) args.push('-h', c.host)
    if (c.port) args.push('-p', String(c.port))
    if (c.user) args.push('-U', c.user)
    if (c.database) args.push('-d', c.database)
    if (c.password) env.PGPASSWORD = c.password
    if (c.sslmode) env.PGSSLMODE = c.sslmode
    return {programs: ['psql'], args: [...args, ...extraArgs], env, install: 'install the PostgreSQL client psql (e.g. `sudo apt-get install postgresql-client`)'}
  }
  // mysql2 connects over TCP unless given a socket; the mysql client would use the socket for 'localhost'.
  if (c.socketPath) args.push('-S', c.socketPath)
  else args.push('--protocol=TCP', '-h', c.host || '127.0.0.1')
  if (c.port && !c.socketPath) args.push('-P', String(c.port))
  if (c.user) args.push('-u', c.user)
  if (c.password) env.MYSQL_PWD = c.password
  if (c.database) args.push(c.database)
  return {programs: ['mysql', 'mariadb'], args: [...args, ...extraArgs], env, install: 'install the MySQL or MariaDB client (e.g. `sudo apt-get install mariadb-client`)'}
}

function spawnClient(program: string, command: ClientCommand, env: NodeJS.ProcessEnv): Promise<number | 'missing'> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, command.args, {stdio: 'inherit', env: {...env, ...command.env}})
    // Ctrl-C belongs to the client (it cancels a query there); it must not kill us and leave it orphaned.
    const ignore = () => undefined
    process.on('SIGINT', ignore)
    process.on('SIGQUIT', ignore)
    const done = () => {
      process.off('SIGINT', ignore)
      process.off('SIGQUIT', ignore)
    }
    child.on('error', (error: NodeJS.ErrnoException) => {
      done()
      if (error.code === 'ENOENT') resolve('missing')
      else reject(new CommandError(`cannot run ${program}: ${error.message}`, 1, error))
    })
    child.on('exit', (code, signal) => {
      done()
      // A client killed by a signal exits as a shell would report it: 128 + the signal's number.
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0))
    })
  })
}

/** Run the database's client with the terminal, and return its exit status. */
export async function runDbShell(config: DatabaseConfig, env: NodeJS.ProcessEnv, extraArgs: readonly string[] = []): Promise<number> {
  const command = clientCommand(config, extraArgs)
  for (const program of command.programs) {
    const status = await spawnClient(program, command, env)
    if (status !== 'missing') return status
  }
  const names = command.programs.join(' or ')
  throw new CommandError(`the database client ${names} for the ${config.description} is not installed (not found on PATH): ${command.install}`)
}
