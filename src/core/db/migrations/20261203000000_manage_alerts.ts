import type {Knex} from 'knex'

/**
 * Alerts (see README, "Alerts and monitoring"):
 * - cron_job keeps each job's incident state, changed in the transaction that records a run's end;
 * - cron_alert is the outbox: an alert is written with the outcome that caused it, and each tick
 *   delivers the pending ones under a lease, so with several servers each goes out once;
 *   dedupe_key is unique, so two servers that notice the same thing write one alert;
 * - cron_alert_attempt records every delivery attempt, per channel;
 * - cron_tick is each server's heartbeat: its last tick, for runner_silent.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = /mysql/.test(String(knex.client.config.client))
  const exact = (table: Knex.CreateTableBuilder) => {
    // As the run log's tables: codes and hosts compare byte for byte (see manage_exact_codes).
    if (mysql) {
      table.charset('utf8mb4')
      table.collate('utf8mb4_bin')
    }
  }
  await knex.schema.alterTable('cron_job', (table) => {
    table.integer('failure_streak').notNullable().defaultTo(0)
    table.datetime('failure_since', {useTz: true, precision: 3}).nullable()
    table.integer('success_streak').notNullable().defaultTo(0)
    table.string('incident_kind', 16).nullable()
    table.datetime('incident_since', {useTz: true, precision: 3}).nullable()
    table.datetime('incident_alerted_at', {useTz: true, precision: 3}).nullable()
    table.integer('incident_reminders').notNullable().defaultTo(0)
    table.datetime('resumed_at', {useTz: true, precision: 3}).nullable()
  })
  await knex.schema.createTable('cron_alert', (table) => {
    exact(table)
    table.increments('id').primary()
    table.string('dedupe_key', 191).notNullable().unique('cron_alert_dedupe')
    table.string('kind', 16).notNullable()
    table.string('code', 191).nullable()
    table.integer('run_id').nullable()
    table.string('host', 255).notNullable()
    table.text('text', 'mediumtext').notNullable()
    table.text('details', 'mediumtext').nullable()
    table.datetime('created_at', {useTz: true, precision: 3}).notNullable()
    table.string('status', 16).notNullable().defaultTo('pending')
    table.integer('attempts').notNullable().defaultTo(0)
    table.datetime('next_attempt_at', {useTz: true, precision: 3}).notNullable()
    table.datetime('delivered_at', {useTz: true, precision: 3}).nullable()
    table.string('lease_token', 64).nullable()
    table.datetime('lease_expires_at', {useTz: true, precision: 3}).nullable()
    // A tick asks for the next pending alert's time on every run: one index lookup.
    table.index(['status', 'next_attempt_at'], 'cron_alert_status_next')
  })
  await knex.schema.createTable('cron_alert_attempt', (table) => {
    exact(table)
    table.increments('id').primary()
    table.integer('alert_id').notNullable()
    table.string('channel', 191).notNullable()
    table.boolean('ok').notNullable()
    table.text('detail').nullable()
    table.datetime('attempted_at', {useTz: true, precision: 3}).notNullable()
    table.integer('duration_ms').notNullable()
    table.string('host', 255).nullable()
    table.integer('pid').nullable()
    table.index(['alert_id'], 'cron_alert_attempt_alert')
  })
  await knex.schema.createTable('cron_tick', (table) => {
    exact(table)
    table.string('host', 191).primary()
    table.integer('pid').nullable()
    table.string('version', 64).nullable()
    table.datetime('tick_at', {useTz: true, precision: 3}).notNullable()
    table.datetime('first_tick_at', {useTz: true, precision: 3}).notNullable()
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('cron_tick')
  await knex.schema.dropTableIfExists('cron_alert_attempt')
  await knex.schema.dropTableIfExists('cron_alert')
  await knex.schema.alterTable('cron_job', (table) => {
    for (const column of ['failure_streak', 'failure_since', 'success_streak', 'incident_kind', 'incident_since', 'incident_alerted_at', 'incident_reminders', 'resumed_at']) table.dropColumn(column)
  })
}
