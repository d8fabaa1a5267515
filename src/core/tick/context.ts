import type {CronContext, PastRun} from '../contract/cron-job-base'
import type {LoadedJob} from '../jobs/load-jobs'
import type {RunRow} from '../run-log/rows'
import {luxon} from '../time/luxon'
import type {TickScope} from './tick-scope'

/** A run as it was recorded 'running': what its do() is told of it. */
export interface StartedRun {
  runId: number
  /** The run's start, as decided (the tick's clock: MANAGE_NOW pins it). */
  startMs: number
  slot: string | null
  previousSuccess: RunRow | null
}

/**
 * What do() gets. The times are made when read, so luxon is loaded only for a job that reads them,
 * and the knex instance only for a job that reads ctx.db.
 */
export function cronContext(scope: TickScope, job: LoadedJob, run: StartedRun, signal: AbortSignal): CronContext {
  const {code} = job
  const zone = scope.settings.timeZone
  const log = scope.log
  let now: CronContext['now'] | undefined
  let previousSuccess: PastRun | null | undefined
  return {
    code,
    runId: run.runId,
    get now() {
      return (now ??= luxon().DateTime.fromMillis(run.startMs, {zone}))
    },
    slot: run.slot,
    get previousSuccess() {
      if (previousSuccess === undefined) previousSuccess = run.previousSuccess ? pastRun(run.previousSuccess, zone) : null
      return previousSuccess
    },
    forced: scope.force,
    logger: {
      debug: (message) => log(code, 'debug', message),
      info: (message) => log(code, 'info', message),
      warn: (message) => log(code, 'warn', message),
      error: (message) => log(code, 'error', message),
    },
    signal,
    get db() {
      return scope.knex()
    },
    runLog: scope.runLog,
    settings: scope.settings.values,
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
