import {existsSync} from 'node:fs'
import path from 'node:path'
import type {Knex} from 'knex'

/** The framework's migrations ship with it; the project's own come from its migrations/ folder. */
export const FRAMEWORK_MIGRATIONS_DIR = path.join(__dirname, 'migrations')

export function migratorConfig(projectMigrationsDir: string): Knex.MigratorConfig {
  return {
    directory: [FRAMEWORK_MIGRATIONS_DIR, projectMigrationsDir].filter((dir) => existsSync(dir)),
    loadExtensions: ['.js'],
    tableName: 'knex_migrations',
  }
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
  const [completed, pending] = (await db.migrate.list(migratorConfig(projectMigrationsDir))) as [Array<{name: string}>, Array<{file: string}>]
  return [
    ...completed.map((migration) => ({name: migration.name, applied: true})),
    ...pending.map((migration) => ({name: migration.file, applied: false})),
  ]
}
