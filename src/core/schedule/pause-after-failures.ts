import {firstLine} from '../base/text'
import {isFailedStatus, type RunStatus} from '../contract/run-types'
import {failuresText} from './describe'

/** Who a pause after failures is recorded as made by (cron_job.paused_by, the action log's by_user). */
export const PAUSED_BY_FAILURES = 'manage (pauseAfterFailures)'

/** The longest first line of an error a pause's note quotes, in characters (the rest is in the run log). */
const NOTE_ERROR_LENGTH = 300

/** A run as the rule reads it. */
export interface CountedRun {
  status: RunStatus
  startMs: number
}

/**
 * pauseAfterFailures' rule (pure; tested as a table): pause when the job's last `after` runs by
 * start time all failed (failed, interrupted or timed out; forced runs count like any), each
 * started after its last resume, so a job resumed by hand gets `after` fresh tries. `runs` are its
 * latest runs, newest first; rows still running have no outcome yet and are passed over.
 */
export function pausesAfterFailures(after: number, runs: readonly CountedRun[], resumedMs: number | null): boolean {
  const ended = runs.filter((run) => run.status !== 'running').slice(0, after)
  return ended.length === after && ended.every((run) => isFailedStatus(run.status) && (resumedMs === null || run.startMs > resumedMs))
}

/** The pause's note: "paused after 3 failures: <the first line of the last error>" (its status when it left no message). */
export function pauseNote(after: number, last: {status: RunStatus; message: string | null}): string {
  const line = [...firstLine(last.message).trim()]
  const error = line.length === 0 ? last.status : line.length > NOTE_ERROR_LENGTH ? `${line.slice(0, NOTE_ERROR_LENGTH).join('')}…` : line.join('')
  return `paused after ${failuresText(after)}: ${error}`
}
