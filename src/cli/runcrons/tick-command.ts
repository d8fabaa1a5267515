import {firstLine} from '../../core/text'
import type {Project} from '../../core/project/project'
import {runCrons, type LogLevel, type Outcome} from '../../core/tick/run-crons'
import type {Problem} from '../../core/jobs/load-jobs'
import {formatDuration, formatTime, type Painter} from '../render'

export interface TickFlags {
  force: boolean
  silent: boolean
  dryRun: boolean
  concurrency: number
  traceback: boolean
  verbosity: number
}

/**
 * `manage runcrons` itself: run the tick and print it, one line a job. The oclif command and the
 * crontab's plain `manage runcrons` (which skips oclif, see bin/manage) both come here. Returns
 * the exit status; the caller exits with it, so that a job that ignored its AbortSignal (or left
 * a socket open) cannot keep the per-minute process alive after the tick.
 */
export async function runcronsTick(project: Project, names: readonly string[], flags: TickFlags, paint: Painter): Promise<number> {
  const settings = await project.settings()
  const clock = await project.clock()
  const verbosity = flags.silent ? -1 : flags.verbosity
  const zone = settings.timeZone
  const out = (line: string) => process.stdout.write(`${line}\n`)
  const err = (line: string) => process.stderr.write(`${line}\n`)

  const showProblem = (problem: Problem) => {
    if (problem.level === 'error' && verbosity >= 0) err(`${paint.error('[!]')} ${problem.subject}: ${problem.message}`)
    else if (problem.level === 'warning' && verbosity >= 2) err(`${paint.warn('[?]')} ${problem.subject}: ${problem.message}`)
  }
  const showLog = (code: string, level: LogLevel, message: string) => {
    const needed = level === 'debug' ? 3 : level === 'info' ? 2 : level === 'warn' ? 1 : 0
    if (verbosity < needed) return
    const line = `    ${paint.dim(code)} ${level === 'error' || level === 'warn' ? paint.warn(`${level}:`) + ' ' : ''}${message}`
    if (level === 'error' || level === 'warn') err(line)
    else out(line)
  }
  const showOutcome = (outcome: Outcome) => {
    switch (outcome.kind) {
      case 'succeeded':
        if (verbosity >= 1) out(`${paint.ok('[✔]')} ${outcome.code}${verbosity >= 2 ? paint.dim(`  ${formatDuration(outcome.endMs - outcome.startMs)}${outcome.slot ? `, slot ${outcome.slot}` : ''}${outcome.message ? `: ${firstLine(outcome.message)}` : ''}`) : ''}`)
        break
      case 'failed':
        if (verbosity >= 0) {
          out(`${paint.error('[✘]')} ${outcome.code}: ${firstLine(outcome.message)}`)
          if (flags.traceback || verbosity >= 2) out(outcome.message.replace(/^/gm, '    '))
        }
        break
      case 'not-due':
        if (verbosity >= 1) out(`[ ] ${outcome.code}${verbosity >= 2 ? paint.dim(`  ${outcome.reason}`) : ''}`)
        break
      case 'paused':
        if (verbosity >= 1) out(`${paint.warn('[‖]')} ${outcome.code}  ${outcome.reason}`)
        break
      case 'would-run':
        if (verbosity >= 1) out(`${paint.ok('[→]')} ${outcome.code}  would run: ${outcome.reason}`)
        break
      case 'running-elsewhere':
        if (verbosity >= 1) {
          const since = outcome.sinceMs === null ? 'since ?' : `since ${formatTime(outcome.sinceMs, zone)}`
          out(`${paint.warn('[~]')} ${outcome.code}  still running elsewhere (${since}, host ${outcome.host ?? '?'}, pid ${outcome.pid ?? '?'})`)
        }
        break
      case 'interrupted':
      case 'timed_out':
        if (verbosity >= 0) out(`${paint.error('[✘]')} ${outcome.code}: ${outcome.kind === 'timed_out' ? 'timed out' : 'interrupted'} — ${firstLine(outcome.message)}`)
        break
      case 'claimed-elsewhere':
        if (verbosity >= 1) out(`${paint.warn('[~]')} ${outcome.code}  claimed at this moment by another process (host ${outcome.host ?? '?'}, pid ${outcome.pid ?? '?'}), which decides this period`)
        break
    }
  }

  // SIGTERM / SIGINT: start no new job, ask running ones to stop (ctx.signal), record what does not
  // finish within the grace period as interrupted, release the claims, exit 143 / 130.
  // A second signal exits at once; the leases then expire and the next tick recovers.
  const shutdown = new AbortController()
  const onSignal = (signal: NodeJS.Signals) => {
    if (shutdown.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143)
    if (verbosity >= 0) err(`${paint.warn('[!]')} ${signal}: stopping after the running jobs (grace ${settings.graceSeconds} s; send it again to quit now)`)
    shutdown.abort(signal)
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  try {
    const started = performance.now()
    const report = await runCrons({
      signal: shutdown.signal,
      // The tick speaks to the database on a driver connection of its own; knex only for a job that uses ctx.db.
      db: () => project.db(),
      source: project.tickSource(),
      dialect: project.database().dialect,
      settings,
      clock,
      names,
      force: flags.force,
      dryRun: flags.dryRun,
      concurrency: flags.concurrency,
      onOutcome: showOutcome,
      onProblem: showProblem,
      onLog: showLog,
    })

    if (verbosity >= 2) {
      const count = (kind: Outcome['kind']) => report.outcomes.filter((outcome) => outcome.kind === kind).length
      out(
        paint.dim(
          `${report.outcomes.length} job(s): ${count('succeeded')} ran, ${count('failed')} failed, ${count('not-due')} not due, ` +
            `${count('running-elsewhere') + count('claimed-elsewhere')} running elsewhere${flags.dryRun ? `, ${count('would-run')} would run` : ''} ` +
            `(${formatDuration(performance.now() - started)}, now = ${formatTime(clock(), zone)})`,
        ),
      )
    }
    return report.stoppedBy === 'SIGINT' ? 130 : report.stoppedBy === 'SIGTERM' ? 143 : report.exitCode
  } finally {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
  }
}
