import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command'
import {scaffoldTarget, startCommand} from '../cli/tools/scaffold'

export default class StartCommand extends BaseCommand<typeof StartCommand> {
  static summary = 'Create a project command: src/commands/<name>.ts and its test.'

  static description = `NAME is an identifier (sendReport, send_report, send-report or SendReport): the class SendReport in src/commands/send-report.ts becomes \`manage send-report\` after \`npm run build\`. An existing file is never overwritten, and a built-in command's name (check, migrate…) is refused.`

  static examples = ['<%= config.bin %> <%= command.id %> sendReport', '<%= config.bin %> <%= command.id %> import_users --dir ../other-project']

  static args = {
    name: Args.string({description: 'The command\'s name, an identifier (e.g. sendReport).', required: true}),
  }

  static flags = {
    dir: Flags.string({description: 'Project folder to write into [default: this project].'}),
  }

  async run(): Promise<void> {
    // manage's own commands (not the app's: its plugin is linked); oclif-config never lets an app's command shadow one.
    const builtIn = this.config.commands.filter((command) => command.pluginType !== 'link')
    const builtIns = new Set(builtIn.flatMap((command) => [command.id, ...command.aliases]))
    const report = startCommand(scaffoldTarget(this.flags.dir, () => this.project.paths.layout), this.args.name, builtIns)
    for (const file of report.created) this.log(`Created ${file}`)
    this.log(`Next: ${report.needsBuild ? 'npm run build, then ' : ''}\`${this.config.bin} ${report.commandId} --help\`.`)
  }
}
