import type {Project} from '../../core/project/project'
import {commandIO} from '../output/command-io'
import type {Painter} from '../output/render'
import type {HealthServer} from './health-server'
import type {LineStyle} from './lines'
import {residentScheduler, schedulerSettings} from './resident'
import {holdYoungGeneration} from './young-generation'

export interface SchedulerFlags {
  concurrency: number
  /** Serve GET /healthz on this port (0: one the system picks, said in the start line), or none. */
  healthPort?: number
  healthHost: string
  traceback: boolean
  verbosity: number
}

/**
 * `manage scheduler`: the resident scheduler (resident.ts: the process guards installed once, then
 * the Scheduler of core/runners) until SIGTERM or SIGINT, which drains it: no new claim, the running
 * jobs asked to stop and given graceSeconds, every run recorded. Returns the exit status: 0 when
 * every run ended within the grace period, 143 / 130 when one had to be abandoned. A second signal
 * exits at once.
 */
export async function runScheduler(project: Project, flags: SchedulerFlags, paint: Painter, env: NodeJS.ProcessEnv): Promise<number> {
  // First, before the settings load: this process is the scheduler's own (young-generation.ts).
  holdYoungGeneration(process.execArgv, env.NODE_OPTIONS)
  const settings = await schedulerSettings(project, env)
  const style: LineStyle = {verbosity: flags.verbosity, traceback: flags.traceback, paint, zone: settings.timeZone}
  const {stdout, stderr} = commandIO()
  const out = (line: string) => stdout.write(`${line}\n`)
  const err = (line: string) => stderr.write(`${line}\n`)
  let server: HealthServer | undefined
  const resident = await residentScheduler(project, settings, {
    concurrency: flags.concurrency,
    style,
    out,
    err,
    owner: {
      onSignal: (signal, first) => {
        if (!first) process.exit(signal === 'SIGINT' ? 130 : 143)
        if (style.verbosity >= 0) err(`${paint.warn('[!]')} ${signal}: stopping after the running jobs (grace ${settings.graceMs / 1000} s; send it again to quit now)`)
      },
    },
    // node:http is loaded only when --health-port asks for a server.
    beforeBaseline: async (health) => {
      if (flags.healthPort === undefined) return
      const {serveHealth} = require('./health-server') as typeof import('./health-server')
      server = await serveHealth(flags.healthHost, flags.healthPort, health)
    },
  }).catch((error: unknown) => {
    server?.close()
    throw error
  })
  const {scheduler, guards} = resident
  try {
    const stopped = new Promise<string>((resolve) => guards.shutdown.addEventListener('abort', () => resolve(String(guards.shutdown.reason)), {once: true}))
    await scheduler.start()
    if (style.verbosity >= 1) out(`manage scheduler: ${settings.crons.length} job(s), up to ${flags.concurrency} at once (pid ${process.pid})${server ? `, health at ${server.url}` : ''}; SIGTERM or Ctrl-C stops it after the running jobs`)
    const signal = await stopped
    server?.close()
    const end = await scheduler.stop(signal)
    if (end.abandoned) return signal === 'SIGINT' ? 130 : 143
    return resident.strays() > 0 ? 1 : 0
  } finally {
    await scheduler.stop()
    server?.close()
    resident.release()
  }
}
