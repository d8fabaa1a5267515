import type {Knex} from 'knex'

/**
 * A run that finished after its lease had run out (and another process had recorded it
 * interrupted) keeps its outcome, marked so: the job may have run a second time meanwhile.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('cron_job_log', (table) => {
    table.boolean('lease_overrun').notNullable().defaultTo(false)
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('cron_job_log', (table) => {
    table.dropColumn('lease_overrun')
  })
}
