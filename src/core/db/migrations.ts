import {existsSync, readdirSync} from 'node:fs'
import path from 'node:path'
import type {Knex} from 'knex'

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

export function migratorConfig(projectMigrationsDir: string): Knex.MigratorConfig {
  return {migrationSource: new FolderMigrationSource([FRAMEWORK_MIGRATIONS_DIR, projectMigrationsDir]), tableName: 'knex_migrations'}
}

export interface MigrationState {
  name: string
  applied: boolean
}

/** Apply every pending migration, in name order; returns the names applied. */
export async function migrate(db: Knex, projectMigrationsDir: string): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(migratorConfig(projectMigrationsDir))) as [number, string[]]
  return applied
}

/** Every migration, applied or pending, in the order they apply. */
export async function listMigrations(db: Knex, projectMigrationsDir: string): Promise<MigrationState[]> {
  const source = new FolderMigrationSource([FRAMEWORK_MIGRATIONS_DIR, projectMigrationsDir])
  const [completed, pending] = (await db.migrate.list(migratorConfig(projectMigrationsDir))) as [Array<{name: string}>, string[]]
  return [
    ...completed.map((migration) => ({name: migration.name, applied: true})),
    ...pending.map((migration) => ({name: typeof migration === 'string' ? source.getMigrationName(migration) : String(migration), applied: false})),
  ]
}
