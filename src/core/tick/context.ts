import type {Knex} from 'knex'
import type {CronContext, ProjectSettings} from '../contract/cron-job-base'
import type {LogLevel, PastRun, RunLogView, RunRow} from '../contract/run-types'
import {luxon} from '../time/luxon'

/** A run as it was recorded 'running': what its do() is told of it. */
export interface StartedRun {
  runId: number
  /** The run's start, as decided (the tick's clock: MANAGE_NOW pins it). */
  startMs: number
  slot: string | null
  previousSuccess: RunRow | null
  /** The period it serves (null: a run by hand). */
  periodMs?: number | null
}

/** The run as ctx shows it: plain data, so the tick can send it to an isolated job's process. */
export interface ContextRun extends StartedRun {
  /** The settings' time zone (ctx.now, ctx.previousSuccess). */
  zone: string
  /** What ctx.now shows: the run's start, or for a catch-up job the period it serves. */
  nowMs?: number
  forced: boolean
}

/** What ctx reaches beyond the run: the tick's own in this process, the child's own in an isolated one. */
export interface ContextReach {
  log(level: LogLevel, message: string): void
  db(): Knex
  runLog(): RunLogView
  settings: Readonly<ProjectSettings>
}

/**
 * What do() gets, in the tick's process and in an isolated job's alike. The times are made when
 * read, so luxon is loaded only for a job that reads them; the database and the run log are reached
 * only when a job reads ctx.db or ctx.runLog.
 */
export function cronContext(code: string, run: ContextRun, signal: AbortSignal, reach: ContextReach): CronContext {
  const {zone} = run
  let now: CronContext['now'] | undefined
  let previousSuccess: PastRun | null | undefined
  let runLog: RunLogView | undefined
  const log = (level: LogLevel) => (message: string) => reach.log(level, message)
  return {
    code,
    runId: run.runId,
    get now() {
      return (now ??= luxon().DateTime.fromMillis(run.nowMs ?? run.startMs, {zone}))
    },
    slot: run.slot,
    get previousSuccess() {
      if (previousSuccess === undefined) previousSuccess = run.previousSuccess ? pastRun(run.previousSuccess, zone) : null
      return previousSuccess
    },
    forced: run.forced,
    logger: {debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error')},
    signal,
    get db() {
      return reach.db()
    },
    get runLog() {
      return (runLog ??= reach.runLog())
    },
    settings: reach.settings,
  }
}

function pastRun(row: RunRow, zone: string): PastRun {
  return {
    id: row.id,
    status: row.status,
    startTime: luxon().DateTime.fromMillis(row.startMs, {zone}),
    endTime: row.endMs === null ? null : luxon().DateTime.fromMillis(row.endMs, {zone}),
    ranAtTime: row.ranAtTime,
    message: row.message,
  }
}
