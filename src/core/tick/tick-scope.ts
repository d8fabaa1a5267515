import {Pings} from '../notify/pings'
import {tickAlerts, type TickAlerts} from '../notify/tick-alerts'
import os from 'node:os'
import type {Knex} from 'knex'
import {knexSource, type ConnectionSource} from '../db/connection-source'
import type {Dialect} from '../db/database'
import {scrubSecrets} from '../db/database-url'
import type {LoadedJob, Problem} from '../jobs/load-jobs'
import type {Settings} from '../project/settings'
import {SqlAlertOutbox, type AlertOutbox} from '../run-log/alert-outbox'
import {SqlServerTicks, type RunnerKind, type ServerTicks} from '../run-log/server-ticks'
import {SqlJobLock, type JobLock} from '../run-log/job-lock'
import {SqlRunRecorder, type RunRecorder} from '../run-log/recorder'
import {runLogView, SqlRunStore, type RunStore} from '../run-log/run-store'
import type {OutcomeSpool} from '../run-log/spool'
import type {Verdict} from '../schedule/verdict'
import {firstLine} from '../base/text'
import type {JobHistory, LogLevel, RunLogView} from '../contract/run-types'
import {systemClock, type Clock} from '../time/clock'
import type {Containment} from './containment'
import type {IsolatedRunner} from './isolation'
import type {Outcome} from './outcome'
import type {Decide, TickPlan} from './plan'
import type {PendingWork} from './stray-work'
import type {RetryPolicy} from './retry'
import {realTimers, type Timers} from './timers'


export interface TickEvents {
  /** Each job's outcome, as soon as it is known (completion order when --concurrency > 1). */
  onOutcome?(outcome: Outcome): void
  /** A class that cannot run (and is skipped), or a warning about one. */
  onProblem?(problem: Problem): void
  /** A line a job wrote through ctx.logger, or a note from the runner. */
  onLog?(code: string, level: LogLevel, message: string): void
}

