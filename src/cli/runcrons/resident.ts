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
import {BACKOFF_CAP_MS, type OutageEvent} from '../../core/runners/backoff'
import {SchedulerHealth, type HealthAnswer} from '../../core/runners/health'
import {LAG_QUIET_MS, LoopLag, realLagTimers} from '../../core/runners/loop-lag'
import {realSchedulerTimers, Scheduler} from '../../core/runners/scheduler'
import {alertsConfigured} from '../../core/notify/quick-watch'
import {runLogMark} from '../../core/run-log/run-store'
import {recordSchedulerTick} from '../../core/tick/plan'
import {installProcessGuards, type ProcessGuardOptions, type ProcessGuards} from '../../core/tick/process-guards'
import {runCrons, type Outcome, type TickEvents} from '../../core/tick/run-crons'
import {watchAgain} from '../../core/tick/watch-again'
import {activeResources, quietBeyond} from '../../core/tick/watchdog'
import type {Painter} from '../output/render'
import {forkRunner} from './fork-runner'
import {logLine, outcomeLines, problemLine, type LineStyle} from './lines'

/** How often a run's watchdog looks in on it: two quiet looks in a row and its do() can never settle. */
const WATCHDOG_BEAT_MS = 5000

/**
 * The settings a resident scheduler runs, checked at its start: in real time (never under
 * MANAGE_NOW), with at least one job. Its errors are the start's one-line errors.
 */
export async function schedulerSettings(project: Project, env: NodeJS.ProcessEnv): Promise<Settings> {
  // A frozen clock would never reach the next wake's instant.
  if (env.MANAGE_NOW) throw new UsageError(`manage scheduler runs in real time, but MANAGE_NOW=${env.MANAGE_NOW} freezes the clock: unset MANAGE_NOW (runcrons --dry-run answers "what would run at …")`)
  const settings = await project.settings()
  if (settings.crons.length === 0) throw new CommandError(`no jobs to schedule: the crons of ${settings.file} is empty; list job classes in it (manage startcron NAME makes one)`, 1)
  return settings
}

export interface ResidentOptions {
  concurrency: number
  style: LineStyle
  /** A line for the log (the runs), and one for warnings and errors. */
  out(line: string): void
  err(line: string): void
  /** `manage scheduler` owns its process: told of each signal. Embedded (startScheduler): none, and the guards leave the process's signals and strays to the host. */
  owner?: {onSignal: NonNullable<ProcessGuardOptions['onSignal']>}
  /** Started before the watchdog's baseline (the health server's socket is the host's, not work a run waits on). */
  beforeBaseline?(health: () => HealthAnswer): Promise<void>
}

/** A scheduler ready to start, with what the runner around it stops and answers. */
export interface Resident {
  readonly scheduler: Scheduler
  readonly guards: ProcessGuards
  /** What GET /healthz answers now. */
  health(): HealthAnswer
  /** Errors outside every job (or late ones, too late to record) told so far. */
  strays(): number
  /** The guards released and the stray listener gone (after the scheduler has stopped). */
  release(): void
}

/**
 * The Scheduler (core/runners) over a project, as `manage scheduler` and startScheduler both run
 * it: the process guards, the tick's options, the heartbeat, the health state, event-loop lag
 * warnings, each run's watchdog, and the ticks' events as lines.
 */
