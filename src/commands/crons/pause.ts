import os from 'node:os'
import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command'
import {findJob} from '../../core/jobs/select-jobs'

export default class CronsPause extends BaseCommand<typeof CronsPause> {
  static summary = 'Pause a job on every server (stored in the database) until crons:resume.'

  static description = 'A paused job is shown as paused by runcrons and skipped; `manage runcrons NAME --force` still runs it by name. A run in progress is not stopped.'

  static examples = ['<%= config.bin %> <%= command.id %> app.heartbeat']

  static args = {
    name: Args.string({description: 'The job: its code or class name.', required: true}),
  }

  async run(): Promise<void> {
    const settings = await this.project.settings()
    const job = findJob(this.args.name, settings.crons, settings.cronsDir)
    const store = this.project.runStore()
    const now = (await this.project.clock())()
    const changed = await store.setPaused(job.code, {sinceMs: now, by: `${os.userInfo().username}@${os.hostname()}`})
    this.log(changed ? `Paused ${job.code}.` : `${job.code} was already paused.`)
  }
}