export interface RunCronsOptions extends TickEvents {
  /** The project's knex instance (ctx.db), or how to make it the first time a job asks for it. */
  db: Knex | (() => Knex)
  dialect: Dialect
  /** Where the tick's own SQL goes (default: knex's connections): the CLI gives a driver connection of its own, so a tick whose jobs do not use ctx.db never loads knex. */
  source?: ConnectionSource
  settings: Settings
  /** The decisions' clock (MANAGE_NOW pins it). */
  clock: Clock
  /** The leases' clock: a real one, whatever `clock` says (default the system's; tests drive their own). */
  leaseClock?: Clock
  /** Class names or codes: run only these (they need not be in the settings' crons). */
  names?: readonly string[]
  /**
   * Plan only some of the crons (a scheduler's partial wake): `jobs`, taken from an earlier plan
   * of all of them (`known`), are loaded again from their classes and only their histories are
   * read; the alerts the tick delivers are sent on the channels `known` gives each job.
   */
  partial?: {jobs: readonly LoadedJob[]; known: readonly LoadedJob[]}
  /** Run whatever the schedule says (the lock still applies). */
  force?: boolean
  /** Decide and report, but write nothing and run nothing. */
  dryRun?: boolean
  /** How many due jobs may run at once (default 1: one after another, in crons order). */
  concurrency?: number
  host?: string
  pid?: number
  /** Aborting it stops the tick from starting more jobs and is passed on to running ones. */
  signal?: AbortSignal
  /** The run log, the claims and each run's two transactions (default: SQL over `source`; tests pass fakes). */
  store?: RunStore
  lock?: JobLock
  recorder?: RunRecorder
  /** The alert outbox (default: SQL over `source`, unless `store` is given: a tick over fakes has none). */
  outbox?: AlertOutbox
  /** The servers' ticks and the tick's state read with them (default: as `outbox`). */
  servers?: ServerTicks
  /** Record this server's tick (cron_tick, kind crontab, with this version) at the tick's end, for runner_silent: the crontab's plain tick does. */
  serverTick?: {version: string}
  /** Which runner calls the tick (default crontab; a resident scheduler says so): the watch leaves its own heartbeat alone. */
  runner?: RunnerKind
  /** The version of the app's code (cron_job_log.code_version), asked once, when a job first runs: never on a tick that runs nothing. */
  codeVersion?: () => string | null
  /** Before the jobs run, watch for missed runs, stuck runs and silent servers (raising their alerts): the crontab's plain tick does. */
  watch?: boolean
  /** How often a running job's lease is renewed (default: a quarter of the lease). */
  renewEveryMs?: number
  /** How often a cancelOther job's run looks whether a newer period asks it to stop (default: every second; one indexed read). */
  cancelPollMs?: number
  /** Timers for timeouts and grace periods (tests pass their own to drive time). */
  timers?: Timers
  /** Secrets (the database's password) never to record or report: scrubbed from messages and log lines. */
  secrets?: readonly string[]
  /** Installed on the process by the caller: crashes no await catches are charged to the run that caused them. */
  containment?: Containment
  /** Where an outcome the database cannot take waits for the next tick (the CLI's var/spool). */
  spool?: OutcomeSpool
  /**
   * The process ends after this tick (the CLI's): before the tick ends, the work its jobs left
   * pending is given up to graceSeconds to finish (`before`: what was in flight before the tick;
   * `release` closes what the tick opened for the jobs, ctx.db's connections).
   */
  strayWork?: {before: PendingWork; release(): Promise<void>}
  /** How an isolated job (isolate = true) runs in a process of its own: the CLI's runner, and where the child finds the project. */
  isolation?: {runner: IsolatedRunner; root: string; settingsFile: string}
  /**
   * The plan already made for this tick on the same run log (the crontab's quick tick hands over
   * its own), taken as this tick's when the tick would plan the same: all the crons, none named,
   * no --force or --dry-run, no partial wake, no slots; else the tick plans again. Its problems are
   * reported as the tick's. A plan that stopped (a class's error, the spool's outcomes) is not one.
   */
  planned?: TickPlan
  /** Told the plan once it is made, before any job runs (a long-lived runner computes its next wake from it). */
  onPlan?(plan: TickPlan): void
  /**
   * Asked before a due job is claimed (a long-lived runner's slots, shared by its ticks): wait for a slot, or refuse with the reason it is not started.
   * `periodMs`: the period it is due for, when its periods are fixed instants (spreadSeconds), else null.
   */
  admit?(job: LoadedJob, periodMs: number | null): Promise<Admission | {refused: string}>
}

/** A slot to run one job in, given by `admit`: released once the run is recorded, with the job's last outcome (none: it failed to get one). */
export interface Admission {
  /** How long the job waited for the slot, in ms. */
  waitedMs: number
  release(outcome?: Outcome): void
}

/** Where a tick reads and writes: the run log, the claims, the run recorder, and the project's knex for ctx.db. */
export interface TickParts {
  store: RunStore
  lock: JobLock
  recorder: RunRecorder
  outbox: AlertOutbox | undefined
  servers: ServerTicks | undefined
  /** The project's knex instance, made the first time a job reads ctx.db. */
  knex(): Knex
}

