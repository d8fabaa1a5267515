import type {Knex} from 'knex'

/**
 * What a resident scheduler records of its own lateness (see README, "The scheduler"):
 * - cron_job_log.started_late_ms: how long a run waited for a free slot (`--concurrency`) after it
 *   fell due; null when it started on time (and for every run of the crontab tick).
 * - cron_tick.lag_ms and lag_jobs: a scheduler's worst event-loop lag since its previous heartbeat
 *   and the jobs that ran in its process then (codes, comma-separated); null when no job ran in its
 *   process (the lag is measured only then). `manage runners` shows them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('cron_job_log', (table) => {
    table.integer('started_late_ms').nullable()
  })
  await knex.schema.alterTable('cron_tick', (table) => {
    table.integer('lag_ms').nullable()
    table.text('lag_jobs').nullable()
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('cron_tick', (table) => {
    table.dropColumn('lag_jobs')
    table.dropColumn('lag_ms')
  })
  await knex.schema.alterTable('cron_job_log', (table) => {
    table.dropColumn('started_late_ms')
  })
}
