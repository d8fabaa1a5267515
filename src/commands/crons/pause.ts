import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command'
import {findJob} from '../../core/jobs/select-jobs'
import {cleanNote} from '../../core/operate/action-log'
import {localOperatorName, projectOperator} from '../../core/operate/operator'

export default class CronsPause extends BaseCommand<typeof CronsPause> {
  static writesDatabase = true
  static writes = true

  static summary = 'Pause a job on every server (stored in the database) until crons:resume.'

  static description = 'A paused job is shown as paused by runcrons and skipped; `manage runcrons NAME --force` still runs it by name. A run in progress is not stopped.'

  static examples = ['<%= config.bin %> <%= command.id %> app.heartbeat', "<%= config.bin %> <%= command.id %> app.heartbeat --note 'until the API key is renewed'"]

  static args = {
    name: Args.string({description: 'The job: its code or class name.', required: true}),
  }

  static flags = {
    note: Flags.string({description: 'Why: shown with the pause (crons:list --json, the dashboard).'}),
  }

  async run(): Promise<void> {
    const settings = await this.project.settings()
    const job = findJob(this.args.name, settings.crons, settings.cronsDir)
    const operator = await projectOperator(this.project)
    const {outcome} = await operator.pause(job.code, localOperatorName(), cleanNote(this.flags.note), (changed) => (changed ? `Paused ${job.code}.` : `${job.code} was already paused.`))
    this.log(outcome)
  }
}
