import type {Knex} from 'knex'

/** A paused job is skipped by every server (manage crons:pause / crons:resume). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('cron_job', (table) => {
    table.datetime('paused_at', {useTz: true, precision: 3}).nullable()
    table.string('paused_by', 255).nullable()
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('cron_job', (table) => {
    table.dropColumn('paused_by')
    table.dropColumn('paused_at')
  })
}
