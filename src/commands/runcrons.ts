import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command'
import {stampLines} from '../cli/output/command-io'
import {runcronsTick} from '../cli/runcrons/tick-command'

export default class RunCrons extends BaseCommand<typeof RunCrons> {
  static writesDatabase = true
  static writes = true

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
    timestamps: Flags.boolean({description: 'Start each line with the time it was written (ISO 8601, UTC): for a log file; `manage crontab` puts it in the crontab line.'}),
  }

  /** Puts the output back as it was, after --timestamps. */
  private unstamp?: () => void

  async run(): Promise<void> {
    const {flags} = this
    // Until the command has ended: its error line, if any, is dated too.
    if (flags.timestamps) this.unstamp = stampLines()
    const tickFlags = {force: flags.force, silent: flags.silent, dryRun: flags['dry-run'], concurrency: flags.concurrency, traceback: flags.traceback, verbosity: this.verbosity}
    this.exit(await runcronsTick(this.project, this.argList, tickFlags, this.paint))
  }

  protected async finally(error: Error | undefined): Promise<void> {
    try {
      return await super.finally(error)
    } finally {
      this.unstamp?.()
    }
  }
}
