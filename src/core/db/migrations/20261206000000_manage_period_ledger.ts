import type {Knex} from 'knex'

/**
 * The period ledger (see README, "Policies"): every period a schedule calls for ends with one final
 * record, a run or a skip.
 * - cron_job_log.period_at: the period a run served (its due instant); null for a run by hand and
 *   for a job's first run, which no period called for.
 * - cron_skip: a period that ended without a run, and why (catch-up, overlap, paused, outside the
 *   catch-up window); one row per (code, period), so two servers never record one period twice.
 * - cron_job.held_to: the latest period a job's skips account for, read by its decisions with the
 *   pauses (the skips themselves are read only by the audit, history and dashboard).
 * - cron_job.cancel_for: overlap = 'cancelOther': the period that asks the live run to stop; its
 *   holder polls it while it runs, and a claim or a release clears it.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = /mysql/.test(String(knex.client.config.client))
  await knex.schema.alterTable('cron_job_log', (table) => {
    table.datetime('period_at', {useTz: true, precision: 3}).nullable()
  })
  await knex.schema.alterTable('cron_job', (table) => {
    table.datetime('held_to', {useTz: true, precision: 3}).nullable()
    table.datetime('cancel_for', {useTz: true, precision: 3}).nullable()
  })
  await knex.schema.createTable('cron_skip', (table) => {
    if (mysql) {
      table.charset('utf8mb4')
      table.collate('utf8mb4_bin')
    }
    table.increments('id').primary()
    table.string('code', 191).notNullable()
    table.datetime('period_at', {useTz: true, precision: 3}).notNullable()
    table.string('reason', 255).notNullable()
    table.datetime('recorded_at', {useTz: true, precision: 3}).notNullable()
    table.string('host', 255).nullable()
    table.integer('pid').nullable()
    table.unique(['code', 'period_at'], {indexName: 'cron_skip_code_period'})
    table.index(['period_at'], 'cron_skip_period')
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('cron_skip')
  await knex.schema.alterTable('cron_job', (table) => {
    table.dropColumn('cancel_for')
    table.dropColumn('held_to')
  })
  await knex.schema.alterTable('cron_job_log', (table) => {
    table.dropColumn('period_at')
  })
}
