/**
 * manage's public API for a project's cron classes and settings. Kept light on purpose: a job
 * module imports it on the per-minute path, so nothing here loads oclif or knex.
 */
export {CronJobBase} from './core/contract/cron-job-base'
export type {CronClass, CronContext, JobAlertsOverride, ProjectSettings} from './core/contract/cron-job-base'
export type {CronLogger, PastRun, RunLogView, RunRow, RunStatus} from './core/contract/run-types'
export type {SettingsModule} from './core/project/settings'
export type {RunStore} from './core/run-log/run-store'
export {CommandError, UsageError} from './core/base/errors'
/** knex's types, for the project's migrations and ctx.db. */
export type {Knex} from 'knex'

import type {SettingsModule} from './core/project/settings'

/** Type-checks a settings object: `export default defineSettings({crons: [MyCronJob]})`. */
export function defineSettings<T extends SettingsModule>(settings: T): T {
  return settings
}
