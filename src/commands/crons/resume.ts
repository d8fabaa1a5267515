import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command'
import os from 'node:os'
import {findJob} from '../../core/jobs/select-jobs'
import {setPausedRecorded} from '../../core/operate/action-log'

export default class CronsResume extends BaseCommand<typeof CronsResume> {
  static summary = 'Resume a paused job on every server.'

  static examples = ['<%= config.bin %> <%= command.id %> app.heartbeat']

  static args = {
    name: Args.string({description: 'The job: its code or class name.', required: true}),
  }

  async run(): Promise<void> {
    const settings = await this.project.settings()
    const job = findJob(this.args.name, settings.crons, settings.cronsDir)
    const now = (await this.project.clock())()
    // The resume and its record in one transaction: both or neither.
    const {outcome} = await setPausedRecorded(this.project.runLogSource(), {code: job.code, pause: false, by: `${os.userInfo().username}@${os.hostname()}`, note: null, atMs: now}, (changed) => (changed ? `Resumed ${job.code}.` : `${job.code} was not paused.`))
    this.log(outcome)
  }
}
