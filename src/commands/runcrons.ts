import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command'
import {formatDuration, formatTime} from '../cli/render'
import {firstLine} from '../core/message'
import {runCrons, type LogLevel, type Outcome} from '../core/run-crons'
import type {Problem} from '../core/schedule'

export default class RunCrons extends BaseCommand<typeof RunCrons> {
  static summary = 'Run the cron jobs that are due (the system crontab starts this every minute).'

  static description = `Reads the run log, decides which jobs are due, runs them one after another in the settings' crons order, records every run and exits.

Each job prints one line: [✔] ran, [✘] failed, [ ] not due, [~] still running elsewhere, [→] would run (--dry-run). A class that is misconfigured prints [!] and is skipped; the others still run.

Exit status: 0 when nothing failed; 1 when a job failed, timed out or was interrupted, or a class could not run; 2 for bad input (an unknown NAME, a bad flag); 143 / 130 after SIGTERM / SIGINT. django-cron always exits 0.

On SIGTERM or SIGINT the tick starts no new job and fires the running jobs' ctx.signal; what has not finished after the settings' graceSeconds is recorded as interrupted and its claim released.`

  static examples = [
    {description: 'Run whatever is due (the crontab line)', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Run one job now, whatever its schedule', command: '<%= config.bin %> <%= command.id %> HeartbeatCronJob --force'},
    {description: 'What would run at 10:00 tomorrow, and why', command: 'MANAGE_NOW=2026-11-24T10:00 <%= config.bin %> <%= command.id %> --dry-run -v 2'},
  ]

  static strict = false

  static args = {
    names: Args.string({description: 'Run only these jobs: class names or codes (they need not be listed in crons).'}),
  }

  static flags = {
    force: Flags.boolean({description: 'Run the jobs whatever their schedule says (a job running elsewhere is still not started twice).'}),
    silent: Flags.boolean({description: 'Print nothing (the exit status still tells).'}),
    'dry-run': Flags.boolean({description: 'Decide and print what would run, and why; run nothing and write nothing.'}),
    concurrency: Flags.integer({description: 'Run up to N due jobs at the same time.', default: 1, min: 1}),
  }

  async run(): Promise<void> {
    const {flags} = this
    const settings = await this.project.settings()
    const clock = await this.project.clock()
    const quiet = flags.silent
    const verbosity = quiet ? -1 : this.verbosity
    const zone = settings.timeZone
    const paint = this.paint
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

    const started = performance.now()
    const report = await runCrons({
      signal: shutdown.signal,
      db: this.project.db(),
      dialect: this.project.database().dialect,
      settings,
      clock,
      names: this.argList,
      force: flags.force,
      dryRun: flags['dry-run'],
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
            `${count('running-elsewhere') + count('claimed-elsewhere')} running elsewhere${flags['dry-run'] ? `, ${count('would-run')} would run` : ''} ` +
            `(${formatDuration(performance.now() - started)}, now = ${formatTime(clock(), zone)})`,
        ),
      )
    }
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
    const exitCode = report.stoppedBy === 'SIGINT' ? 130 : report.stoppedBy === 'SIGTERM' ? 143 : report.exitCode
    // Exit explicitly: a job that ignored its AbortSignal (or left a socket open) must not keep
    // the per-minute process alive after the tick is done.
    this.exit(exitCode)
  }
}
