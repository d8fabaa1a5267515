import type {DatabaseConfig} from '../core/database'
import {clockFromEnv} from '../core/clock'
import {resolveDatabaseConfig} from '../core/database'
import {DAY_MS, deleteOldRunsQuery, historiesFromRows, historiesQuery} from '../core/history-query'
import {EMPTY_HISTORY, isDue, isLive} from '../core/is-due'
import {loadSettings} from '../core/load-settings'
import {requirePg} from '../core/pg-driver'
import {projectPaths} from '../core/project'
import {loadJobs} from '../core/schedule'
import {SERVER_NOW_SQL} from '../core/time-codec'

/** The plain crontab forms of `manage runcrons`: no names, no --force / --dry-run / --concurrency. */
export interface PlainRuncrons {
  silent: boolean
  verbosity: number
  traceback: boolean
  color?: boolean
  settings?: string
}

/** The arguments after `runcrons` when they are a plain form, else null (the oclif command takes them). */
export function plainRuncrons(args: readonly string[]): PlainRuncrons | null {
  const plain: PlainRuncrons = {silent: false, verbosity: 1, traceback: false}
  const level = (value: string | undefined) => (value !== undefined && /^[0-3]$/.test(value) ? Number(value) : null)
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === '--silent') plain.silent = true
    else if (arg === '--traceback') plain.traceback = true
    else if (arg === '--color' || arg === '--no-color') plain.color = arg === '--color'
    else if (arg === '--settings' && i + 1 < args.length) plain.settings = args[++i]
    else if (arg.startsWith('--settings=')) plain.settings = arg.slice('--settings='.length)
    else if ((arg === '-v' || arg === '--verbosity') && level(args[i + 1]) !== null) plain.verbosity = level(args[++i])!
    else if (arg.startsWith('--verbosity=') && level(arg.slice('--verbosity='.length)) !== null) plain.verbosity = level(arg.slice('--verbosity='.length))!
    else return null
  }
  return plain
}

/**
 * The per-minute fast path of `manage runcrons`. Most ticks run nothing, so this decides with
 * the database driver alone (no oclif, no knex) and, when no job is due, prints the same
 * `[ ] code` lines the full command would and exits. Whenever anything is due, running
 * elsewhere, misconfigured, unusual in the arguments or simply fails here, it returns null and
 * the tick is run from the start (deciding again, with the same isDue and the same query), so
 * this path can only ever save time, never change an outcome.
 */
export async function fastRuncrons(args: readonly string[], env: NodeJS.ProcessEnv, root: string): Promise<{exitCode: number; output: string; statements: number} | null> {
  const options = plainRuncrons(args)
  // Reasons (-v 2) are the full tick's to print.
  if (!options || options.verbosity > 1) return null
  const quiet = options.silent || options.verbosity === 0

  const paths = projectPaths(root, options.settings ?? (env.MANAGE_SETTINGS || undefined))
  const database = resolveDatabaseConfig(env, paths.knexfile, root)
  if (database.dialect === 'mysql') return null
  const settings = await loadSettings(paths.settingsFile, {cronsDir: paths.cronsDir})
  const {jobs, problems} = loadJobs(settings.crons)
  if (problems.some((problem) => problem.level === 'error')) return null
  if (jobs.length === 0) return {exitCode: 0, output: '', statements: 0}

  const pinned = env.MANAGE_NOW ? clockFromEnv(env, settings.timeZone)() : null
  const {rows, nowMs, statements, pausedCount} = await readHistories(database, pinned)
  const histories = historiesFromRows(rows, database.dialect, nowMs)
  // A paused job prints its own line: leave that, rare, case to the full tick.
  if (pausedCount > 0) return null

  const lines: string[] = []
  for (const job of jobs) {
    const history = histories.get(job.code) ?? EMPTY_HISTORY
    if (!job.schedule.allowParallelRuns && history.running.some((run) => isLive(run, nowMs))) return null
    if (isDue(job.schedule, history, nowMs, {timeZone: settings.timeZone}).due) return null
    lines.push(`[ ] ${job.code}\n`)
  }
  if (settings.deleteLogsOlderThanDays !== null) await trimLog(database, nowMs, settings.deleteLogsOlderThanDays)
  return {exitCode: 0, output: quiet ? '' : lines.join(''), statements: statements + (settings.deleteLogsOlderThanDays === null ? 0 : 1)}
}

