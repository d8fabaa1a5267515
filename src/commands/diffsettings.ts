import {Flags} from '@oclif/core'
import {BaseCommand, jsonFlag} from '../cli/base-command'
import {scrubSecrets} from '../core/db/database-url'
import {diffSettings, settingsSecrets, settingsText} from '../core/project/diff-settings'

export default class DiffSettings extends BaseCommand<typeof DiffSettings> {
  static summary = "The settings as loaded, those that differ from manage's defaults marked ###; secrets masked."

  static description = `One line per setting, \`name = value\` (the value as JSON; a cron class by its name), as Django's diffsettings: by default only those that differ from manage's default, each followed by ###, and the project's own settings (which have no default); --all shows every setting, the defaults unmarked. The first line names the settings file and the database (DATABASE_URL or the knexfile: not a setting, never marked). Secrets never show: a value under a name that looks secret (password, token, secret, key, hash…) is ***, a database URL has no password, and an http(s) URL (a webhook, a ping) shows its origin only, as its path is often its token.`

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --all', '<%= config.bin %> <%= command.id %> --json']

  static flags = {
    all: Flags.boolean({description: "Show every setting, those at manage's default too."}),
    json: jsonFlag(),
  }

  async run(): Promise<void> {
    const settings = await this.project.settings()
    const database = this.project.database()
    const lines = diffSettings(settings, {cronsDir: this.project.paths.cronsDir, spoolDir: this.project.paths.spoolDir}).filter((line) => this.flags.all || line.differs)
    const secrets = [...settingsSecrets(settings), ...database.secrets]
    if (this.flags.json) {
      this.log(scrubSecrets(JSON.stringify({file: settings.file, database: database.description, settings: lines}, null, 2), secrets))
      return
    }
    this.log(scrubSecrets(`# ${settings.file}; ${database.description}`, secrets))
    this.io.stdout.write(settingsText(lines, secrets))
  }
}
