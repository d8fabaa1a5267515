import {BaseCommand} from '../cli/base-command'
import {migrate} from '../core/db/migrations'

export default class Migrate extends BaseCommand<typeof Migrate> {
  static writesDatabase = true

  static summary = "Apply the framework's and the project's pending database migrations."

  static description = `Creates or updates the run log tables (cron_job, cron_job_log), then applies the project's own migrations (its migrations folder, compiled: see the "manage" section of package.json), in name order. A migration in the sources that is not built yet stops it before anything is applied. Safe to run again: applied migrations are skipped, and a lock keeps two servers from migrating at once.

The database is DATABASE_URL when set, else the knexfile's entry for MANAGE_ENV / NODE_ENV (default 'development': a sqlite file in the project).`

  static examples = ['<%= config.bin %> <%= command.id %>', 'DATABASE_URL=sqlite:///var/lib/myapp/manage.sqlite3 <%= config.bin %> <%= command.id %>']

  async run(): Promise<void> {
    const applied = await migrate(this.project.db(), this.project.paths.migrations)
    if (this.verbosity < 1) return
    const where = this.project.database().description
    if (applied.length === 0) {
      this.log(`No migrations to apply (${where}).`)
      return
    }
    this.log(`Applied to ${where}:`)
    for (const name of applied) this.log(`  ${this.paint.ok('✔')} ${name}`)
  }
}
