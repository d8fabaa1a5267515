import os from 'node:os'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command'
import {findJob} from '../../core/jobs/select-jobs'
import {recordAction} from '../../core/run-log/action-log'

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
    const store = this.project.runStore()
    const now = (await this.project.clock())()
    const by = `${os.userInfo().username}@${os.hostname()}`
    const changed = await store.setPaused(job.code, {sinceMs: now, by})
    const outcome = changed ? `Paused ${job.code}.` : `${job.code} was already paused.`
    await recordAction(this.project.runLogSource(), {code: job.code, action: 'pause', by, note: this.flags.note?.trim().slice(0, 500) || null, outcome, atMs: now})
    this.log(outcome)
  }
}
