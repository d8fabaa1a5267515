import path from 'node:path'
import {BaseCommand} from '../cli/base-command'
import {loadJobs} from '../core/jobs/load-jobs'
import {readPackageJson} from '../core/project/layout'

/**
 * An example of a project's own command (like Laravel's `artisan about`): a class in
 * src/commands extending BaseCommand becomes `manage about`, with the global flags for free.
 */
export default class About extends BaseCommand<typeof About> {
  static summary = 'Show this project at a glance: settings, time zone, database and cron jobs.'

  static examples = ['<%= config.bin %> <%= command.id %>']

  async run(): Promise<void> {
    const settings = await this.project.settings()
    const {jobs, problems} = loadJobs(settings.crons)
    // The app's own name first (its package.json), then the manage-cli it runs on.
    const app = readPackageJson(this.project.paths.root)
    const manage = `${this.config.pjson.name} ${this.config.version}`
    const application = app.name ? `${app.name}${typeof app.version === 'string' ? ` ${app.version}` : ''}` : path.basename(this.project.paths.root)
    const rows: Array<[string, string]> = [
      ['Application', application],
      ...(application === manage ? [] : [['Manage', manage] as [string, string]]),
      ['Node', process.version],
      ['Environment', this.io.env.MANAGE_ENV || this.io.env.NODE_ENV || 'development'],
      ['Settings', settings.file],
      ['Time zone', settings.timeZone],
      ['Database', this.project.database().description],
      ['Cron jobs', `${jobs.length}${jobs.length ? ` (${jobs.map((job) => job.code).join(', ')})` : ''}`],
      ['Problems', problems.length === 0 ? 'none' : `${problems.length}: run \`${this.config.bin} check\``],
    ]
    const width = Math.max(...rows.map(([label]) => label.length)) + 2
    for (const [label, value] of rows) this.log(`  ${this.paint.bold(label.padEnd(width, ' '))}${value}`)
  }
}
