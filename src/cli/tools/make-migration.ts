import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import type {DateTime} from 'luxon'
import {CommandError} from '../../core/base/errors'
import type {ProjectLayout} from '../../core/project/layout'
import {PACKAGE_NAME} from '../../core/project/package-name'
import {namesOf} from './scaffold'

export interface MigrationReport {
  /** Relative to the project folder. */
  file: string
  name: string
}

/**
 * `manage makemigration NAME`: <migrations>/<UTC timestamp>_<name>.ts (.js in a JavaScript
 * project) with an empty up() and down(), in the project's migrations folder; the timestamp
 * orders it after every migration made before.
 */
export function makeMigration(layout: ProjectLayout, name: string, now: DateTime): MigrationReport {
  const names = namesOf(name, 'NAME')
  const stamp = now.toUTC().toFormat('yyyyLLddHHmmss')
  const extension = layout.language === 'typescript' ? '.ts' : '.js'
  const fileName = `${stamp}_${names.snake}${extension}`
  const file = path.join(layout.source.migrations, fileName)
  if (existsSync(file)) throw new CommandError(`${file} already exists: wait a second or choose another NAME (nothing was written)`)
  mkdirSync(layout.source.migrations, {recursive: true})
  writeFileSync(file, migrationSource(layout, names.snake), {flag: 'wx'})
  return {file: path.relative(layout.root, file), name: `${stamp}_${names.snake}`}
}

function migrationSource(layout: ProjectLayout, name: string): string {
  const todo = `// TODO: say what ${name} changes, e.g.
  // await knex.schema.createTable('items', (table) => {
  //   table.increments('id')
  //   table.string('title').notNullable()
  // })`
  const undo = `// Undo up(), e.g. await knex.schema.dropTable('items')`
  if (layout.language === 'typescript') {
    return `import type {Knex} from '${PACKAGE_NAME}'

export async function up(knex: Knex): Promise<void> {
  ${todo}
}

export async function down(knex: Knex): Promise<void> {
  ${undo}
}
`
  }
  const header = '/** @param {import(\'' + PACKAGE_NAME + '\').Knex} knex */'
  if (layout.moduleType === 'module') {
    return `${header}
export async function up(knex) {
  ${todo}
}

${header}
export async function down(knex) {
  ${undo}
}
`
  }
  return `${header}
exports.up = async function up(knex) {
  ${todo}
}

${header}
exports.down = async function down(knex) {
  ${undo}
}
`
}
