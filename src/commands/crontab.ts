import path from 'node:path'
import {Flags} from '@oclif/core'
import {BaseCommand, jsonFlag} from '../cli/base-command'
import {installCrontab, printCrontab, removeCrontab, type CrontabReport} from '../cli/tools/crontab'

export default class Crontab extends BaseCommand<typeof Crontab> {
  static summary = "Print this project's crontab line, or install it in (or remove it from) your crontab."

  static description = `The line runs \`manage runcrons\` every minute with absolute paths (cron's PATH is minimal and its working directory is your home) and appends the output, each line dated (runcrons --timestamps), to a log file. --install puts it in your crontab inside a "# BEGIN manage <root>" … "# END manage <root>" block, leaving every other line as it is; running it again replaces the block. --remove takes the block out. The crontab program is found on PATH (MANAGE_CRONTAB_BIN overrides it).`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --install',
    '<%= config.bin %> <%= command.id %> --install --log /var/log/myapp/cron.log',
    '<%= config.bin %> <%= command.id %> --remove',
  ]

  static flags = {
    install: Flags.boolean({description: "Add the line to your crontab (or update this project's block).", exclusive: ['remove']}),
    remove: Flags.boolean({description: "Remove this project's block from your crontab.", exclusive: ['install']}),
    log: Flags.string({description: 'File the output is appended to [default: <project>/var/cron.log].'}),
    json: jsonFlag('Print the result as JSON.'),
  }

  async run(): Promise<void> {
    const options = {root: this.project.paths.root, bin: path.join(this.config.root, 'bin', 'manage'), logFile: this.flags.log === undefined ? undefined : path.resolve(this.flags.log)}
    const report = this.flags.install
      ? await installCrontab(options, this.io.env)
      : this.flags.remove
        ? await removeCrontab(options, this.io.env)
        : printCrontab(options)
    if (this.flags.json) {
      this.printJson(report)
      return
    }
    this.log(describe(report))
  }
}

function describe(report: CrontabReport): string {
  switch (report.action) {
    case 'print':
      return report.line
    case 'installed':
      return `Installed in your crontab (block '${report.begin}'):\n  ${report.line}`
    case 'updated':
      return `Updated this project's block in your crontab:\n  ${report.line}`
    case 'unchanged':
      return `Already in your crontab, unchanged:\n  ${report.line}`
    case 'removed':
      return `Removed this project's block ('${report.begin}') from your crontab.`
    case 'absent':
      return `Your crontab has no block for ${report.root} ('${report.begin}'): nothing to remove.`
  }
}
