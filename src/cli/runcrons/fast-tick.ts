import {clockFromEnv} from '../../core/time/clock'
import {driverSource} from '../../core/db/connection-source'
import {resolveDatabaseConfig} from '../../core/db/database'
import {DAY_MS} from '../../core/time/units'
import {isDue} from '../../core/schedule/is-due'
import {EMPTY_HISTORY, isLive} from '../../core/schedule/history'
import {loadSettings} from '../../core/project/settings'
import {projectPaths} from '../../core/project/project'
import {SqlRunStore} from '../../core/run-log/run-store'
import {loadJobs} from '../../core/jobs/load-jobs'
import {databaseNow} from '../../core/run-log/run-store'

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
 * `[ ] code` lines the tick would and exits. Whenever anything is due, running
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
  const settings = await loadSettings(paths.settingsFile, {cronsDir: paths.cronsDir})
  const {jobs, problems} = loadJobs(settings.crons)
  if (problems.some((problem) => problem.level === 'error')) return null
  if (jobs.length === 0) return {exitCode: 0, output: '', statements: 0}

  let statements = 0
  // Read-write without create: a missing file is the tick's to report.
  const source = driverSource(database, {create: false, onStatement: () => statements++})
  try {
    const store = new SqlRunStore(source)
    // The database server's clock decides due periods on PostgreSQL and MySQL (as in the tick).
    const nowMs = env.MANAGE_NOW ? clockFromEnv(env, settings.timeZone)() : await databaseNow(source)
    const histories = await store.histories(nowMs)
    // A paused job prints its own line: leave that, rare, case to the tick.
    if ((await store.pausedJobs()).size > 0) return null

    const lines: string[] = []
    for (const job of jobs) {
      const history = histories.get(job.code) ?? EMPTY_HISTORY
      if (!job.schedule.allowParallelRuns && history.running.some((run) => isLive(run, nowMs))) return null
      if (isDue(job.schedule, history, nowMs, {timeZone: settings.timeZone}).due) return null
      lines.push(`[ ] ${job.code}\n`)
    }
    // deleteLogsOlderThanDays, after the decision, as the tick does at its end.
    if (settings.deleteLogsOlderThanDays !== null) await store.deleteRunsBefore(nowMs - settings.deleteLogsOlderThanDays * DAY_MS)
    return {exitCode: 0, output: quiet ? '' : lines.join(''), statements}
  } finally {
    await source.close()
  }
}
