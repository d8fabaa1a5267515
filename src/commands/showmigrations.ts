import {BaseCommand} from '../cli/base-command'
import {listMigrations} from '../core/db/migrations'

export default class ShowMigrations extends BaseCommand<typeof ShowMigrations> {
  static summary = 'List the migrations, applied [X] or pending [ ].'

  static examples = ['<%= config.bin %> <%= command.id %>']

  async run(): Promise<void> {
    const migrations = await listMigrations(this.project.db(), this.project.paths.migrations)
    this.log(this.project.database().description)
    for (const migration of migrations) this.log(` ${migration.applied ? '[X]' : '[ ]'} ${migration.name}${migration.unbuilt ? ' (not built: run `npm run build`)' : ''}`)
    if (migrations.length === 0) this.log(' (no migrations)')
  }
}
