import type {Knex} from 'knex'
import type {PauseInfo, RunStatus} from '../core/contract/run-types'
import {checkSettings, type SettingsModule} from '../core/project/settings'
import {runCrons} from '../core/tick/run-crons'
import {fixedClock, parseInstant} from '../core/time/clock'
import {MemoryRunLog} from './memory-run-log'

/** A run already in the job's history. Times are ISO 8601 (with their offset, or read in the settings' zone). */
export interface PastRunInput {
  status: RunStatus
  /** When it started. */
  at: string
  /** When it ended (default: when it started; none for a run still going). */
  end?: string
  /** The runAtTimes slot it served ('HH:MM'). */
  slot?: string | null
  message?: string | null
}

export interface RunJobOptions {
  /** The tick's time: ISO 8601 (with its offset, or read in the settings' zone). */
  at: string
  /** The job's earlier runs, oldest first (default: none, a first run). */
  history?: readonly PastRunInput[]
  /** Settings values, as the settings module exports them (timeZone, the project's own…); crons is ignored. */
  settings?: SettingsModule
  /** The database ctx.db gives the job (default: none; a job that asks for it fails saying so). */
  db?: Knex
  /** Run whatever the schedule says, as `runcrons --force` does. */
  force?: boolean
}

export interface JobResult {
  /** Whether the job ran at that time: the schedule made it due (or force was given). */
  ran: boolean
  /** What happened: the run's recorded status, or 'not-due' / 'paused' / 'running-elsewhere' when it did not run. */
  status: RunStatus | 'not-due' | 'skipped' | 'paused' | 'running-elsewhere' | 'claimed-elsewhere' | 'limited' | 'would-run'
  /** Why it did not run ("last success 10:00, every 5 min…"), else null. */
  reason: string | null
  /** The run's message: do()'s return value, or the error's. */
  message: string | null
  /** The error do() threw, for a failed run. */
  error?: unknown
  /** The runAtTimes slot the run served. */
  slot: string | null
  /** The lines the job logged through ctx.logger, and the runner's warnings about it (a ping that failed), as "level: text". */
  logged: string[]
  /** The job's pause after the tick: set when this failure made its pauseAfterFailures (by 'manage (pauseAfterFailures)', with the note), else null. */
  paused: PauseInfo | null
}

/**
 * One tick for one job class at a pinned time, over a run log in memory holding `history`: the
 * decision the runner would make, and when the job is due its do() run as the runner runs it
 * (ctx, timeouts, messages), with no crontab, no database for the run log and no waiting.
 * For a project's tests, as django-cron users freeze time and Laravel's use Carbon::setTestNow.
 */
export async function runJob(cls: new () => unknown, options: RunJobOptions): Promise<JobResult> {
  const settings = checkSettings({...options.settings, crons: [cls]}, 'runJob settings', {cronsDir: '/nonexistent', spoolDir: '/nonexistent'})
  const nowMs = parseInstant(options.at, settings.timeZone, 'at')
  const log = new MemoryRunLog()
  const code = String((new cls() as {code?: unknown}).code)
  for (const run of options.history ?? []) {
    const startMs = parseInstant(run.at, settings.timeZone, 'history at')
    const endMs = run.status === 'running' ? null : run.end ? parseInstant(run.end, settings.timeZone, 'history end') : startMs
    await log.store.insertRun({code, status: run.status, startMs, endMs, ranAtTime: run.slot ?? null, message: run.message ?? null, leaseMs: run.status === 'running' ? settings.leaseMs : undefined})
  }
  const logged: string[] = []
  const clock = fixedClock(nowMs)
  const noDb = () => {
    throw new Error('runJob was given no db: pass runJob(MyCronJob, {at, db: knex(…)}) for a job that uses ctx.db')
  }
  const report = await runCrons({
    db: options.db ?? noDb,
    dialect: 'sqlite', // the run log is in memory: no SQL of the runner's is sent
    settings,
    clock,
    leaseClock: clock,
    store: log.store,
    lock: log.lock,
    recorder: log.recorder,
    force: options.force,
    host: 'test',
    pid: process.pid,
    onLog: (_code, level, message) => logged.push(`${level}: ${message}`),
  })
  const problem = report.problems.find((candidate) => candidate.level === 'error')
  if (problem) throw new Error(`${problem.subject}: ${problem.message}`)
  const outcome = report.outcomes[0]
  const paused = (await log.store.pausedJobs()).get(code) ?? null
  if ('runId' in outcome) {
    return {ran: true, status: outcome.kind, reason: null, message: outcome.message, error: outcome.kind === 'failed' ? outcome.error : undefined, slot: outcome.slot, logged, paused}
  }
  const reason = 'reason' in outcome ? outcome.reason : `running elsewhere (${outcome.host ?? '?'}, pid ${outcome.pid ?? '?'})`
  return {ran: false, status: outcome.kind, reason, message: null, slot: null, logged, paused}
}
