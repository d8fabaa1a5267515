import {locateProject} from '../../core/project/layout'
import {Project} from '../../core/project/project'
import {endCommand, reportError} from '../command-end'
import {painter} from '../render'
import type {PlainRuncrons} from './plain-args'
import {runcronsTick} from './tick-command'

/**
 * A plain `manage runcrons` (the crontab line) whose fast path found something to do: the same
 * tick as the oclif command (runcronsTick), without loading oclif, ending as every command does.
 */
export async function directRuncrons(options: PlainRuncrons, env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  const paint = painter(options.color)
  let project: Project | undefined
  try {
    project = new Project(locateProject(cwd, env, options.project), env, options.settings)
    const flags = {force: false, silent: options.silent, dryRun: false, concurrency: 1, traceback: options.traceback, verbosity: options.verbosity}
    return await runcronsTick(project, [], flags, paint)
  } catch (error) {
    return reportError(error, {project, showStack: options.traceback || Boolean(env.DEBUG), paint})
  } finally {
    await endCommand(project, env)
  }
}
