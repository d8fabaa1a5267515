import type {Knex} from 'knex'

/**
 * A run started by hand (`runcrons --force`, the dashboard's run now) is marked so: the audit
 * counts it as extra, never as the schedule's period run twice.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('cron_job_log', (table) => {
    table.boolean('forced').notNullable().defaultTo(false)
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('cron_job_log', (table) => {
    table.dropColumn('forced')
  })
}