export async function residentScheduler(project: Project, settings: Settings, options: ResidentOptions): Promise<Resident> {
  const {style, out, err} = options
  const {paint} = style
  // The database server's clock on PostgreSQL and MySQL, measured again at a wake once a minute has passed.
  let current = await project.clock()
  const clock = () => current()
  // Its runner's since (cron_tick): this process's start, on the decisions' clock.
  const startedMs = clock()
  if (style.verbosity >= 0) for (const problem of settings.alertProblems) err(`${paint.error('[!]')} settings: ${problem} (the jobs run without these alerts until then)`)
  let scheduler: Scheduler | undefined
  const describe = (error: unknown) => scrubSecrets(firstLine(messageFromError(error)), project.database().secrets)
  const state = new SchedulerHealth(startedMs, describe)
  const health = () => state.answer(clock(), scheduler?.nextWakeMs ?? null)
  await options.beforeBaseline?.(health)
  // The process stays alive, so a do() that can never settle is found by a watchdog, not by the
  // loop running dry; the scheduler's own timer is not work a run could be waiting on.
  const baseline = activeResources()
  const isQuiet = () => quietBeyond(new Map([...baseline, ['Timeout', (baseline.get('Timeout') ?? 0) + (scheduler?.nextWakeMs == null ? 0 : 1)]]))()
  const guards = installProcessGuards({neverSettled: {kind: 'watchdog', beatMs: WATCHDOG_BEAT_MS, isQuiet}, onSignal: options.owner?.onSignal, embedded: options.owner === undefined})
  let strays = 0
  const stopStrays = guards.containment.onStrayCrash((crash) => {
    strays++
    err(`${paint.error('[!]')} an error outside every job (${crash.kind.replace('-', ' ')}): ${firstLine(messageFromError(crash.error))}`)
  })
  const release = () => {
    stopStrays()
    guards.release()
  }
  try {
    const source = await project.tickSource()
    const spool = project.spool(settings)
    const events = printed(style, out, err)
    const host = os.hostname()
    const lag = lagWarnings(paint, err)
    // The same for every wake: made once, not at each of its many wakes a second.
    const fixed = {...tickOptions(project, settings, guards, clock), source, spool, host, pid: process.pid, ...events}
    // The run log's mark as each full plan began: a refresh that finds it unchanged plans nothing.
    let mark: string | null = null
    scheduler = new Scheduler({
      tick: async (hooks) => {
        current = await project.clock()
        // Taken before the plan reads: a change made while it reads shows at the next refresh.
        if (!hooks.partial) {
          mark = null
          mark = await runLogMark(source)
        }
        return runCrons({...hooks, ...fixed})
      },
      heartbeat: (plan, atMs) => recordSchedulerTick(plan, {host, pid: process.pid, version: PACKAGE_VERSION}, atMs, startedMs, lag.takeWorst()),
      // Never with outcomes in the spool (a full plan records them first). The watch, when due with
      // alerts to raise, looks at the plan that stands.
      unchanged: async (plan, watch) => {
        if (mark === null || spool.hasPending()) return false
        current = await project.clock()
        if ((await runLogMark(source)) !== mark) return false
        if (watch && alertsConfigured(settings, plan.jobs)) await watchAgain(fixed, plan, clock())
        return true
      },
      settings,
      clock,
      timers: realSchedulerTimers,
      concurrency: options.concurrency,
      onError: (error, doing) => err(`${paint.error('[!]')} ${doing} failed: ${describe(error)} (the scheduler goes on)`),
      onOutage: outageLines(paint, err, describe),
      health: state,
      onRunning: (codes) => lag.running(codes),
    })
  } catch (error) {
    release()
    throw error
  }
  return {scheduler, guards, health, strays: () => strays, release}
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

/** The database going away and coming back, one line each (and a reminder at most every 10 min), never one per retry. */
function outageLines(paint: Painter, err: (line: string) => void, describe: (error: unknown) => string): (event: OutageEvent) => void {
  const s = (ms: number) => `${Math.round(ms / 1000)} s`
  return (event) => {
    if (event.kind === 'down') err(`${paint.error('[!]')} the database is unreachable: ${describe(event.error)}; the scheduler goes on, unhealthy, trying again in ${s(event.retryInMs)} and backing off to ${s(BACKOFF_CAP_MS)}; runs that end meanwhile keep their outcomes in the spool (said again when it is back)`)
    else if (event.kind === 'still') err(`${paint.error('[!]')} the database is still unreachable after ${s(event.downMs)}: ${describe(event.error)}; trying again every ${s(BACKOFF_CAP_MS)} or so`)
    else err(`${paint.ok('[✔]')} the database is back after ${s(event.downMs)}: the scheduler resumes`)
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
