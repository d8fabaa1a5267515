import os from 'node:os'
import {performance} from 'node:perf_hooks'
import {CommandError, UsageError} from '../../core/base/errors'
import {scrubSecrets} from '../../core/db/database-url'
import {firstLine} from '../../core/base/text'
import {messageFromError} from '../../core/jobs/message'
import {PACKAGE_VERSION} from '../../core/project/package-name'
import type {Project} from '../../core/project/project'
import type {Settings} from '../../core/project/settings'
import type {Clock} from '../../core/time/clock'
import {SchedulerHealth} from '../../core/runners/health'
import {LAG_QUIET_MS, LoopLag, realLagTimers} from '../../core/runners/loop-lag'
import {realSchedulerTimers, Scheduler} from '../../core/runners/scheduler'
import {recordSchedulerTick} from '../../core/tick/plan'
import {installProcessGuards, type ProcessGuards} from '../../core/tick/process-guards'
import {runCrons, type Outcome, type TickEvents} from '../../core/tick/run-crons'
import {activeResources, quietBeyond} from '../../core/tick/watchdog'
import {commandIO} from '../output/command-io'
import type {Painter} from '../output/render'
import {forkRunner} from './fork-runner'
import type {HealthServer} from './health-server'
import {logLine, outcomeLines, problemLine, type LineStyle} from './lines'

export interface SchedulerFlags {
  concurrency: number
  /** Serve GET /healthz on this port (0: one the system picks, said in the start line), or none. */
  healthPort?: number
  healthHost: string
  traceback: boolean
  verbosity: number
}

/** How often a run's watchdog looks in on it: two quiet looks in a row and its do() can never settle. */
const WATCHDOG_BEAT_MS = 5000

/**
 * `manage scheduler`: the process guards installed once, then the Scheduler (core/runners) until
 * SIGTERM or SIGINT, which drains it: no new claim, the running jobs asked to stop and given
 * graceSeconds, every run recorded. Returns the exit status: 0 when every run ended within the
 * grace period, 143 / 130 when one had to be abandoned. A second signal exits at once.
 */
export async function runScheduler(project: Project, flags: SchedulerFlags, paint: Painter, env: NodeJS.ProcessEnv): Promise<number> {
  // A frozen clock would never reach the next wake's instant.
  if (env.MANAGE_NOW) throw new UsageError(`manage scheduler runs in real time, but MANAGE_NOW=${env.MANAGE_NOW} freezes the clock: unset MANAGE_NOW (runcrons --dry-run answers "what would run at …")`)
  const settings = await project.settings()
  if (settings.crons.length === 0) throw new CommandError(`no jobs to schedule: the crons of ${settings.file} is empty; list job classes in it (manage startcron NAME makes one)`, 1)
  // The database server's clock on PostgreSQL and MySQL, measured again at a wake once a minute has passed.
  let current = await project.clock()
  const clock = () => current()
  // Its runner's since (cron_tick): this process's start, on the decisions' clock.
  const startedMs = clock()
  const style: LineStyle = {verbosity: flags.verbosity, traceback: flags.traceback, paint, zone: settings.timeZone}
  const {stdout, stderr} = commandIO()
  const out = (line: string) => stdout.write(`${line}\n`)
  const err = (line: string) => stderr.write(`${line}\n`)
  if (style.verbosity >= 0) for (const problem of settings.alertProblems) err(`${paint.error('[!]')} settings: ${problem} (the jobs run without these alerts until then)`)
  let scheduler: Scheduler | undefined
  const describe = (error: unknown) => scrubSecrets(firstLine(messageFromError(error)), project.database().secrets)
  const {health, server} = await healthCheck(flags, clock, describe, () => scheduler?.nextWakeMs ?? null)
  // The process stays alive, so a do() that can never settle is found by a watchdog, not by the
  // loop running dry; the scheduler's own timer is not work a run could be waiting on.
  const baseline = activeResources()
  const isQuiet = () => quietBeyond(new Map([...baseline, ['Timeout', (baseline.get('Timeout') ?? 0) + (scheduler?.nextWakeMs == null ? 0 : 1)]]))()
  const guards = installProcessGuards({
    neverSettled: {kind: 'watchdog', beatMs: WATCHDOG_BEAT_MS, isQuiet},
    onSignal: (signal, first) => {
      if (!first) process.exit(signal === 'SIGINT' ? 130 : 143)
      if (style.verbosity >= 0) err(`${paint.warn('[!]')} ${signal}: stopping after the running jobs (grace ${settings.graceMs / 1000} s; send it again to quit now)`)
    },
  })
  let strays = 0
  const stopStrays = guards.containment.onStrayCrash((crash) => {
    strays++
    err(`${paint.error('[!]')} an error outside every job (${crash.kind.replace('-', ' ')}): ${firstLine(messageFromError(crash.error))}`)
  })
  const events = printed(style, out, err)
  const lag = lagWarnings(paint, err)
  try {
    const source = await project.tickSource()
    const spool = project.spool(settings)
    const host = os.hostname()
    scheduler = new Scheduler({
      tick: async (hooks) => {
        current = await project.clock()
        return runCrons({...hooks, ...tickOptions(project, settings, guards, clock), source, spool, ...events})
      },
      heartbeat: (plan) => recordSchedulerTick(plan, {host, pid: process.pid, version: PACKAGE_VERSION}, startedMs, lag.takeWorst()),
      settings,
      clock,
      timers: realSchedulerTimers,
      concurrency: flags.concurrency,
      onError: (error, doing) => err(`${paint.error('[!]')} ${doing} failed: ${describe(error)} (the scheduler goes on)`),
      health,
      onRunning: (codes) => lag.running(codes),
    })
    const stopped = new Promise<string>((resolve) => guards.shutdown.addEventListener('abort', () => resolve(String(guards.shutdown.reason)), {once: true}))
    await scheduler.start()
    if (style.verbosity >= 1) out(`manage scheduler: ${settings.crons.length} job(s), up to ${flags.concurrency} at once (pid ${process.pid})${server ? `, health at ${server.url}` : ''}; SIGTERM or Ctrl-C stops it after the running jobs`)
    const signal = await stopped
    server?.close()
    const end = await scheduler.stop(signal)
    if (end.abandoned) return signal === 'SIGINT' ? 130 : 143
    return strays > 0 ? 1 : 0
  } finally {
    await scheduler?.stop()
    server?.close()
    stopStrays()
    guards.release()
  }
}

