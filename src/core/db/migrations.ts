import {existsSync, readdirSync} from 'node:fs'
import path from 'node:path'
import type {Knex} from 'knex'
import {CommandError, NotMigratedError} from '../base/errors'

/** The framework's migrations ship with it; the project's own come from its migrations/ folder. */
export const FRAMEWORK_MIGRATIONS_DIR = path.join(__dirname, 'migrations')

const MIGRATION_FILE = /\.(c?js|ts)$/
const DECLARATION_FILE = /\.d\.ts$/

/**
 * Migrations from several folders, named without their extension, so the same migration has the
 * same name whether it runs compiled (.js) or from source under tsx (.ts), and the recorded
 * history stays valid across both.
 */
class FolderMigrationSource implements Knex.MigrationSource<string> {
  constructor(private readonly folders: string[]) {}

  async getMigrations(): Promise<string[]> {
    const files = this.folders
      .filter((folder) => existsSync(folder))
      .flatMap((folder) =>
        readdirSync(folder)
          .filter((name) => MIGRATION_FILE.test(name) && !DECLARATION_FILE.test(name))
          .map((name) => path.join(folder, name)),
      )
    return files.sort((a, b) => this.getMigrationName(a).localeCompare(this.getMigrationName(b)))
  }

  getMigrationName(file: string): string {
    return path.basename(file).replace(MIGRATION_FILE, '')
  }

  async getMigration(file: string): Promise<Knex.Migration> {
    return require(file)
  }
}

/** A migration file's name without its extension, or null when it is not a migration (a .d.ts, a .map…). */
export function migrationName(file: string): string | null {
  const base = path.basename(file)
  return MIGRATION_FILE.test(base) && !DECLARATION_FILE.test(base) ? base.replace(MIGRATION_FILE, '') : null
}

export function migratorConfig(projectMigrationsDir: string): Knex.MigratorConfig {
  return {migrationSource: new FolderMigrationSource([FRAMEWORK_MIGRATIONS_DIR, projectMigrationsDir]), tableName: 'knex_migrations'}
}

export interface MigrationState {
  name: string
  applied: boolean
  /** In the sources but not in the build: it cannot run until the project is built. */
  unbuilt?: boolean
}

/** The project's migrations: the sources (makemigration writes there) and the build `migrate` runs. */
export interface MigrationFolders {
  source: string
  build: string
}

/** Names of the migrations in the sources whose compiled module is not in the build (none when both are one folder). */
export function unbuiltMigrations(folders: MigrationFolders): string[] {
  if (path.resolve(folders.source) === path.resolve(folders.build) || !existsSync(folders.source)) return []
  const names = (folder: string) => (existsSync(folder) ? readdirSync(folder) : []).filter((name) => MIGRATION_FILE.test(name) && !DECLARATION_FILE.test(name)).map((name) => name.replace(MIGRATION_FILE, ''))
  const built = new Set(names(folders.build))
  return names(folders.source).filter((name) => !built.has(name)).sort()
}

/**
 * Apply every pending migration, in name order; returns the names applied. Refused while a
 * migration of the project's is in its sources but not built: applying the others would run them
 * out of order.
 */
export async function migrate(db: Knex, folders: MigrationFolders): Promise<string[]> {
  const unbuilt = unbuiltMigrations(folders)
  if (unbuilt.length > 0) {
    throw new CommandError(`${unbuilt.length === 1 ? 'the migration' : 'the migrations'} ${unbuilt.join(', ')} in ${folders.source} ${unbuilt.length === 1 ? 'is' : 'are'} not in the build (${folders.build}): run \`npm run build\` first (nothing was applied)`)
  }
  const [, applied] = (await db.migrate.latest(migratorConfig(folders.build))) as [number, string[]]
  return applied
}

/** Every migration, applied or pending, in the order they apply. */
export async function listMigrations(db: Knex, folders: MigrationFolders): Promise<MigrationState[]> {
  const source = new FolderMigrationSource([FRAMEWORK_MIGRATIONS_DIR, folders.build])
  const [completed, pending] = (await db.migrate.list(migratorConfig(folders.build))) as [Array<{name: string}>, string[]]
  const known: MigrationState[] = [
    ...completed.map((migration) => ({name: migration.name, applied: true})),
    ...pending.map((migration) => ({name: typeof migration === 'string' ? source.getMigrationName(migration) : String(migration), applied: false})),
  ]
  const recorded = new Set(known.map((migration) => migration.name))
  const unbuilt = unbuiltMigrations(folders).filter((name) => !recorded.has(name)).map((name) => ({name, applied: false, unbuilt: true}))
  return [...known, ...unbuilt].sort((a, b) => Number(b.applied) - Number(a.applied) || a.name.localeCompare(b.name))
}

/** The names of manage's own migrations. */
export function frameworkMigrationNames(): Set<string> {
  return new Set(existsSync(FRAMEWORK_MIGRATIONS_DIR) ? readdirSync(FRAMEWORK_MIGRATIONS_DIR).map(migrationName).filter((name): name is string => name !== null) : [])
}

/**
 * Refuse a database where manage's own migrations are not all applied, with the line every command
 * gives (for what would otherwise fail on each request, as the dashboard's pages). Reads only: the
 * migrator's list would create its tables.
 */
export async function checkMigrated(db: Knex, database: string): Promise<void> {
  if (!(await db.schema.hasTable('cron_job_log'))) throw new NotMigratedError(database, 'cron_job_log')
  const applied = (await db.schema.hasTable('knex_migrations')) ? new Set<string>(await db('knex_migrations').pluck('name')) : new Set<string>()
  const pending = [...frameworkMigrationNames()].filter((name) => !applied.has(name)).sort()
  if (pending.length > 0) throw new NotMigratedError(database, 'cron_job_log', `manage's ${pending.length === 1 ? 'migration' : 'migrations'} ${pending.join(', ')} ${pending.length === 1 ? 'is' : 'are'} not applied`)
}
