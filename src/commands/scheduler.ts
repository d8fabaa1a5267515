import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command'
import {stampLines} from '../cli/output/command-io'
import {runScheduler} from '../cli/runcrons/scheduler-command'
import {UsageError} from '../core/base/errors'
import {DEFAULT_CONCURRENCY} from '../core/runners/scheduler'

export default class Scheduler extends BaseCommand<typeof Scheduler> {
  static writesDatabase = true
  static writes = true

  static summary = 'Run the cron jobs when they fall due, in a long-lived process (for a container, or a server without cron).'

  static description = `Runs each job when it falls due, with the same decisions, claims, leases, records, pings and alerts as \`manage runcrons\`: any number of schedulers and crontab ticks may share one database, and each due period still runs once.

It sleeps on one timer to the next due instant of all the jobs, at most a minute, so that pauses, resumes, runs by hand and other servers' runs are seen. A running job never holds back another one's start: up to --concurrency jobs run at once. This server's tick (manage runners) is recorded at most every 30 s. A job running in this process that blocks the event loop for more than a second is named in a warning (once per job per 10 minutes): give it isolate = true.

With --health-port, GET /healthz answers 200 while the loop wakes on time and its last wake reached the database, 503 with a one-line JSON reason otherwise; it listens on 127.0.0.1 unless --health-host says otherwise, and closes when the scheduler drains.

On SIGTERM or SIGINT it starts no new job, fires the running jobs' ctx.signal, waits up to the settings' graceSeconds for them, records them and exits 0; a run still going after graceSeconds is recorded as interrupted and abandoned, and the exit status is 143 / 130. A second signal exits at once (the leases then expire and the next tick recovers the runs).

Exit status at start: 1 when there is no job, the settings cannot be loaded or the database is not migrated; 2 under MANAGE_NOW (a frozen clock).`

  static examples = [
    {description: 'Run the jobs until stopped (a container\'s command)', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Up to 8 jobs at once, each line dated', command: '<%= config.bin %> <%= command.id %> --concurrency 8 --timestamps'},
    {description: 'With a health check for a container probe (GET /healthz)', command: '<%= config.bin %> <%= command.id %> --health-port 8081 --health-host 0.0.0.0'},
  ]

  static flags = {
    concurrency: Flags.integer({description: 'Run up to N due jobs at the same time.', default: DEFAULT_CONCURRENCY, min: 1}),
    'health-port': Flags.string({description: 'Serve GET /healthz on this port: 200 while the loop wakes on time and reaches the database, 503 with the reason otherwise (0: a free port, said in the start line).', helpValue: 'PORT'}),
    'health-host': Flags.string({description: 'The address the health check listens on (0.0.0.0 for all, as a Kubernetes probe needs) [default: 127.0.0.1].', helpValue: 'HOST'}),
    timestamps: Flags.boolean({description: 'Start each line with the time it was written (ISO 8601, UTC): for a log file.'}),
  }

  /** Puts the output back as it was, after --timestamps. */
  private unstamp?: () => void

  async run(): Promise<void> {
    const {flags} = this
    if (flags.timestamps) this.unstamp = stampLines()
    this.exit(await runScheduler(this.project, {concurrency: flags.concurrency, ...healthFlags(flags['health-port'], flags['health-host']), traceback: flags.traceback, verbosity: this.verbosity}, this.paint, this.io.env))
  }

  protected async finally(error: Error | undefined): Promise<void> {
    try {
      return await super.finally(error)
    } finally {
      this.unstamp?.()
    }
  }
}

/** --health-port as a number and its host (one line when it is not a port, where oclif's range check would print three). */
function healthFlags(value: string | undefined, host: string | undefined): {healthPort?: number; healthHost: string} {
  if (value === undefined) {
    if (host !== undefined) throw new UsageError(`--health-host ${host}: there is no health check to listen for it; add --health-port PORT`)
    return {healthHost: '127.0.0.1'}
  }
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN
  if (!(port <= 65_535)) throw new UsageError(`--health-port ${value}: not a port; give one from 1 to 65535 (0: a free one, said in the start line)`)
  return {healthPort: port, healthHost: host ?? '127.0.0.1'}
}
