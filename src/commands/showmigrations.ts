import {existsSync} from 'node:fs'
import type {Knex} from 'knex'
import {BaseCommand} from '../cli/base-command'
import {listMigrations} from '../core/db/migrations'

export default class ShowMigrations extends BaseCommand<typeof ShowMigrations> {
  static summary = 'List the migrations, applied [X] or pending [ ].'

  static examples = ['<%= config.bin %> <%= command.id %>']

  async run(): Promise<void> {
    const config = this.project.database()
    const filename = config.dialect === 'sqlite' ? (config.knex.connection as {filename: string}).filename : null
    // A sqlite file not made yet has every migration pending: read against an empty database in memory, so that nothing is created.
    const missing = filename !== null && filename !== ':memory:' && !existsSync(filename)
    const db: Knex = missing ? (require('knex') as typeof import('knex').knex)({client: 'sqlite3', connection: {filename: ':memory:'}, useNullAsDefault: true}) : this.project.db()
    try {
      const migrations = await listMigrations(db, this.project.paths.migrations)
      this.log(`${config.description}${missing ? ' (it does not exist yet: `manage migrate` creates it)' : ''}`)
      for (const migration of migrations) this.log(` ${migration.applied ? '[X]' : '[ ]'} ${migration.name}${migration.unbuilt ? ' (not built: run `npm run build`)' : ''}`)
      if (migrations.length === 0) this.log(' (no migrations)')
    } finally {
      if (missing) await db.destroy()
    }
  }
}
