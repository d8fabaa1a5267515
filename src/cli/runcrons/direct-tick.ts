import {pingTick} from '../../core/notify/pings'
import {locateProject} from '../../core/project/layout'
import {Project} from '../../core/project/project'
import {commandIO} from '../output/command-io'
import {endCommand, reportError} from '../output/command-end'
import {painter} from '../output/render'
import type {PlainRuncrons} from './plain-args'
import {runcronsTick} from './tick-command'

/**
 * A plain `manage runcrons` (the crontab line) whose fast path found something to do: the same
 * tick as the oclif command (runcronsTick), without loading oclif, ending as every command does.
 */
export async function directRuncrons(options: PlainRuncrons, env: NodeJS.ProcessEnv, where: {root?: string; cwd: string}): Promise<number> {
  const paint = painter(options.color)
  let project: Project | undefined
  let code: number
  try {
    project = new Project(where.root ?? locateProject(where.cwd, env, options.project), env, options.settings)
    const flags = {force: false, silent: options.silent, dryRun: false, concurrency: 1, traceback: options.traceback, verbosity: options.verbosity}
    code = await runcronsTick(project, [], flags, paint)
  } catch (error) {
    code = reportError(error, {project, showStack: options.traceback || Boolean(env.DEBUG), paint})
  }
  try {
    // The runner's own ping (tickPingUrl), with how the tick ended, when the settings could be read.
    const url = project ? ((await project.settings().catch(() => null))?.tickPingUrl ?? null) : null
    const warning = url === null ? null : await pingTick(url, code)
    if (warning !== null) commandIO().stderr.write(`${paint.warn('warning:')} ${warning}\n`)
  } finally {
    await endCommand(project, env)
  }
  return code
}
