import type {Knex} from 'knex'

/** The example app's own table: the items FetchItemsCronJob stores (src/crons/fetch-items.ts). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('items', (table) => {
    // The API's own id: storing an item twice is impossible, so a run that repeats is harmless.
    table.string('id', 191).primary()
    table.string('title', 1000).notNullable()
    table.bigInteger('fetched_at').notNullable()
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('items')
}
