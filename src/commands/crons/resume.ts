import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command'
import os from 'node:os'
import {findJob} from '../../core/jobs/select-jobs'
import {recordAction} from '../../core/run-log/action-log'

export default class CronsResume extends BaseCommand<typeof CronsResume> {
  static summary = 'Resume a paused job on every server.'

  static examples = ['<%= config.bin %> <%= command.id %> app.heartbeat']

  static args = {
    name: Args.string({description: 'The job: its code or class name.', required: true}),
  }

  async run(): Promise<void> {
    const settings = await this.project.settings()
    const job = findJob(this.args.name, settings.crons, settings.cronsDir)
    const store = this.project.runStore()
    const now = (await this.project.clock())()
    const changed = await store.setPaused(job.code, null, now)
    const outcome = changed ? `Resumed ${job.code}.` : `${job.code} was not paused.`
    await recordAction(this.project.runLogSource(), {code: job.code, action: 'resume', by: `${os.userInfo().username}@${os.hostname()}`, note: null, outcome, atMs: now})
    this.log(outcome)
  }
}
