import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command'
import {planMigration, runMigrationPlan, ZERO, type MigrationPlan, type MigrationStep} from '../core/db/migrate-to'
import {migrate} from '../core/db/migrations'
import {clockFromEnv} from '../core/time/clock'

export default class Migrate extends BaseCommand<typeof Migrate> {
  static writesDatabase = true

  static summary = "Apply the framework's and the project's pending database migrations, or migrate to a named one (back too)."

  static description = `Creates or updates the run log tables (cron_job, cron_job_log), then applies the project's own migrations (its migrations folder, compiled: see the "manage" section of package.json), in name order. A migration in the sources that is not built yet stops it before anything is applied. Safe to run again: applied migrations are skipped, and a lock keeps two servers from migrating at once.

With TARGET (a migration's name, or a unique prefix of it), the database is brought to that migration, as Django's \`migrate app 0003\`: every migration up to it applied, and the project's migrations after it unapplied (their down(), newest first). \`zero\` unapplies all of the project's. manage's own migrations are unapplied only when TARGET names one of them in full.

The database is DATABASE_URL when set, else the knexfile's entry for MANAGE_ENV / NODE_ENV (default 'development': a sqlite file in the project).`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> 20260105093000_create_items',
    '<%= config.bin %> <%= command.id %> zero --plan',
    '<%= config.bin %> <%= command.id %> 20260105093000 --fake',
    'DATABASE_URL=sqlite:///var/lib/myapp/manage.sqlite3 <%= config.bin %> <%= command.id %>',
  ]

  static args = {
    target: Args.string({description: `Migrate to this migration (its name or a unique prefix), or ${ZERO} to unapply all of the project's [default: the newest].`}),
  }

  static flags = {
    plan: Flags.boolean({description: 'Say what would be applied and unapplied, and change nothing.'}),
    fake: Flags.boolean({description: 'Record the migrations as applied or unapplied without running their up() or down() (for tables made by hand).'}),
  }

  async run(): Promise<void> {
    const {target} = this.args
    const folders = this.project.paths.migrations
    const db = this.project.db()
    if (target === undefined && !this.flags.plan && !this.flags.fake) return this.latest(await migrate(db, folders))
    const plan = await planMigration(db, folders, target)
    const where = this.project.database().description
    if (this.verbosity >= 1 && plan.byPrefix) this.log(`Target ${target} is ${plan.target}.`)
    if (plan.steps.length === 0) {
      if (this.verbosity >= 1) this.log(`No migrations to apply or unapply (${where}).`)
      return
    }
    if (this.flags.plan) {
      this.log(`Planned for ${where}${this.flags.fake ? ' (--fake: recorded only)' : ''}:`)
      for (const step of plan.steps) this.log(`  ${step.direction} ${step.name}${step.framework && step.direction === 'unapply' ? " (manage's own)" : ''}`)
      return
    }
    this.warnDropped(plan)
    const now = new Date(clockFromEnv(this.io.env, 'UTC')())
    const done = await runMigrationPlan(db, folders, plan, {fake: this.flags.fake, now})
    if (this.verbosity < 1) return
    this.log(`${this.flags.fake ? 'Recorded (--fake, nothing run) in' : 'Migrated'} ${where}:`)
    for (const step of done) this.log(`  ${this.paint.ok('✔')} ${pastTense(step)} ${step.name}`)
  }

  private latest(applied: string[]): void {
    if (this.verbosity < 1) return
    const where = this.project.database().description
    if (applied.length === 0) {
      this.log(`No migrations to apply (${where}).`)
      return
    }
    this.log(`Applied to ${where}:`)
    for (const name of applied) this.log(`  ${this.paint.ok('✔')} ${name}`)
  }

  /** Unapplying manage's own migrations drops run log tables or columns: said before it is done, whatever the verbosity. */
  private warnDropped(plan: MigrationPlan): void {
    const dropped = plan.steps.filter((step) => step.framework && step.direction === 'unapply').map((step) => step.name)
    if (dropped.length === 0 || this.flags.fake) return
    this.log(`${this.paint.warn('Unapplying manage\'s own migrations')} ${dropped.join(', ')}: the run log tables and columns they made are dropped, with their rows.`)
  }
}

function pastTense(step: MigrationStep): string {
  return step.direction === 'apply' ? 'applied' : 'unapplied'
}
