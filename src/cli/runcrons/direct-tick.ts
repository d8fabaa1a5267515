import {locateProject} from '../../core/project/layout'
import {Project} from '../../core/project/project'
import type {TickPlan} from '../../core/tick/plan'
import {reportError} from '../output/command-end'
import {painter} from '../output/render'
import type {PlainTickEnd} from './fast-tick'
import type {PlainRuncrons} from './plain-args'
import {runcronsTick} from './tick-command'

/**
 * A plain `manage runcrons` (the crontab line) whose fast path found something to do: the same
 * tick as the oclif command (runcronsTick), without loading oclif, an error reported as every
 * command reports one; on the fast path's project when it hands one over (its settings loaded, its
 * connection open), and its plan when it made one. main.ts ends it as it ends the fast path.
 */
export async function directRuncrons(options: PlainRuncrons, env: NodeJS.ProcessEnv, where: {root?: string; cwd: string; project?: Project | null; plan?: TickPlan | null}): Promise<PlainTickEnd> {
  const paint = painter(options.color)
  let project: Project | undefined
  let code: number
  try {
    project = where.project ?? new Project(where.root ?? locateProject(where.cwd, env, options.project), env, options.settings)
    const flags = {force: false, silent: options.silent, dryRun: false, concurrency: options.concurrency, traceback: options.traceback, verbosity: options.verbosity}
    code = await runcronsTick(project, [], flags, paint, where.plan ?? undefined)
  } catch (error) {
    code = reportError(error, {project, showStack: options.traceback || Boolean(env.DEBUG), paint})
  }
  if (project === undefined) return {exitCode: code, tickPingUrl: null, statements: null}
  // The ping is sent when the settings could be read.
  const tickPingUrl = (await project.settings().catch(() => null))?.tickPingUrl ?? null
  const statements = project.statements
  await project.close().catch(() => undefined)
  return {exitCode: code, tickPingUrl, statements}
}
