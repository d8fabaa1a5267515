import {pausedAlert} from '../alerts/alert-text'
import {read, write, type SqlConnection} from '../db/sql-connection'
import type {PauseInfo} from '../contract/run-types'
import {failuresText} from '../schedule/describe'
import {PAUSED_BY_FAILURES, pauseNote, pausesAfterFailures} from '../schedule/pause-after-failures'
import {insertAction} from './action-statements'
import {insertAlert} from './alert-statements'
import {newAlert, type Alerting} from './incidents'
import * as pauseSql from './pause-statements'
import {runRowOf} from './rows'
import {pauseJob} from './statements'
import {timeCodec} from './time-codec'

/**
 * pauseAfterFailures, inside the transaction that recorded a failure (a run's end, or the runs a
 * claim found dead): when the job's last `after` runs failed since its last resume, pause it at
 * `atMs`, record the pause in the action log with its note, and queue one alert (given `alerting`:
 * some channel takes the job's alerts). The pause is the conditional UPDATE crons:pause makes: of
 * two processes recording failures at once, the one whose UPDATE changes the row writes the
 * record and the alert. Returns the pause it made, or null.
 */
export async function pauseAfterFailuresOn(connection: SqlConnection, code: string, after: number, atMs: number, alerting?: Alerting): Promise<PauseInfo | null> {
  const {dialect} = connection
  const [job] = await read(connection, pauseSql.selectPauseState(dialect, code))
  if (job === undefined || job.paused_at !== null) return null
  const runs = (await read(connection, pauseSql.selectLatestEnded(code, after))).map((row) => runRowOf(row, dialect))
  if (!pausesAfterFailures(after, runs, timeCodec(dialect).fromDb(job.resumed_at))) return null
  if ((await write(connection, pauseJob(dialect, code, atMs, PAUSED_BY_FAILURES))).changes === 0) return null
  const last = runs[0]
  const note = pauseNote(after, last)
  await write(connection, insertAction(dialect, {code, action: 'pause', by: PAUSED_BY_FAILURES, note, outcome: `${code} paused itself after ${failuresText(after)} in a row`, atMs}))
  if (alerting) {
    const alert = pausedAlert(alerting.job, {...last, runId: last.id, slot: last.ranAtTime}, after, note, alerting.reporter)
    await write(connection, insertAlert(dialect, newAlert(alert, `paused:${code}:${atMs}`, atMs)))
  }
  return {sinceMs: atMs, by: PAUSED_BY_FAILURES, note}
}
