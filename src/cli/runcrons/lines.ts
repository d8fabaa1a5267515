import type {Problem} from '../../core/jobs/load-jobs'
import {firstLine} from '../../core/base/text'
import type {LogLevel} from '../../core/contract/run-types'
import type {Outcome} from '../../core/tick/run-crons'
import {formatDuration} from '../../core/time/format'
import {formatTime, type Painter} from '../output/render'

/** How `manage runcrons` prints: its verbosity (-1 for --silent), colours and the settings' zone. */
export interface LineStyle {
  verbosity: number
  /** --traceback: a failure's whole stack under its line, as -v 2 does. */
  traceback: boolean
  paint: Painter
  zone: string
}

/** The line(s) one job's outcome prints on stdout ([✔] [✘] [ ] [-] [‖] [→] [~]); none at too low a verbosity. */
export function outcomeLines(outcome: Outcome, style: LineStyle): string[] {
  const {verbosity: v, paint} = style
  switch (outcome.kind) {
    case 'succeeded': {
      if (v < 1) return []
      const details = () => `  ${formatDuration(outcome.endMs - outcome.startMs)}${outcome.slot ? `, slot ${outcome.slot}` : ''}${outcome.message ? `: ${firstLine(outcome.message)}` : ''}`
      return [`${paint.ok('[✔]')} ${outcome.code}${v >= 2 ? paint.dim(details()) : ''}`]
    }
    case 'failed':
      if (v < 0) return []
      return [`${paint.error('[✘]')} ${outcome.code}: ${firstLine(outcome.message)}`, ...(style.traceback || v >= 2 ? [outcome.message.replace(/^/gm, '    ')] : [])]
    case 'cancelled':
      return v >= 1 ? [`${paint.warn('[-]')} ${outcome.code}: cancelled — ${firstLine(outcome.message)}`] : []
    case 'interrupted':
    case 'timed_out':
      return v >= 0 ? [`${paint.error('[✘]')} ${outcome.code}: ${outcome.kind === 'timed_out' ? 'timed out' : 'interrupted'} — ${firstLine(outcome.message)}`] : []
    case 'not-due':
      return v >= 1 ? [`[ ] ${outcome.code}${v >= 2 ? paint.dim(`  ${outcome.reason}`) : ''}`] : []
    case 'skipped':
      return v >= 1 ? [`${paint.warn('[-]')} ${outcome.code}  ${outcome.periods} period(s) skipped: ${outcome.reason}`] : []
    case 'paused':
      return v >= 1 ? [`${paint.warn('[‖]')} ${outcome.code}  ${outcome.reason}`] : []
    case 'would-run':
      return v >= 1 ? [`${paint.ok('[→]')} ${outcome.code}  would run: ${outcome.reason}`] : []
    case 'running-elsewhere': {
      if (v < 1) return []
      // The claim was let go between the attempt and the look at its holder: nothing more is known.
      if (outcome.sinceMs === null && outcome.host === null && outcome.pid === null) return [`${paint.warn('[~]')} ${outcome.code}  claimed at this moment by another process, which runs it`]
      const since = outcome.sinceMs === null ? 'since ?' : `since ${formatTime(outcome.sinceMs, style.zone)}`
      return [`${paint.warn('[~]')} ${outcome.code}  still running elsewhere (${since}, host ${outcome.host ?? '?'}, pid ${outcome.pid ?? '?'})`]
    }
    case 'limited':
      return v >= 1 ? [`${paint.warn('[~]')} ${outcome.code}  held back: ${outcome.reason}`] : []
    case 'claimed-elsewhere':
      return v >= 1 ? [`${paint.warn('[~]')} ${outcome.code}  claimed at this moment by another process (host ${outcome.host ?? '?'}, pid ${outcome.pid ?? '?'}), which decides this period`] : []
  }
}

/** A class that cannot run ([!], unless --silent) or a warning about one ([?], -v 2): a line for stderr. */
export function problemLine(problem: Problem, style: LineStyle): string | null {
  if (problem.level === 'error') return style.verbosity >= 0 ? `${style.paint.error('[!]')} ${problem.subject}: ${problem.message}` : null
  return style.verbosity >= 2 ? `${style.paint.warn('[?]')} ${problem.subject}: ${problem.message}` : null
}

const LOG_VERBOSITY: Record<LogLevel, number> = {debug: 3, info: 2, warn: 1, error: 0}

/** A job's ctx.logger line or a runner note, indented under the jobs; warnings and errors go to stderr. */
export function logLine(code: string, level: LogLevel, message: string, style: LineStyle): {stream: 'stdout' | 'stderr'; text: string} | null {
  if (style.verbosity < LOG_VERBOSITY[level]) return null
  const loud = level === 'error' || level === 'warn'
  return {stream: loud ? 'stderr' : 'stdout', text: `    ${style.paint.dim(code)} ${loud ? `${style.paint.warn(`${level}:`)} ` : ''}${message}`}
}

/** -v 2's last line: what the tick did, how long it took, and the time it decided by. */
export function summaryLine(outcomes: readonly Outcome[], options: {dryRun: boolean; elapsedMs: number; nowMs: number}, style: LineStyle): string | null {
  if (style.verbosity < 2) return null
  const count = (kind: Outcome['kind']) => outcomes.filter((outcome) => outcome.kind === kind).length
  return style.paint.dim(
    `${outcomes.length} job(s): ${count('succeeded')} ran, ${count('failed')} failed, ${count('not-due')} not due, ` +
      `${count('running-elsewhere') + count('claimed-elsewhere')} running elsewhere${count('limited') > 0 ? `, ${count('limited')} held back` : ''}${options.dryRun ? `, ${count('would-run')} would run` : ''} ` +
      `(${formatDuration(options.elapsedMs)}, now = ${formatTime(options.nowMs, style.zone)})`,
  )
}
