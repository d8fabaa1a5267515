import {messageFromError} from '../../core/jobs/message'
import {PACKAGE_VERSION} from '../../core/project/package-name'
import type {Project} from '../../core/project/project'
import type {TickPlan} from '../../core/tick/plan'
import {firstLine} from '../../core/base/text'
import {installProcessGuards} from '../../core/tick/process-guards'
import {runCrons} from '../../core/tick/run-crons'
import {pendingWork} from '../../core/tick/stray-work'
import {commandIO} from '../output/command-io'
import type {Painter} from '../output/render'
import {forkRunner} from './fork-runner'
import {logLine, outcomeLines, problemLine, summaryLine, type LineStyle} from './lines'

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
 * crontab's plain `manage runcrons` (which skips oclif, see main.ts) both come here. Returns
 * the exit status; the caller exits with it, so that a job that ignored its AbortSignal (or left
 * a socket open) cannot keep the per-minute process alive after the tick. `planned`: the plan the
 * crontab's quick tick made on this project (runCrons says when it is used).
 */
export async function runcronsTick(project: Project, names: readonly string[], flags: TickFlags, paint: Painter, planned?: TickPlan): Promise<number> {
  // What is in flight before the tick: the process ends after it, and what the jobs leave pending beyond this gets a moment to finish.
  const before = pendingWork()
  const settings = await project.settings()
  const clock = await project.clock()
  const style: LineStyle = {verbosity: flags.silent ? -1 : flags.verbosity, traceback: flags.traceback, paint, zone: settings.timeZone}
  const {stdout, stderr} = commandIO()
  const out = (line: string) => stdout.write(`${line}\n`)
  const err = (line: string) => stderr.write(`${line}\n`)
  // A mistake in the alerts never stops the jobs: said once a tick, and they run without those alerts.
  if (style.verbosity >= 0) for (const problem of settings.alertProblems) err(`${paint.error('[!]')} settings: ${problem} (the jobs run without these alerts until then)`)

  // SIGTERM / SIGINT: start no new job, ask running ones to stop (ctx.signal), record what does not
  // finish within the grace period as interrupted, release the claims, exit 143 / 130.
  // A second signal exits at once; the leases then expire and the next tick recovers.
  // Whatever a job leaves behind (a rejection, an exception in a callback, process.exit(), a
  // promise nobody resolves) is charged to it; what cannot be charged to any job still fails the tick.
  // The process ends after the tick, so the loop running dry tells a do() that can never settle.
  const guards = installProcessGuards({
    neverSettled: {kind: 'loop-runs-dry'},
    onSignal: (signal, first) => {
      if (!first) process.exit(signal === 'SIGINT' ? 130 : 143)
      if (style.verbosity >= 0) err(`${paint.warn('[!]')} ${signal}: stopping after the running jobs (grace ${settings.graceMs / 1000} s; send it again to quit now)`)
    },
  })
  const {containment} = guards
  let strays = 0
  const stopStrays = containment.onStrayCrash((crash) => {
    strays++
    err(`${paint.error('[!]')} an error outside every job (${crash.kind.replace('-', ' ')}): ${firstLine(messageFromError(crash.error))}`)
  })
  // The crontab's plain tick, not one run by hand (names, --force).
  const plain = names.length === 0 && !flags.force
  try {
    // process.hrtime, not performance.now(): the global performance loads perf_hooks on first use.
    const started = process.hrtime.bigint()
    const report = await runCrons({
      signal: guards.shutdown,
      // The tick speaks to the database on a driver connection of its own; knex only for a job that uses ctx.db.
      db: () => project.db(),
      source: await project.tickSource(),
      dialect: project.database().dialect,
      secrets: project.database().secrets,
      containment,
      spool: project.spool(settings),
      isolation: {runner: forkRunner, root: project.paths.root, settingsFile: project.paths.settingsFile},
      strayWork: {before, release: () => project.closeDb()},
      settings,
      clock,
      names,
      force: flags.force,
      dryRun: flags.dryRun,
      watch: plain,
      serverTick: plain ? {version: PACKAGE_VERSION} : undefined,
      codeVersion: () => project.codeVersion(),
      concurrency: flags.concurrency,
      planned,
      onOutcome: (outcome) => outcomeLines(outcome, style).forEach(out),
      onProblem: (problem) => {
        const line = problemLine(problem, style)
        if (line !== null) err(line)
      },
      onLog: (code, level, message) => {
        const line = logLine(code, level, message, style)
        if (line !== null) (line.stream === 'stderr' ? err : out)(line.text)
      },
    })
    const summary = summaryLine(report.outcomes, {dryRun: flags.dryRun, elapsedMs: Number(process.hrtime.bigint() - started) / 1e6, nowMs: clock()}, style)
    if (summary !== null) out(summary)
    return report.stoppedBy === 'SIGINT' ? 130 : report.stoppedBy === 'SIGTERM' ? 143 : strays > 0 ? 1 : report.exitCode
  } finally {
    stopStrays()
    guards.release()
  }
}
