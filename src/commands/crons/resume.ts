import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command'
import {findJob} from '../../core/jobs/select-jobs'
import {localOperatorName, projectOperator} from '../../core/operate/operator'

export default class CronsResume extends BaseCommand<typeof CronsResume> {
  static writesDatabase = true
  static writes = true

  static summary = 'Resume a paused job on every server.'

  static examples = ['<%= config.bin %> <%= command.id %> app.heartbeat']

  static args = {
    name: Args.string({description: 'The job: its code or class name.', required: true}),
  }

  async run(): Promise<void> {
    const settings = await this.project.settings()
    const job = findJob(this.args.name, settings.crons, settings.cronsDir)
    const operator = await projectOperator(this.project)
    const {outcome} = await operator.resume(job.code, localOperatorName(), (changed) => (changed ? `Resumed ${job.code}.` : `${job.code} was not paused.`))
    this.log(outcome)
  }
}
