// A dashboard with data, for the screenshots (scripts/screenshots.ts) and the time-to-first-byte
// measurement (scripts/dashboard-ttfb.ts): a migrated database, runs seeded over the last days,
// and a real `bin/manage dashboard` serving it.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import type {Knex} from 'knex'
import {configFromUrl, openDatabase} from '../src/core/db/database'
import {migrate} from '../src/core/db/migrations'
import {timeCodec} from '../src/core/run-log/time-codec'
import {startDashboard} from '../test/helpers/dashboard'
import {ROOT} from '../test/helpers/cli'

export const DEMO_TOKEN = 'demo-dashboard-token-0123456789abcdef'
export const DEMO_CRONS = 'SuccessJob,FailJob,AtTimesJob,CronExprJob'
export const DEMO_CODES = ['test.success', 'test.fail', 'test.at_times', 'test.cron_expr']
const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'cli-settings.cjs')
const NO_MIGRATIONS = path.join(tmpdir(), 'manage-no-project-migrations')

export interface Demo {
  url: string
  databaseUrl: string
  db: Knex
  stop(): Promise<void>
}

/**
 * `runs` rows spread over the demo jobs and the last `days` days, newest now: durations that
 * wander, a failure now and then (with a stack), a slot for the timed job; then the dashboard.
 */
export async function startDemo(options: {databaseUrl?: string; runs: number; days?: number}): Promise<Demo> {
  const dir = mkdtempSync(path.join(tmpdir(), 'manage-demo-'))
  const databaseUrl = options.databaseUrl ?? `sqlite://${path.join(dir, 'db.sqlite3')}`
  const config = configFromUrl(databaseUrl, ROOT)
  const db = openDatabase(config)
  await migrate(db, {source: NO_MIGRATIONS, build: NO_MIGRATIONS})
  await seed(db, config.dialect, options.runs, options.days ?? 3)
  const env = {TEST_CRONS: DEMO_CRONS, TEST_DIR: dir, MANAGE_SETTINGS: SETTINGS, DATABASE_URL: databaseUrl, MANAGE_DASHBOARD_TOKEN: DEMO_TOKEN}
  const dashboard = await startDashboard(env)
  return {
    url: dashboard.url,
    databaseUrl,
    db,
    async stop() {
      await dashboard.stop()
      await db.destroy()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

async function seed(db: Knex, dialect: 'sqlite' | 'postgres' | 'mysql', count: number, days: number): Promise<void> {
  const time = timeCodec(dialect)
  const now = Date.now()
  const span = days * 24 * 60 * 60_000
  await db('cron_job').insert(DEMO_CODES.map((code) => ({code})))
  let random = 20261202
  const next = () => ((random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const rows: Array<Record<string, unknown>> = []
  for (let i = 0; i < count; i++) {
    const code = DEMO_CODES[i % DEMO_CODES.length]
    const start = now - span + Math.floor((i / count) * span)
    const failed = code === 'test.fail' ? next() < 0.5 : next() < 0.04
    const duration = Math.round(800 + 400 * Math.sin(i / 40) + next() * 600 + (failed ? 3000 : 0))
    rows.push({
      code,
      status: failed ? (next() < 0.2 ? 'timed_out' : 'failed') : 'succeeded',
      start_time: time.toDb(start),
      end_time: time.toDb(start + duration),
      message: failed ? `Error: upstream answered 502 Bad Gateway\n    at FetchJob.do (/srv/app/dist/crons/fetch.js:31:13)\n    at runJob (/srv/app/node_modules/manage-cli/dist/src/core/tick/job-run.js:88:21)` : `sent ${Math.floor(next() * 500)} items`,
      ran_at_time: code === 'test.at_times' ? '12:00' : null,
      host: i % 3 === 0 ? 'web2' : 'web1',
      pid: 1000 + (i % 97),
    })
    if (rows.length === 500) await db.batchInsert('cron_job_log', rows.splice(0), 500)
  }
  if (rows.length) await db.batchInsert('cron_job_log', rows, 500)
  await db('cron_tick').insert([
    {host: 'web1', pid: 4242, version: '0.1.0', tick_at: time.toDb(now - 20_000), first_tick_at: time.toDb(now - span)},
    {host: 'web2', pid: 4343, version: '0.1.0', tick_at: time.toDb(now - 45 * 60_000), first_tick_at: time.toDb(now - span)},
  ])
}
