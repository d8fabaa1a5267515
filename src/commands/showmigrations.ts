import {existsSync} from 'node:fs'
import {Args} from '@oclif/core'
import type {Knex} from 'knex'
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
    const config = this.project.database()
    const filename = config.dialect === 'sqlite' ? (config.knex.connection as {filename: string}).filename : null
    // A sqlite file not made yet has every migration pending: read against an empty database in memory, so that nothing is created.
    const missing = filename !== null && filename !== ':memory:' && !existsSync(filename)
    const db: Knex = missing ? (require('knex') as typeof import('knex').knex)({client: 'sqlite3', connection: {filename: ':memory:'}, useNullAsDefault: true}) : this.project.db()
    try {
      const folders = this.project.paths.migrations
      const plan = this.args.target === undefined ? null : await planMigration(db, folders, this.args.target)
      const migrations = plan?.migrations ?? (await listMigrations(db, folders))
      const change = new Map(plan?.steps.map((step) => [step.name, step.direction === 'apply' ? 'would be applied' : 'would be unapplied']))
      this.log(`${config.description}${missing ? ' (it does not exist yet: `manage migrate` creates it)' : ''}`)
      for (const migration of migrations) {
        const notes = [migration.unbuilt ? 'not built: run `npm run build`' : null, migration.name === plan?.target ? 'target' : null, change.get(migration.name) ?? null].filter(Boolean)
        this.log(` ${migration.applied ? '[X]' : '[ ]'} ${migration.name}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`)
      }
      if (migrations.length === 0) this.log(' (no migrations)')
    } finally {
      if (missing) await db.destroy()
    }
  }
}
