import os from 'node:os'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command'
import {findJob} from '../../core/jobs/select-jobs'
import {cleanNote, setPausedRecorded} from '../../core/operate/action-log'

export default class CronsPause extends BaseCommand<typeof CronsPause> {
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
    const now = (await this.project.clock())()
    const by = `${os.userInfo().username}@${os.hostname()}`
    // The pause and its record in one transaction: both or neither.
    const {outcome} = await setPausedRecorded(this.project.runLogSource(), {code: job.code, pause: true, by, note: cleanNote(this.flags.note), atMs: now}, (changed) => (changed ? `Paused ${job.code}.` : `${job.code} was already paused.`))
    this.log(outcome)
  }
}
