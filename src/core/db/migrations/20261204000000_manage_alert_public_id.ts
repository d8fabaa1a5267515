import type {Knex} from 'knex'

/**
 * cron_alert.public_id: the id an alert goes out with (webhook body and Idempotency-Key, e-mail
 * Message-ID), so a receiver can drop a second copy: delivery is at least once. A UUID rather than
 * the row id, which another project's database (staging and production posting to one receiver)
 * has too. Given at the alert's first claim (rows from before this migration, or raised by a
 * server still on the previous version, get theirs then) and kept by every later one.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('cron_alert', (table) => {
    table.string('public_id', 64).nullable()
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('cron_alert', (table) => {
    table.dropColumn('public_id')
  })
}
