import type {Knex} from 'knex'
import {CommandError, UsageError} from '../base/errors'
import {firstLine, shown} from '../base/text'
import {frameworkMigrationNames, listMigrations, migratorConfig, type MigrationFolders, type MigrationState} from './migrations'

/**
 * `manage migrate TARGET` (Django's `migrate app 0003`): the database brought to the state where
 * TARGET and every migration before it are applied and those after it are not. The framework and
 * the project are two "apps": a project target never unapplies one of manage's own migrations; a
 * framework target, named in full, may (and the project's migrations after it go first).
 */

/** `manage migrate zero`: every migration of the project's unapplied (manage's own stay). */
export const ZERO = 'zero'

export interface MigrationStep {
  name: string
  direction: 'apply' | 'unapply'
  /** One of manage's own migrations (its run log tables). */
  framework: boolean
}

export interface MigrationPlan {
  /** The migration TARGET matched (its full name), or 'zero'. */
  target: string
  /** TARGET was a prefix of the name it matched. */
  byPrefix: boolean
  /** In the order they run: unapplied newest first, then applied oldest first. */
  steps: MigrationStep[]
  /** Every migration, as listMigrations gives them. */
  migrations: MigrationState[]
}

/**
 * What `manage migrate TARGET` would do, nothing run; with no target, every pending migration
 * applied. Unknown, ambiguous or refused targets are one line (exit 2).
 */
export async function planMigration(db: Knex, folders: MigrationFolders, given: string | undefined): Promise<MigrationPlan> {
  const migrations = await listMigrations(db, folders)
  const framework = frameworkMigrationNames()
  const ordered = [...migrations].sort((a, b) => a.name.localeCompare(b.name))
  const target = given ?? ordered.at(-1)?.name ?? ZERO
  const matched = target === ZERO ? ZERO : matchTarget(target, ordered.map((m) => m.name))
  const isFrameworkTarget = framework.has(matched)
  const step = (m: MigrationState, direction: MigrationStep['direction']): MigrationStep => ({name: m.name, direction, framework: framework.has(m.name)})
  // zero sorts before every timestamp: nothing is "up to" it.
  const upTo = (m: MigrationState) => matched !== ZERO && m.name.localeCompare(matched) <= 0
  const unapply = ordered
    .filter((m) => m.applied && !upTo(m) && (isFrameworkTarget || !framework.has(m.name)))
    .reverse()
    .map((m) => step(m, 'unapply'))
  const apply = ordered.filter((m) => !m.applied && upTo(m)).map((m) => step(m, 'apply'))
  const unbuilt = ordered.filter((m) => m.unbuilt && upTo(m)).map((m) => m.name)
  if (unbuilt.length > 0) {
    throw new CommandError(`${unbuilt.join(', ')} in ${folders.source} ${unbuilt.length === 1 ? 'is' : 'are'} not in the build (${folders.build}): run \`npm run build\` first (nothing was applied)`)
  }
  const dropped = unapply.filter((s) => s.framework).map((s) => s.name)
  if (dropped.length > 0 && matched !== target) {
    throw new UsageError(
      `migrate ${shown(target)} would unapply manage's own migrations (${dropped.join(', ')}), dropping run log tables or columns with their rows: name the target in full (manage migrate ${matched}) to do it (nothing was changed)`,
    )
  }
  return {target: matched, byPrefix: matched !== target, steps: [...unapply, ...apply], migrations}
}

/** The one migration a TARGET names: its full name, or a prefix of only one. */
function matchTarget(target: string, names: string[]): string {
  if (names.includes(target)) return target
  const prefixed = names.filter((name) => name.startsWith(target))
  if (prefixed.length === 1) return prefixed[0]
  if (prefixed.length > 1) throw new UsageError(`migration target ${shown(target)} matches ${prefixed.length} migrations (${prefixed.join(', ')}): give more of the name`)
  const {distance} = require('fastest-levenshtein') as typeof import('fastest-levenshtein')
  // Compared with as much of each name as was typed: a mistyped prefix is near its migration too.
  const scored = names.map((name) => ({name, d: Math.min(distance(target, name), distance(target, name.slice(0, target.length)))}))
  const best = Math.min(...scored.map((s) => s.d))
  const near = best <= Math.max(2, Math.floor(target.length / 4)) ? scored.filter((s) => s.d === best).map((s) => s.name).slice(0, 3) : []
  const hint = near.length > 0 ? `did you mean ${near.join(' or ')}?` : '`manage showmigrations` lists them'
  throw new UsageError(`unknown migration target ${shown(target)}: ${hint} (give a migration's name, a unique prefix of it, or ${ZERO})`)
}

/**
 * Run a plan's steps in order, each in a transaction of its own with knex's migration lock
 * (`fake`: only the record in knex_migrations changes). Stops at the first that fails, with one
 * line naming it and what was done before; the failed one keeps its record. On MySQL/MariaDB a
 * schema change is committed as it runs: a down() that fails halfway leaves what it did before.
 */
export async function runMigrationPlan(db: Knex, folders: MigrationFolders, plan: MigrationPlan, options: {fake?: boolean; now: Date}): Promise<MigrationStep[]> {
  const config = migratorConfig(folders.build)
  const done: MigrationStep[] = []
  for (const step of plan.steps) {
    try {
      if (options.fake) await fakeStep(db, config.tableName!, step, options.now)
      else if (step.direction === 'apply') await db.migrate.up({...config, name: step.name})
      else await db.migrate.down({...config, name: step.name})
    } catch (error) {
      const before = done.length > 0 ? `; done before it: ${done.map((s) => `${s.direction === 'apply' ? 'applied' : 'unapplied'} ${s.name}`).join(', ')}` : ''
      const mysql = step.direction === 'unapply' && db.client.config.client === 'mysql2' ? ' (MySQL/MariaDB commits each schema change at once: what its down() did before the error stays)' : ''
      const reason = error instanceof Error ? firstLine(error.message) : String(error)
      throw new CommandError(`${step.direction === 'apply' ? 'applying' : 'unapplying'} ${step.name} failed: ${reason}; it is still recorded as ${step.direction === 'apply' ? 'pending' : 'applied'}${mysql}${before}`, 1, error)
    }
    done.push(step)
  }
  return done
}

/** Record a migration as applied or not, as knex does, without running it. */
async function fakeStep(db: Knex, table: string, step: MigrationStep, now: Date): Promise<void> {
  if (step.direction === 'unapply') {
    await db(table).where({name: step.name}).del()
    return
  }
  const row = (await db(table).max({batch: 'batch'}).first()) as {batch: number | string | null} | undefined
  await db(table).insert({name: step.name, batch: Number(row?.batch ?? 0) + 1, migration_time: now})
}
