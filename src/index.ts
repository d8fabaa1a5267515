/**
 * manage's public API for a project's cron classes, settings and tests (callCommand). Kept light on purpose: a job
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
import type {CallOptions, CallResult} from './cli/call-command'
export type {CallOptions, CallResult} from './cli/call-command'

/** Type-checks a settings object: `export default defineSettings({crons: [MyCronJob]})`. */
export function defineSettings<T extends SettingsModule>(settings: T): T {
  return settings
}

/**
 * Run a `manage` command line in this process and get its exit status and output, as `bin/manage`
 * would give them (Django's call_command): `await callCommand(['crons:list', '--json'])`. For an
 * app's tests and scripts; calls run one at a time. See README, "Running commands in process".
 */
export function callCommand(argv: readonly string[], options?: CallOptions): Promise<CallResult> {
  // Loaded on the first call, not with this module: a job imports it on the per-minute path, which must not load the CLI.
  const {callCommand: call} = require('./cli/call-command') as typeof import('./cli/call-command')
  return call(argv, options)
}
