import repl from 'node:repl'
import type {Knex} from 'knex'
import {listMigrations, migrate} from '../../core/db/migrations'
import {loadJobs} from '../../core/jobs/load-jobs'
import {checkProject} from '../../core/project/check'
import type {Project} from '../../core/project/project'
import {knexSource} from '../../core/db/connection-source'
import type {Dialect} from '../../core/db/database'
import {SqlRunStore} from '../../core/run-log/run-store'
import {unlockJob} from '../../core/operate/unlock'
import {isDue} from '../../core/schedule/is-due'
import {runCrons} from '../../core/tick/run-crons'

/** The run log over a knex instance, for the shell's user: `new manage.KnexRunStore(db, 'sqlite')`. */
class KnexRunStore extends SqlRunStore {
  constructor(db: Knex, dialect: Dialect) {
    super(knexSource(db, dialect))
  }
}

export interface ShellContext {
  /** What the REPL's globals are. */
  context: Record<string, unknown>
  /** One line saying what is loaded. */
  banner: string
}

/** The names `manage shell` puts in scope: settings, db, crons by class name, and the framework as `manage` (`api`: the package's exports, with a few of its parts). */
export async function shellContext(project: Project, api: Record<string, unknown>): Promise<ShellContext> {
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
