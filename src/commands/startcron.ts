import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command'
import {scaffoldTarget, startCron} from '../cli/tools/scaffold'

export default class StartCron extends BaseCommand<typeof StartCron> {
  static summary = 'Create a cron job: src/crons/<name>.ts, its test, and its entry in the settings\' crons.'

  static description = `NAME is an identifier (FetchNews, fetch_news, fetch-news or FetchNewsCronJob): the class is FetchNewsCronJob in src/crons/fetch-news.ts, with the code 'app.fetch_news', running every 5 minutes. It is imported in src/settings.ts and appended to its crons: [...] list; when that list cannot be found, the files are still written and the line to add is printed. An existing file is never overwritten.`

  static examples = ['<%= config.bin %> <%= command.id %> FetchNews', '<%= config.bin %> <%= command.id %> send_digest --dir ../other-project']

  static args = {
    name: Args.string({description: 'The job\'s name, an identifier (e.g. FetchNews).', required: true}),
  }

  static flags = {
    dir: Flags.string({description: 'Project folder to write into [default: this project].'}),
  }

  async run(): Promise<void> {
    const report = startCron(scaffoldTarget(this.flags.dir, () => this.project.paths.layout), this.args.name)
    for (const file of report.created) this.log(`Created ${file}`)
    if (report.registered) this.log(`Added ${report.className} (code '${report.code}') to the crons in ${report.settingsFile}`)
    else this.log(`${report.settingsFile} has no crons: [...] list to edit: add it yourself: ${report.manualStep}`)
    this.log(`Next: ${report.needsBuild ? 'npm run build, then ' : ''}\`${this.config.bin} runcrons ${report.className} --force\` to try it.`)
  }
}
