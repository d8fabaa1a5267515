import type {Knex} from 'knex'
import type {DateTime} from 'luxon'
import type {CronLogger, PastRun, RunLogView} from './run-types'

/**
 * The settings as a job reads them (ctx.settings). A project types its own by augmenting this
 * interface: `declare module 'manage-cli' { interface ProjectSettings { appName: string } }`;
 * a setting it does not declare reads as any.
 */
export interface ProjectSettings {
  [key: string]: any
}

/** What do() receives. */
export interface CronContext {
  /** The code of the job being run. */
  code: string
  /** The id of this run's row in cron_job_log. */
  runId: number
  /** The time the run was decided, in the settings' time zone. */
  now: DateTime
  /** The runAtTimes slot this run serves ('HH:MM'), or null. */
  slot: string | null
  /** The latest successful run before this one, or null. */
  previousSuccess: PastRun | null
  /** True when the run was started with --force, whatever the schedule said. */
  forced: boolean
  logger: CronLogger
  /** Fires when the run should stop: the tick got SIGTERM/SIGINT, or timeoutMins ran out. Stop within the grace period. */
  signal: AbortSignal
  /** The project's database (the one the run log is in). */
  db: Knex
  /** The run log, to read and to trim (for housekeeping jobs); the runner's own writes are not in it. */
  runLog: RunLogView
  /** The settings module's values (the project's own settings live there too; see ProjectSettings). */
  settings: Readonly<ProjectSettings>
}

/**
 * A job's own alerts (CronJobBase.alerts): false turns them off; an object overrides the settings'
 * thresholds, and its webhooks or e-mail recipients replace the settings' for this job.
 */
export type JobAlertsOverride = false | {failureThreshold?: number; recoveryThreshold?: number; webhooks?: string[]; email?: {to: string | string[]}}

/**
 * A scheduled job. Subclass it, give it a unique `code`, a schedule and `do()`;
 * list the class in the settings' `crons`.
 *
 * The options keep django-cron's meaning (see README): runEveryMins (or manage's runEverySeconds), retryAfterFailureMins,
 * runAtTimes, runWeeklyOnDays (Monday = 0), runMonthlyOnDays, runToleranceSeconds,
 * allowParallelRuns, removeSuccessfulCronLogs.
 */
