import type {Knex} from 'knex'

/**
 * Job codes compare byte for byte on every database. MySQL and MariaDB compare text by the
 * table's collation, and the usual default is case- and accent-insensitive ('Report' = 'report',
 * 'résumé' = 'resume'): two jobs would share one claim. The run log's tables become utf8mb4 with a
 * binary collation (which also lets a message hold any character); sqlite and PostgreSQL already
 * compare exactly.
 */
export async function up(knex: Knex): Promise<void> {
  if (!isMysql(knex)) return
  for (const table of ['cron_job', 'cron_job_log']) await knex.raw(`ALTER TABLE ${table} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
}

export async function down(knex: Knex): Promise<void> {
  if (!isMysql(knex)) return
  for (const table of ['cron_job', 'cron_job_log']) await knex.raw(`ALTER TABLE ${table} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`)
}

function isMysql(knex: Knex): boolean {
  return /mysql/.test(String(knex.client.config.client))
}
