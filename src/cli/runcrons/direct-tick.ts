import {Project} from '../../core/project/project'
import {errorOutput} from '../error-output'
import type {PlainRuncrons} from './fast-tick'
import {painter} from '../render'
import {runcronsTick} from './tick-command'

/**
 * A plain `manage runcrons` (the crontab line) whose fast path found something to do: the same
 * tick as the oclif command (runcronsTick), without loading oclif (≈ 110 ms of every such tick,
 * measured). Errors become one line and an exit status, as in every command (errorOutput).
 */
export async function directRuncrons(options: PlainRuncrons, env: NodeJS.ProcessEnv, root: string): Promise<number> {
  const project = new Project(root, env, options.settings)
  const paint = painter(options.color)
  try {
    const flags = {force: false, silent: options.silent, dryRun: false, concurrency: 1, traceback: options.traceback, verbosity: options.verbosity}
    return await runcronsTick(project, [], flags, paint)
  } catch (caught) {
    const error = caught instanceof Error ? caught : new Error(String(caught))
    const {text, exitCode} = errorOutput(error, {database: project.resolvedDatabase(), showStack: options.traceback || Boolean(env.DEBUG), paint})
    process.stderr.write(text)
    return exitCode
  } finally {
    if (env.MANAGE_SQL_COUNT) process.stderr.write(`manage: ${project.statements} SQL statement(s)\n`)
    await project.close().catch(() => undefined)
  }
}
