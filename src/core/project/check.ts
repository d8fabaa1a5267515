import path from 'node:path'
import {explainDatabaseError} from '../db/database'
import {scrubSecrets} from '../db/database-url'
import {listMigrations} from '../db/migrations'
import {CommandError} from '../base/errors'
import {jobAlerts} from '../alerts/alert-settings'
import {loadJobs, type LoadedJob, type Problem} from '../jobs/load-jobs'
import {cronText, pausesAfterText, subMinuteNote, subMinuteRate} from '../schedule/describe'
import {policySentences} from '../schedule/policy-sentences'
import {intervalText} from '../schedule/is-due'
import {DAY_MS} from '../time/units'
import {discoverCronModules, unlistedNote} from '../jobs/select-jobs'
import {staleBuildLine, staleSources} from './build-state'
import {checkDashboardAuth, parseTrustProxy} from './dashboard-settings'
import type {Project} from './project'
import {subMinuteServer} from './sub-minute-server'
import {withDefinedLimits} from './limits'
import type {Settings} from './settings'

export interface CheckReport {
  problems: Problem[]
  jobCount: number
  /** The errors behind problems whose cause has a stack to show (a module that failed to load), for --traceback. */
  failures: Error[]
  /** What is fine but worth a line (a sub-minute job a scheduler serves), not counted as an issue. */
  notes: Array<Omit<Problem, 'level'>>
}

/**
 * Django's `manage.py check` for manage: the build (not older than its sources), the settings, every cron class, and the database
 * (reachable, migrated); the check command adds the crontab line (cli/tools/crontab.ts). It
 * reports every problem it finds instead of stopping at the first.
 */
export async function checkProject(project: Project): Promise<CheckReport> {
  const problems: Problem[] = staleSources(project.paths.layout, 10).map((stale) => ({subject: 'build', level: 'warning', message: staleBuildLine(stale)}))
  let settings
  try {
    settings = await project.settings()
  } catch (error) {
    if (!(error instanceof CommandError)) throw error
    for (const line of error.message.split('\n')) problems.push({subject: 'settings', level: 'error', message: line})
    return {problems, jobCount: 0, failures: [error], notes: []}
  }

  for (const message of settings.alertProblems) problems.push({subject: 'settings', level: 'error', message})
  const loaded = loadJobs(settings.crons)
  const {jobs, problems: classProblems} = withDefinedLimits(loaded.jobs, loaded.problems, settings)
  problems.push(...classProblems)
  // A trim shorter than a job's interval deletes its last success, and the job then runs again.
  const keepDays = settings.deleteLogsOlderThanDays
  for (const job of jobs) {
    const interval = job.schedule.intervalMs
    if (keepDays !== null && interval !== null && interval > keepDays * DAY_MS) {
      problems.push({
        subject: job.className,
        level: 'warning',
        message: `runs ${intervalText(interval)}, longer than deleteLogsOlderThanDays (${keepDays} d) keeps its last run: it would run again at every tick after the trim; keep more days`,
      })
    }
  }
  // A job's own alerts against the settings' (an e-mail override needs the settings' SMTP server).
  for (const job of jobs) {
    const alertProblems: string[] = []
    jobAlerts(settings.alerts, job.alerts, alertProblems)
    for (const message of alertProblems) problems.push({subject: job.className, level: 'warning', message})
  }
  // The dashboard's sign-in (checked here and when it starts; a mistake there never stops the tick).
  const dashboardProblems: string[] = []
  checkDashboardAuth(settings.values.dashboard, undefined, dashboardProblems)
  parseTrustProxy(settings.values.dashboard?.trustProxy, dashboardProblems)
  for (const message of dashboardProblems) problems.push({subject: 'settings', level: 'warning', message})
  const failure = unlistedClasses(project, settings, problems)
  if (settings.crons.length === 0) {
    problems.push({subject: 'settings', level: 'warning', message: `${settings.file} lists no crons: add your cron classes to crons`})
  }

  let migrated = false
  try {
    const pending = (await listMigrations(project.db(), project.paths.migrations)).filter((migration) => !migration.applied)
    migrated = pending.length === 0
    if (pending.length > 0) {
      problems.push({
        subject: 'database',
        level: 'error',
        message: `${pending.length} migration(s) not applied to the ${project.database().description} (${pending.map((m) => m.name).join(', ')}): run \`manage migrate\``,
      })
    }
  } catch (error) {
    const database = project.resolvedDatabase()
    const explained = error instanceof CommandError ? error : database ? explainDatabaseError(error, database) : null
    const message = explained ? explained.message : `cannot be checked: ${error instanceof Error ? error.message : String(error)}`
    problems.push({subject: 'database', level: 'error', message: scrubSecrets(message, database?.secrets ?? [])})
  }

  // Sub-minute jobs: a warning unless a scheduler ticked recently (then a note naming its host); today's wording when the runners cannot be read.
  const notes: CheckReport['notes'] = []
  const subMinute = jobs.filter((job) => subMinuteRate(job.schedule) !== null)
  const server = subMinute.length > 0 && migrated ? await subMinuteServer(project) : undefined
  for (const job of subMinute) {
    const rate = subMinuteRate(job.schedule)
    if (server) notes.push({subject: job.className, message: `runs ${rate}, ${subMinuteNote(server)}`})
    else problems.push({subject: job.className, level: 'warning', message: `runs ${rate}, but ${subMinuteNote(server)}`})
  }
  for (const job of jobs) for (const message of jobNotes(job)) notes.push({subject: job.className, message})
  return {problems, jobCount: jobs.length, failures: failure ? [failure] : [], notes}
}

/** What a job's options do that nothing else shows before its runs: its H resolved, its policies in words. */
function jobNotes(job: LoadedJob): string[] {
  const notes: string[] = []
  // What each H resolved to on this code: the same everywhere, but seen nowhere else before the runs.
  if (job.schedule.cronWritten !== null) notes.push(`runs ${cronText(job.schedule)}: each H from the hash of its code '${job.code}', the same on every server`)
  notes.push(...policySentences(job.policy))
  const after = job.policy.pauseAfterFailures
  if (after !== null) notes.push(`${pausesAfterText(after)} (failed, interrupted or timed out), until resumed by hand: manage crons:resume ${job.code}`)
  return notes
}

/**
 * The exported cron classes of the crons folder that the settings do not list: no tick runs them,
 * and nothing else would say so. A module that fails to load is an error (returned for --traceback).
 */
function unlistedClasses(project: Project, settings: Settings, problems: Problem[]): CommandError | null {
  let found
  try {
    found = discoverCronModules(settings.cronsDir)
  } catch (error) {
    if (!(error instanceof CommandError)) throw error
    problems.push({subject: 'crons', level: 'error', message: error.message})
    return error
  }
  const listed = new Set(settings.crons)
  for (const {cls, file} of found) {
    if (listed.has(cls)) continue
    const name = (cls as {name: string}).name
    problems.push({subject: name, level: 'warning', message: unlistedNote(name, shownPath(project, file))})
  }
  return null
}

/** A file inside the project relative to its folder, else as it is. */
function shownPath(project: Project, file: string): string {
  const relative = path.relative(project.paths.root, file)
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative
}