/** What every run of one tick shares: its parts, its settings and the verdict with the tick's pauses. */
export interface TickScope extends TickParts {
  settings: Settings
  clock: Clock
  leaseClock: Clock
  /** What ctx.runLog shows a job. */
  runLog: RunLogView
  host: string
  pid: number
  leaseMs: number
  /** The clock-skew allowance (settings' clockSkewSeconds). */
  skewMs: number
  graceMs: number
  renewEveryMs: number
  cancelPollMs: number
  timers: Timers
  containment: Containment | undefined
  spool: OutcomeSpool | undefined
  isolation: RunCronsOptions['isolation']
  /** The pings of the jobs' checks (pingUrl), which the tick waits for before it ends. */
  pings: Pings
  /** Incidents, what the tick notices, and delivering the outbox. */
  alerts: TickAlerts
  force: boolean
  signal: AbortSignal | undefined
  /** The tick's signal fired: start nothing more. */
  stopping(): boolean
  /** The version of the app's code each run records (RunCronsOptions.codeVersion, asked at most once). */
  codeVersion(): string | null
  log(code: string, level: LogLevel, message: string): void
  /** The text with every secret of the options replaced by ***. */
  scrub(text: string): string
  /** A job's verdict on its history at `nowMs`, with the tick's pauses and --force. */
  verdict(job: LoadedJob, history: JobHistory, nowMs: number): Verdict
  /** How a write for `code` is tried again while the database is away or busy (within recordRetrySeconds, half the lease at most). */
  retry(code: string, doing: string): RetryPolicy
}

/** The parts given in the options, else SQL over the options' source (else knex's connections). */
export function tickParts(options: RunCronsOptions): TickParts {
  const given = options.db
  let db: Knex | undefined
  const knex = () => (db ??= isKnex(given) ? given : given())
  let source: ConnectionSource | undefined
  const sql = () => (source ??= options.source ?? knexSource(knex(), options.dialect))
  return {
    store: options.store ?? new SqlRunStore(sql()),
    lock: options.lock ?? new SqlJobLock(sql()),
    recorder: options.recorder ?? new SqlRunRecorder(sql()),
    outbox: options.outbox ?? (options.store ? undefined : new SqlAlertOutbox(sql())),
    servers: options.servers ?? (options.store ? undefined : new SqlServerTicks(sql())),
    knex,
  }
}

export function tickScope(options: RunCronsOptions, parts: TickParts, decide: Decide, jobs: readonly LoadedJob[]): TickScope {
  const {settings} = options
  const {leaseMs, graceMs} = settings
  const secrets = options.secrets ?? []
  const scrub = (text: string) => (secrets.length === 0 ? text : scrubSecrets(text, secrets))
  const host = options.host ?? os.hostname()
  const pid = options.pid ?? process.pid
  const leaseClock = options.leaseClock ?? systemClock
  const alertLog = (level: LogLevel, message: string) => options.onLog?.('manage', level, scrub(message))
  let version: {value: string | null} | undefined
  return {
    ...parts,
    settings,
    clock: options.clock,
    leaseClock,
    runLog: runLogView(parts.store),
    host,
    pid,
    leaseMs,
    skewMs: settings.clockSkewMs,
    graceMs,
    renewEveryMs: options.renewEveryMs ?? Math.floor(leaseMs / 4),
    cancelPollMs: options.cancelPollMs ?? 1000,
    timers: options.timers ?? realTimers,
    containment: options.containment,
    spool: options.spool,
    isolation: options.isolation,
    pings: new Pings((code, text) => options.onLog?.(code, 'warn', scrub(text))),
    alerts: tickAlerts({settings, outbox: parts.outbox, clock: options.clock, leaseClock, host, runner: options.runner, pid, log: alertLog}, jobs),
    force: options.force ?? false,
    signal: options.signal,
    stopping: () => options.signal?.aborted ?? false,
    codeVersion: () => (version ??= {value: options.codeVersion?.() ?? null}).value,
    log: (code, level, message) => options.onLog?.(code, level, scrub(message)),
    scrub,
    retry: (code, doing) => ({
      budgetMs: Math.min(settings.recordRetryMs, leaseMs / 2),
      timers: options.timers ?? realTimers,
      onRetry: (error, waitMs) => options.onLog?.(code, 'warn', scrub(`${doing} failed (${firstLine(error instanceof Error ? error.message : String(error))}); trying again in ${waitMs} ms`)),
    }),
    verdict: decide,
  }
}

/** A knex instance is itself a function (db('table')): tell it from a function that makes one. */
function isKnex(db: Knex | (() => Knex)): db is Knex {
  return typeof (db as Partial<Knex>).transaction === 'function'
}
