import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base-command'
import {planMigration, ZERO} from '../core/db/migrate-to'
import {listMigrations} from '../core/db/migrations'

export default class ShowMigrations extends BaseCommand<typeof ShowMigrations> {
  static summary = 'List the migrations, applied [X] or pending [ ]; with TARGET, what `manage migrate TARGET` would apply and unapply.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> 20260105093000_create_items']

  static args = {
    target: Args.string({description: `A migration (its name or a unique prefix), or ${ZERO}: marks it, and each migration \`manage migrate TARGET\` would apply or unapply.`}),
  }

  async run(): Promise<void> {
    const folders = this.project.paths.migrations
    const plan = this.args.target === undefined ? null : await planMigration(this.project.db(), folders, this.args.target)
    const migrations = plan?.migrations ?? (await listMigrations(this.project.db(), folders))
    const change = new Map(plan?.steps.map((step) => [step.name, step.direction === 'apply' ? 'would be applied' : 'would be unapplied']))
    this.log(this.project.database().description)
    for (const migration of migrations) {
      const notes = [migration.unbuilt ? 'not built: run `npm run build`' : null, migration.name === plan?.target ? 'target' : null, change.get(migration.name) ?? null].filter(Boolean)
      this.log(` ${migration.applied ? '[X]' : '[ ]'} ${migration.name}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`)
    }
    if (migrations.length === 0) this.log(' (no migrations)')
  }
}
