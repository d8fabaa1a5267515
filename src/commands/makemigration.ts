import {Args} from '@oclif/core'
import {DateTime} from 'luxon'
import {BaseCommand} from '../cli/base-command'
import {makeMigration} from '../cli/tools/make-migration'
import {clockFromEnv} from '../core/time/clock'

export default class MakeMigration extends BaseCommand<typeof MakeMigration> {
  static summary = "Create a database migration for the project's own tables: <migrations>/<timestamp>_<name>.ts."

  static description = `The file has an empty up() and down() (knex's schema builder, typed). Build the project, then \`manage migrate\` applies it after the framework's migrations and the project's earlier ones, in timestamp order; \`manage migrate\` naming the migration before it (or \`zero\`) runs its down(). The folder is the "migrations" entry of the "manage" section in package.json.`

  static examples = ['<%= config.bin %> <%= command.id %> create_items', '<%= config.bin %> <%= command.id %> AddPriceToItems']

  static args = {
    name: Args.string({description: 'What the migration does, an identifier (e.g. create_items).', required: true}),
  }

  async run(): Promise<void> {
    const report = makeMigration(this.project.paths.layout, this.args.name, DateTime.fromMillis(clockFromEnv(this.io.env, 'UTC')()))
    this.log(`Created ${report.file}`)
    const build = this.project.paths.layout.language === 'typescript' ? 'npm run build, then ' : ''
    this.log(`Next: fill in up() and down(), ${build}\`${this.config.bin} migrate\`.`)
  }
}