export abstract class CronJobBase {
  // The options are declared, not defined: a subclass sets the ones it uses, and a tick that
  // loads a thousand classes does not pay for a dozen undefined fields on each.
  /** Unique and stable: the run log is keyed by it. */
  declare code: string
  /** Run when this many minutes have passed since the last successful start (0 = every tick). */
  declare runEveryMins?: number | null
  /**
   * Run when this many seconds (a whole number ≥ 1) have passed since the last successful start:
   * runEveryMins in seconds, for sub-minute jobs (set one of the two). The crontab tick runs such
   * a job at most once a minute; `manage scheduler` serves it on time.
   */
  declare runEverySeconds?: number | null
  /** After a failure, wait this many minutes (from the failed start) before trying again. */
  declare retryAfterFailureMins?: number | null
  /** Wall-clock times ('HH:MM', settings' time zone) at which to run once a day. */
  declare runAtTimes?: string[] | null
  /** Only on these weekdays: Monday = 0 … Sunday = 6. */
  declare runWeeklyOnDays?: number[] | null
  /** Only on these days of the month (1–31). */
  declare runMonthlyOnDays?: number[] | null
  /**
   * Spread an interval job inside its interval: with runEveryMins or runEverySeconds, whole seconds
   * (at most the interval) from which an offset is drawn by the hash of the code, the same on every
   * server. Its interval counts from each run's start less the offset; `manage scheduler` starts
   * each run that long after the instant its interval calls for, so jobs deployed together do not
   * all fire at once (the crontab tick, once a minute, starts it at the minute).
   */
  declare spreadSeconds?: number | null
  /** Seconds of slack when comparing with runEveryMins / runEverySeconds / retryAfterFailureMins (less than runEverySeconds). */
  declare runToleranceSeconds?: number
  /** Let a new run start while an earlier one is still running (the same as overlap = 'allowAll'). */
  declare allowParallelRuns?: boolean
  /**
   * What becomes of a period that falls due while a run of the job is live, on any server: 'skip'
   * records it skipped; 'bufferOne' runs the latest of them right after the live run ends (the
   * others skipped); 'bufferAll' runs each, in order; 'cancelOther' stops the live run (its
   * ctx.signal fires; recorded as cancelled) and starts the new one; 'allowAll' runs it alongside
   * (allowParallelRuns). Unset: django-cron's rules (see README, "Policies").
   */
  declare overlap?: 'skip' | 'bufferOne' | 'bufferAll' | 'cancelOther' | 'allowAll' | null
  /**
   * What becomes of the periods the job missed (the servers were down, the job paused…): 'none'
   * skips them and waits for the next period, 'latest' runs once for the most recent, 'all' runs
   * each, oldest first (ctx.now and ctx.slot are the period served). Every period then ends with one
   * record, a run or a skip with its reason. Unset: django-cron's rules (see README, "Policies").
   */
  declare catchUp?: 'none' | 'latest' | 'all' | null
  /** With catchUp 'latest' or 'all': run no period older than this many minutes (older ones are skipped, "outside the catch-up window"). */
  declare catchUpWindowMins?: number | null
  /**
   * A group of the settings' `limits` (e.g. 'reports' with limits: {reports: 2}): at most that many
   * runs of the group's jobs at once, across every server. A run held back stays due and starts at a
   * later tick, its lateness recorded; a name the settings do not define keeps the job from running.
   */
  declare limit?: string | null
  /** After a success, delete this job's older successful rows from the run log. */
  declare removeSuccessfulCronLogs?: boolean
  /** A cron expression (five fields, e.g. '0 3 * * 1-5', or six with seconds first, e.g. '0/10 * * * * *' for every 10 seconds), read on the zone's wall clock; beside or instead of the options above. */
  declare cron?: string | null
  /** This class's IANA zone for cron, runAtTimes and the day filters (default: the settings' timeZone). */
  declare timeZone?: string | null
  /** Abort the run after this many minutes (ctx.signal fires); past the grace period it is recorded as timed_out. */
  declare timeoutMins?: number | null
  /**
   * After this many failed runs in a row (failed, interrupted or timed out; counted from the last
   * resume), the job pauses itself, with the note "paused after N failures: <the last error's first
   * line>" and one alert, until it is resumed by hand (crons:resume, the dashboard). Unset: never.
   */
  declare pauseAfterFailures?: number | null
  /**
   * Run do() in a process of its own: for a job that uses native code, leaks memory or may hang the
   * event loop. It is killed outright when it does not stop within the grace period. It costs a
   * Node start per run, and ctx there is the same but for what cannot cross processes: ctx.db and
   * ctx.runLog are connections of the child's own.
   */
  declare isolate?: boolean
  /**
   * A Healthchecks-compatible check to ping for each run: `<pingUrl>/start` before do(), the bare
   * URL on success, `<pingUrl>/fail` on failure, each with ?rid=<the run's id as a UUID> and the
   * message's tail as the body. Pings have a short timeout and never fail or delay a run.
   */
  declare pingUrl?: string | null
  /**
   * This job's alerts: false turns them off; an object overrides the settings' thresholds, and its
   * webhooks or e-mail recipients replace the settings' for this job (see README, "Alerts and monitoring").
   */
  declare alerts?: JobAlertsOverride

  /** The job itself. Its return value becomes the run's message (objects are stored as JSON). */
  abstract do(ctx: CronContext): Promise<unknown> | unknown
}

export type CronClass = new () => CronJobBase
