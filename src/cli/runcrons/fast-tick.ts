import {pingTick} from '../../core/notify/pings'
import {Project} from '../../core/project/project'
import {quickTick} from '../../core/tick/quick-tick'
import {painter} from '../output/render'
import {outcomeLines} from './lines'
import type {PlainRuncrons} from './plain-args'

/**
 * The fast path of a plain `manage runcrons` (the crontab line): the tick's quick answer
 * (quickTick), printed as the tick prints it. null: the tick must run (see main.ts).
 */
export async function fastRuncrons(options: PlainRuncrons, env: NodeJS.ProcessEnv, root: string): Promise<{exitCode: number; output: string; statements: number; warning: string | null} | null> {
  // Reasons (-v 2) are the full tick's to print.
  if (options.verbosity > 1) return null
  const project = new Project(root, env, options.settings)
  try {
    const outcomes = await quickTick(project)
    if (outcomes === null) return null
    const settings = await project.settings()
    const style = {verbosity: options.silent ? -1 : options.verbosity, traceback: options.traceback, paint: painter(options.color), zone: settings.timeZone}
    // The runner's own ping, when the settings ask for one: nothing is loaded for it otherwise.
    const warning = settings.tickPingUrl === null ? null : await pingTick(settings.tickPingUrl, 0)
    return {exitCode: 0, output: outcomes.flatMap((outcome) => outcomeLines(outcome, style).map((line) => `${line}\n`)).join(''), statements: project.statements, warning}
  } finally {
    await project.close()
  }
}
