import type {Knex} from 'knex'

/**
 * The run log and the per-job row that carries the lock.
 * Times are UTC with millisecond precision: timestamptz(3) on PostgreSQL, datetime(3) on MySQL,
 * fixed-width ISO-8601 text on sqlite (so text order is time order).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('cron_job', (table) => {
    table.string('code', 191).primary()
    table.string('lock_token', 64).nullable()
    table.string('lock_host', 255).nullable()
    table.integer('lock_pid').nullable()
    table.datetime('locked_at', {useTz: true, precision: 3}).nullable()
    table.datetime('lease_expires_at', {useTz: true, precision: 3}).nullable()
  })

  await knex.schema.createTable('cron_job_log', (table) => {
    table.increments('id').primary()
    table.string('code', 191).notNullable()
    table.string('status', 16).notNullable()
    table.datetime('start_time', {useTz: true, precision: 3}).notNullable()
    table.datetime('end_time', {useTz: true, precision: 3}).nullable()
    table.text('message', 'mediumtext').nullable()
    table.string('ran_at_time', 5).nullable()
    table.string('host', 255).nullable()
    table.integer('pid').nullable()
    table.datetime('lease_expires_at', {useTz: true, precision: 3}).nullable()
    table.datetime('heartbeat_at', {useTz: true, precision: 3}).nullable()
    // The decision's queries: latest run per code, latest success per code, running rows, recent slot runs.
    table.index(['code', 'start_time'], 'cron_job_log_code_start')
    table.index(['code', 'status', 'start_time'], 'cron_job_log_code_status_start')
    table.index(['status', 'ran_at_time', 'start_time'], 'cron_job_log_status_slot_start')
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('cron_job_log')
  await knex.schema.dropTableIfExists('cron_job')
}
