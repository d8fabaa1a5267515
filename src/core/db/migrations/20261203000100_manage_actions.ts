import type {Knex} from 'knex'

/**
 * What people did to jobs by hand (the dashboard's run now, pause with a note, resume, unlock):
 * who, when, and what came of it.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = /mysql/.test(String(knex.client.config.client))
  await knex.schema.createTable('cron_action', (table) => {
    if (mysql) {
      table.charset('utf8mb4')
      table.collate('utf8mb4_bin')
    }
    table.increments('id').primary()
    table.string('code', 191).notNullable()
    table.string('action', 16).notNullable()
    table.string('by_user', 191).notNullable()
    table.text('note').nullable()
    table.text('outcome').nullable()
    table.datetime('at', {useTz: true, precision: 3}).notNullable()
    table.index(['code', 'id'], 'cron_action_code')
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('cron_action')
}