/** What every wake's tick is given besides the scheduler's hooks: the same as runcrons', with the scheduler's slots and name. */
function tickOptions(project: Project, settings: Settings, guards: ProcessGuards, clock: Clock) {
  return {
    db: () => project.db(),
    dialect: project.database().dialect,
    secrets: project.database().secrets,
    containment: guards.containment,
    isolation: {runner: forkRunner, root: project.paths.root, settingsFile: project.paths.settingsFile},
    settings,
    clock,
    // The slots are the scheduler's (hooks.admit): within a tick every due job asks for one at once.
    concurrency: Number.POSITIVE_INFINITY,
    // Its watch never reports its own heartbeat (read before it writes it); each run records the code's version.
    runner: 'scheduler' as const,
    codeVersion: () => project.codeVersion(),
  }
}

/**
 * Event-loop lag past a second, told as a warning naming the jobs running in this process (and its
 * worst, in the heartbeat: manage runners). Its check runs only while they run, unref'd, and stops
 * one look after the last one ends.
 */
function lagWarnings(paint: Painter, err: (line: string) => void): LoopLag {
  return new LoopLag({
    clock: () => performance.now(),
    timers: realLagTimers,
    onLag: (lagMs, codes) => err(`${paint.warn('[!]')} the event loop lagged ${(lagMs / 1000).toFixed(1)} s (blocked by a job computing?) while ${codes.join(', ')} ran in this process: every other job's start waits; give the one that computes isolate = true (its own process) (said once per job per ${LAG_QUIET_MS / 60_000} min)`),
  })
}

/**
 * The health state, and its server when --health-port asks for one (node:http is loaded only then).
 * Started before the watchdog's baseline: the listening socket is the host's, not work a run waits on.
 */
async function healthCheck(flags: SchedulerFlags, clock: () => number, describe: (error: unknown) => string, armedMs: () => number | null): Promise<{health: SchedulerHealth; server?: HealthServer}> {
  const health = new SchedulerHealth(clock(), describe)
  if (flags.healthPort === undefined) return {health}
  const {serveHealth} = require('./health-server') as typeof import('./health-server')
  return {health, server: await serveHealth(flags.healthHost, flags.healthPort, () => health.answer(clock(), armedMs()))}
}

/** The ticks' events as lines: the runs (not the jobs simply not due at a wake), each class's problem once, the logs. */
function printed(style: LineStyle, out: (line: string) => void, err: (line: string) => void): TickEvents {
  const seenProblems = new Set<string>()
  return {
    onOutcome: (outcome) => {
      if (ran(outcome)) outcomeLines(outcome, style).forEach(out)
    },
    onProblem: (problem) => {
      const line = problemLine(problem, style)
      if (line === null || seenProblems.has(line)) return
      seenProblems.add(line)
      err(line)
    },
    onLog: (code, level, message) => {
      const line = logLine(code, level, message, style)
      if (line !== null) (line.stream === 'stderr' ? err : out)(line.text)
    },
  }
}

/** An outcome worth a line in a long-lived log: a run, not a job that was simply not due at this wake. */
function ran(outcome: Outcome): boolean {
  return 'runId' in outcome || outcome.spooled !== undefined
}
