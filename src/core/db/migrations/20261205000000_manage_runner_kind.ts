import type {Knex} from 'knex'

/**
 * Runners and the code each run ran (see README, "Alerts and monitoring" and "The run log"):
 * - cron_tick becomes one row per runner, keyed by (host, kind): a server may run the crontab tick
 *   (`crontab`) and a resident scheduler (`scheduler`) at once, each with its own heartbeat. A
 *   restarted scheduler takes its row over (a dead pid's row would only ever look silent).
 *   `since` is when the runner started: a scheduler's process start; for the crontab tick, its first
 *   tick after a silence (see upsertTick). It replaces first_tick_at (a server's first tick ever);
 *   the rows kept are crontab ones, since their first tick (the best known).
 * - cron_job_log.code_version: the version of the app's code that ran the run (MANAGE_VERSION, or
 *   package.json's version plus the git commit), null when unknown.
 * The key changes, so cron_tick is made anew (sqlite cannot change a primary key) and its rows copied.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('cron_tick_next', (table) => {
    exact(knex, table)
    table.string('host', 191).notNullable()
    table.string('kind', 16).notNullable()
    table.integer('pid').nullable()
    table.string('version', 64).nullable()
    table.datetime('tick_at', {useTz: true, precision: 3}).notNullable()
    table.datetime('since', {useTz: true, precision: 3}).notNullable()
    // Named for itself: PostgreSQL's names are the schema's, and cron_tick_pkey is the old table's until it is dropped.
    table.primary(['host', 'kind'], 'cron_tick_runner')
  })
  await knex.raw("INSERT INTO cron_tick_next (host, kind, pid, version, tick_at, since) SELECT host, 'crontab', pid, version, tick_at, first_tick_at FROM cron_tick")
  await knex.schema.dropTable('cron_tick')
  await knex.schema.renameTable('cron_tick_next', 'cron_tick')
  await knex.schema.alterTable('cron_job_log', (table) => {
    table.string('code_version', 255).nullable()
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('cron_job_log', (table) => {
    table.dropColumn('code_version')
  })
  await knex.schema.createTable('cron_tick_before', (table) => {
    exact(knex, table)
    table.string('host', 191).primary('cron_tick_pkey')
    table.integer('pid').nullable()
    table.string('version', 64).nullable()
    table.datetime('tick_at', {useTz: true, precision: 3}).notNullable()
    table.datetime('first_tick_at', {useTz: true, precision: 3}).notNullable()
  })
  // One row per server again: its crontab tick's (the schedulers' heartbeats are dropped).
  await knex.raw("INSERT INTO cron_tick_before (host, pid, version, tick_at, first_tick_at) SELECT host, pid, version, tick_at, since FROM cron_tick WHERE kind = 'crontab'")
  await knex.schema.dropTable('cron_tick')
  await knex.schema.renameTable('cron_tick_before', 'cron_tick')
}

/** As the run log's other tables: hosts compare byte for byte on MySQL (see manage_exact_codes). */
function exact(knex: Knex, table: Knex.CreateTableBuilder): void {
  if (/mysql/.test(String(knex.client.config.client))) {
    table.charset('utf8mb4')
    table.collate('utf8mb4_bin')
  }
}