interface Read {
  rows: Array<Record<string, unknown>>
  nowMs: number
  statements: number
  pausedCount: number
}

const PAUSED_SQL = 'SELECT COUNT(*) AS n FROM cron_job WHERE paused_at IS NOT NULL'

/** Read the log (one statement, and one for the paused jobs). */
async function readHistories(database: DatabaseConfig, pinnedMs: number | null): Promise<Read> {
  if (database.dialect === 'sqlite') {
    const nowMs = pinnedMs ?? Date.now()
    const {sql, bindings} = historiesQuery('sqlite', nowMs)
    const [rows, paused] = await sqliteAll(sqliteFile(database), [
      [sql, bindings],
      [PAUSED_SQL, []],
    ])
    return {rows, nowMs, statements: 2, pausedCount: Number(paused[0].n)}
  }
  return readPostgres(database, pinnedMs)
}

/** deleteLogsOlderThanDays, after the decision, as the full tick does at its end. */
async function trimLog(database: DatabaseConfig, nowMs: number, keepDays: number): Promise<void> {
  const {sql, bindings} = deleteOldRunsQuery(database.dialect, nowMs - keepDays * DAY_MS)
  if (database.dialect === 'sqlite') {
    await sqliteAll(sqliteFile(database), [[sql, bindings]])
    return
  }
  await withPostgres(database, (client) => client.query(numbered(sql), bindings))
}

const sqliteFile = (database: DatabaseConfig) => (database.knex.connection as {filename: string}).filename

/** `?` placeholders as PostgreSQL's $1, $2, … */
function numbered(sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}

type PgClient = InstanceType<typeof import('pg').Client>

async function withPostgres<T>(database: DatabaseConfig, body: (client: PgClient) => Promise<T>): Promise<T> {
  const {Client} = requirePg()
  const connection = database.knex.connection
  const client = new Client(typeof connection === 'string' ? {connectionString: connection} : (connection as object))
  await client.connect()
  try {
    return await body(client)
  } finally {
    await client.end()
  }
}

function readPostgres(database: DatabaseConfig, pinnedMs: number | null): Promise<Read> {
  return withPostgres(database, async (client) => {
    let statements = 0
    let nowMs = pinnedMs
    if (nowMs === null) {
      // The database server's clock decides due periods (as in the full command).
      nowMs = ((await client.query(`SELECT ${SERVER_NOW_SQL.postgres} AS now`)).rows[0].now as Date).getTime()
      statements++
    }
    const {sql, bindings} = historiesQuery('postgres', nowMs)
    const result = await client.query(numbered(sql), bindings)
    const paused = await client.query(PAUSED_SQL)
    statements += 2
    return {rows: result.rows, nowMs, statements, pausedCount: Number(paused.rows[0].n)}
  })
}

type Rows = Array<Record<string, unknown>>

/** Run the statements in order on one connection. */
function sqliteAll(filename: string, statements: Array<[string, unknown[]]>): Promise<Rows[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sqlite3 = require('sqlite3') as typeof import('sqlite3')
  return new Promise((resolve, reject) => {
    // Read-write without create: a missing file is the full command's to report.
    const db = new sqlite3.Database(filename, sqlite3.OPEN_READWRITE, (openError) => {
      if (openError) return reject(openError)
      db.configure('busyTimeout', 5000)
      const results: Rows[] = []
      const next = (index: number) => {
        if (index === statements.length) return db.close(() => resolve(results))
        db.all(statements[index][0], statements[index][1], (error, rows) => {
          if (error) return db.close(() => reject(error))
          results.push(rows as Rows)
          next(index + 1)
        })
      }
      next(0)
    })
  })
}
