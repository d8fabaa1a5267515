/**
 * The scheduler in the app's own process (`import {startScheduler} from 'manage-cli/scheduler'`):
 * the same scheduler as `manage scheduler`, inside a server that runs anyway (one web process on a
 * PaaS). A separate entry, so the main one stays light for the job modules that import it.
 */
import {locateProject} from './core/project/layout'
import {Project} from './core/project/project'
import {DEFAULT_CONCURRENCY, type SchedulerEnd} from './core/runners/scheduler'
import {CommandError, TRACEBACK_HINT} from './core/base/errors'
import {errorOutput} from './cli/output/command-end'
import {painter} from './cli/output/render'
import {healthBody} from './cli/runcrons/health-server'
import {residentScheduler, schedulerSettings, type Resident} from './cli/runcrons/resident'

export type {SchedulerEnd} from './core/runners/scheduler'

/** Where the scheduler's lines go: the host's console by default; any logger with info and error (pino, winston) will do. */
export interface SchedulerLogger {
  info(line: string): void
  error(line: string): void
}

export interface StartSchedulerOptions {
  /** The app's folder [default: the nearest folder at or above the working directory with a package.json, or MANAGE_PROJECT]. */
  project?: string
  /** The compiled settings module [default: the layout's, or MANAGE_SETTINGS]. */
  settings?: string
  /** Up to this many due jobs at once (default 4, as `manage scheduler`). */
  concurrency?: number
  /** Where the runs, warnings and errors are told, one line each [default: console]. */
  logger?: SchedulerLogger
  /** 0 errors only, 1 the runs (default), 2 reasons, timings and the jobs' logs, as -v. */
  verbosity?: number
  /** The environment the project is read with (DATABASE_URL, MANAGE_SETTINGS…) [default: process.env]; the project's .env is read under a copy, never written into it. */
  env?: NodeJS.ProcessEnv
}

export interface SchedulerHandle {
  /** Resolves once the first wake's plan is made (its jobs run on); rejects with the start's one-line error (no jobs, settings that fail to load, a database not migrated). */
  readonly started: Promise<void>
  /**
   * Drain, as `manage scheduler` does on SIGTERM: no new claim, the running jobs asked to stop
   * (ctx.signal, `reason`) and given the settings' graceSeconds, every run recorded, every claim
   * released, the database connections closed. Resolves with whether a run had to be abandoned.
   */
  stop(reason?: string): Promise<SchedulerEnd>
  /**
   * What `manage scheduler --health-port`'s GET /healthz would answer now, for a route of the
   * host's own: 200 while the loop wakes on time and its last wake reached the database, else 503,
   * and the one-line JSON body (unhealthy until the first wake reached the database).
   */
  health(): HealthReply
}

export interface HealthReply {
  healthy: boolean
  status: 200 | 503
  /** One line of JSON: `{"status":"ok","lastWake":…,"nextWake":…}` or `{"status":"unhealthy","reason":…}`. */
  body: string
}

/**
 * Start the project's scheduler in this process. It never calls process.exit and installs no
 * signal handler (the host calls stop() from its own); a crash in a job's async context is charged
 * to that job, and any other error goes to the host's handlers as if manage were not there.
 */
export function startScheduler(options: StartSchedulerOptions = {}): SchedulerHandle {
  const logger = options.logger ?? console
  // A copy: the project's .env is read under it, never into the host's process.env.
  const env = {...(options.env ?? process.env)}
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY)
  let resident: Resident | undefined
  let project: Project | undefined
  let stopping: Promise<SchedulerEnd> | undefined
  const starting = (async () => {
    project = new Project(locateProject(process.cwd(), env, options.project), env, options.settings, {createDatabase: true})
    const settings = await schedulerSettings(project, env)
    const style = {verbosity: options.verbosity ?? 1, traceback: false, paint: painter(false), zone: settings.timeZone}
    resident = await residentScheduler(project, settings, {concurrency, style, out: (line) => logger.info(line), err: (line) => logger.error(line)})
    if (stopping === undefined) await resident.scheduler.start()
    if (style.verbosity >= 1 && stopping === undefined) logger.info(`manage scheduler: ${settings.crons.length} job(s), up to ${concurrency} at once, in this process; stop() stops it after the running jobs`)
  })()
  const started = starting.catch(async (error: unknown) => {
    await end()
    throw startError(error, project)
  })
  const end = async (reason?: string): Promise<SchedulerEnd> => {
    try {
      return (await resident?.scheduler.stop(reason)) ?? {abandoned: false}
    } finally {
      resident?.release()
      await project?.close()
    }
  }
  return {
    started,
    stop(reason = 'stopped') {
      stopping ??= starting.then(
        () => end(reason),
        () => started.then(() => ({abandoned: false}), () => ({abandoned: false})),
      )
      return stopping
    },
    health: () => {
      const answer = resident?.health() ?? {healthy: false, reason: 'starting: the first wake has not reached the database yet'}
      const {status, body} = healthBody(answer)
      return {healthy: answer.healthy, status: status === 200 ? 200 : 503, body}
    },
  }
}

/** The start's error as the command's line (a database's error explained: not migrated…), without a secret; the error itself as its cause. */
function startError(error: unknown, project: Project | undefined): Error {
  const caught = error instanceof Error ? error : new Error(String(error))
  const {text, exitCode} = errorOutput(caught, {database: project?.resolvedDatabase(), showStack: false, paint: painter(false)})
  const line = text.replace(/^error: /, '').replace(TRACEBACK_HINT, '').trim()
  return error instanceof CommandError && error.message === line ? error : new CommandError(line, exitCode, error)
}
