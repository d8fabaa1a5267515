import {Args, Flags} from '@oclif/core'
import {BaseCommand, jsonFlag} from '../../cli/base-command'
import {cronQuoted} from '../../core/jobs/schedule'
import {findJob} from '../../core/jobs/select-jobs'
import {decisionOptions} from '../../core/project/settings'
import {EMPTY_HISTORY} from '../../core/schedule/history'
import {nextDueTimes} from '../../core/schedule/next-due'
import {luxon} from '../../core/time/luxon'

export default class CronsNext extends BaseCommand<typeof CronsNext> {
  static summary = "The job's next due times, in its time zone, with DST changes marked."

  static description = 'Each time is found by the decision runcrons uses, as if the run before it had succeeded; "now" is MANAGE_NOW when set.'

  static examples = ['<%= config.bin %> <%= command.id %> app.heartbeat', '<%= config.bin %> <%= command.id %> HeartbeatCronJob --count 10 --json']

  static args = {
    name: Args.string({description: 'The job: its code or class name.', required: true}),
  }

  static flags = {
    count: Flags.integer({description: 'How many due times.', default: 5, min: 1, max: 1000}),
    json: jsonFlag(),
  }

  async run(): Promise<void> {
    const settings = await this.project.settings()
    const job = findJob(this.args.name, settings.crons, settings.cronsDir)
    const zone = job.schedule.timeZone ?? settings.timeZone
    const now = (await this.project.clock())()
    const store = this.project.runStore()
    const history = (await store.histories(now, {codes: [job.code], skewMs: settings.clockSkewMs})).get(job.code) ?? EMPTY_HISTORY
    const paused = (await store.pausedJobs()).get(job.code) ?? null
    const times = nextDueTimes(job.schedule, history, job.code, now, this.flags.count, decisionOptions(settings, {paused}))

    // Mark an entry whose UTC offset differs from the one before it (or from now's, for the first).
    let previous = luxon().DateTime.fromMillis(now, {zone})
    const entries = times.map((time) => {
      const local = luxon().DateTime.fromMillis(time.atMs, {zone})
      const dst = local.offset === previous.offset ? null : `${previous.toFormat('ZZZZ')} → ${local.toFormat('ZZZZ')}`
      previous = local
      return {time: local.toISO()!, local: local.toFormat('ccc yyyy-MM-dd HH:mm ZZZZ'), slot: time.slot, reason: time.reason, dstChange: dst}
    })
    if (this.flags.json) {
      // A cron job's expression as decided (H resolved), and as written when it had an H.
      const cron = job.schedule.cron === null ? {} : {cron: job.schedule.cron, cronWritten: job.schedule.cronWritten}
      this.printJson({code: job.code, timeZone: zone, paused: paused !== null, ...cron, times: entries})
      return
    }
    // The times below come from the resolved expression: say what the H became.
    if (job.schedule.cronWritten !== null) this.log(`${job.code}: cron ${cronQuoted(job.schedule)}`)
    if (paused) this.log(`${job.code} is paused: it is not due until \`manage crons:resume ${job.code}\`.`)
    else if (entries.length === 0) this.log(`${job.code} is not due in the next 400 days (it runs only with --force).`)
    for (const entry of entries) {
      this.log(`${entry.local}${entry.slot ? `  slot ${entry.slot}` : ''}${entry.dstChange ? `  (DST change: ${entry.dstChange})` : ''}`)
    }
  }
}
