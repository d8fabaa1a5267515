import {spawn} from 'node:child_process'
import {constants} from 'node:os'
import type {DatabaseConfig} from '../../core/db/database'
import {CommandError} from '../../core/base/errors'

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
  // As pg reads a connection string (pg-connection-string): ?host=, ?port=, ?user= and ?password= win over the URL's own.
  const query = (name: string) => parsed.searchParams.get(name) || undefined
  return {
    host: query('host') ?? (parsed.hostname ? decodeURIComponent(parsed.hostname) : undefined),
    port: query('port') ?? (parsed.port || undefined),
    user: query('user') ?? (parsed.username ? decodeURIComponent(parsed.username) : undefined),
    password: query('password') ?? (parsed.password ? decodeURIComponent(parsed.password) : undefined),
    database: parsed.pathname.length > 1 ? decodeURIComponent(parsed.pathname.slice(1)) : undefined,
    sslmode: query('sslmode'),
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
