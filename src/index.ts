/**
 * manage's public API for a project's cron classes and settings. Kept light on purpose: a job
 * module imports it on the per-minute path, so nothing here loads oclif or knex.
 */
export {CronJobBase} from './core/jobs/cron-job-base'
export type {CronClass, CronContext, CronLogger, PastRun, RunStatus} from './core/jobs/cron-job-base'
export type {SettingsModule} from './core/project/settings'
export type {RunLogView, RunStore, RunRow} from './core/run-log/run-store'
export {CommandError, UsageError} from './core/errors'

import type {SettingsModule} from './core/project/settings'

/** Type-checks a settings object: `export default defineSettings({crons: [MyCronJob]})`. */
export function defineSettings<T extends SettingsModule>(settings: T): T {
  return settings
}
