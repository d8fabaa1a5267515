import {Project} from '../../core/project/project'
import type {TickPlan} from '../../core/tick/plan'
import {quickTick} from '../../core/tick/quick-tick'
import {painter} from '../output/render'
import {outcomeLines} from './lines'
import type {PlainRuncrons} from './plain-args'

/** How a crontab tick ended, on either path, for what main.ts does after it (the tick's ping, the SQL count, the exit). */
export interface PlainTickEnd {
  exitCode: number
  /** The settings' tickPingUrl (null: none, or the settings could not be read). */
  tickPingUrl: string | null
  /** The statements the tick sent (null: no project was found). */
  statements: number | null
}

/** The tick must run: on this project (null: a new one) and this plan (null: it plans). */
export interface MustRun {
  mustRun: Project | null
  plan: TickPlan | null
}

/**
 * The fast path of a plain `manage runcrons` (the crontab line): the tick's quick answer
 * (quickTick), printed as the tick prints it. `mustRun`: the tick must run (see main.ts), and takes
 * over this project, its settings loaded and its connection open (closed here on any other end),
 * and the quick tick's plan when it made one.
 */
export async function fastRuncrons(options: PlainRuncrons, env: NodeJS.ProcessEnv, root: string): Promise<(PlainTickEnd & {output: string}) | MustRun> {
  // Reasons (-v 2) are the full tick's to print.
  if (options.verbosity > 1) return {mustRun: null, plan: null}
  const project = new Project(root, env, options.settings)
  let handedOver = false
  try {
    const answer = await quickTick(project)
    if ('handOver' in answer) {
      handedOver = true
      return {mustRun: project, plan: answer.handOver}
    }
    const settings = await project.settings()
    const style = {verbosity: options.silent ? -1 : options.verbosity, traceback: options.traceback, paint: painter(options.color), zone: settings.timeZone}
    const output = answer.outcomes.flatMap((outcome) => outcomeLines(outcome, style).map((line) => `${line}\n`)).join('')
    return {exitCode: 0, output, statements: project.statements, tickPingUrl: settings.tickPingUrl}
  } finally {
    if (!handedOver) await project.close()
  }
}
