import type {Knex} from 'knex'

/**
 * Shared concurrency limits (see README, "Policies"): settings `limits: {reports: 2}` and a job's
 * `limit = 'reports'`.
 * - cron_limit_slot: a semaphore with leases, like the jobs' claims: a group's slots 1..N, made
 *   when first needed, each taken by one conditional UPDATE (its holder, the job and the run's
 *   claim token) and freed with the run's outcome, or by its lease running out.
 * - cron_job.held_back_at: since when a job has been held back by its limit (its first try that
 *   found no slot free), cleared when it starts.
 * - cron_job_log.late_reason: why a run started late ('limit: reports'); null when it did not,
 *   or when it waited only for a slot of a scheduler (started_late_ms alone).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('cron_limit_slot', (table) => {
    // As the run log's other tables: names compare byte for byte on MySQL (see manage_exact_codes).
    if (/mysql/.test(String(knex.client.config.client))) {
      table.charset('utf8mb4')
      table.collate('utf8mb4_bin')
    }
    table.string('name', 191).notNullable()
    table.integer('slot').notNullable()
    table.string('code', 191).nullable()
    table.string('lock_token', 64).nullable()
    table.string('lock_host', 255).nullable()
    table.integer('lock_pid').nullable()
    table.datetime('locked_at', {useTz: true, precision: 3}).nullable()
    table.datetime('lease_expires_at', {useTz: true, precision: 3}).nullable()
    table.primary(['name', 'slot'], 'cron_limit_slot_pkey')
  })
  await knex.schema.alterTable('cron_job', (table) => {
    table.datetime('held_back_at', {useTz: true, precision: 3}).nullable()
  })
  await knex.schema.alterTable('cron_job_log', (table) => {
    table.string('late_reason', 255).nullable()
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('cron_job_log', (table) => {
    table.dropColumn('late_reason')
  })
  await knex.schema.alterTable('cron_job', (table) => {
    table.dropColumn('held_back_at')
  })
  await knex.schema.dropTableIfExists('cron_limit_slot')
}
