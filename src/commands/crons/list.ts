import {BaseCommand, jsonFlag} from '../../cli/base-command'
import {formatTime} from '../../cli/output/render'
import {formatDuration, isoTime} from '../../core/time/format'
import {formatTable} from '../../cli/output/table'
import {listJobs} from '../../core/operate/job-list'
import {subMinuteServer} from '../../core/project/sub-minute-server'
import {shown} from '../../core/base/text'

export default class CronsList extends BaseCommand<typeof CronsList> {
  static summary = 'List the cron jobs: schedule, last run, next due time, running now, paused.'

  static description =
    "The next due time is found by asking the same decision runcrons uses, tick by tick, so it already accounts for tolerance, retries, day filters, DST and pauses. A sub-minute schedule says who serves it: the scheduler that ticked in the last 2 minutes (its host), else that the crontab tick runs it at most once a minute until `manage scheduler` runs."

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  static flags = {
    json: jsonFlag('Print JSON instead of a table.'),
  }

  async run(): Promise<void> {
    const settings = await this.project.settings()
    const now = (await this.project.clock())()
    const {jobs, problems} = await listJobs(this.project.runStore(), settings, now, () => subMinuteServer(this.project))
    if (this.flags.json) {
      this.printJson(
        jobs.map((job) => ({
          ...job,
          lastRun: job.lastRun && {...job.lastRun, startTime: isoTime(job.lastRun.startMs), endTime: isoTime(job.lastRun.endMs)},
          nextDue: isoTime(job.nextDueMs),
          runningNow: job.runningNow && {...job.runningNow, since: isoTime(job.runningNow.sinceMs)},
          paused: job.paused && {since: isoTime(job.paused.sinceMs), by: job.paused.by, note: job.paused.note ?? null},
        })),
      )
    } else {
      const rows = jobs.map((job) => [
        job.code,
        job.className,
        job.note === null ? job.schedule : `${job.schedule}; ${job.note}`,
        job.lastRun ? `${job.lastRun.status} ${formatTime(job.lastRun.startMs, job.timeZone)}${job.lastRun.durationMs === null ? '' : ` (${formatDuration(job.lastRun.durationMs)})`}` : 'never',
        job.paused ? 'paused' : job.nextDueMs === null ? '-' : `${formatTime(job.nextDueMs, job.timeZone)}${job.nextDueSlot ? ` [${job.nextDueSlot}]` : ''}`,
        job.runningNow ? `${job.runningNow.host ?? '?'} pid ${job.runningNow.pid ?? '?'} since ${formatTime(job.runningNow.sinceMs, job.timeZone)}` : '',
        job.paused ? `since ${job.paused.sinceMs === null ? '?' : formatTime(job.paused.sinceMs, job.timeZone)}${job.paused.by ? ` by ${job.paused.by}` : ''}${job.paused.note ? `: ${shown(job.paused.note)}` : ''}` : '',
      ])
      this.log(formatTable(['CODE', 'CLASS', 'SCHEDULE', 'LAST RUN', 'NEXT DUE', 'RUNNING NOW', 'PAUSED'], rows))
    }
    for (const problem of problems.filter((p) => p.level === 'error')) this.io.stderr.write(`[!] ${problem.subject}: ${problem.message}\n`)
  }
}
