// `npm run bench:dashboard`: time to first byte of the dashboard's pages with 100,000 runs in the
// log, on sqlite and on PostgreSQL (a fresh database beside MANAGE_TEST_POSTGRES_URL's, default
// the local test server): the jobs page, a job's page, its history and an older page of it.
import http from 'node:http'
import {configFromUrl, openDatabase} from '../src/core/db/database'
import {ROOT} from '../test/helpers/cli'
import {DEMO_TOKEN, startDemo} from './dashboard-demo'

const RUNS = Number(process.env.DASHBOARD_RUNS || 100_000)
const REPS = 20
const PG = process.env.MANAGE_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test'

/** Milliseconds from sending the request to the first byte of the answer. */
function ttfb(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    http
      .get(url, {headers: {authorization: `Bearer ${DEMO_TOKEN}`}}, (response) => {
        response.once('data', () => resolve(Number(process.hrtime.bigint() - started) / 1e6))
        if (response.statusCode !== 200) reject(new Error(`${url}: ${response.statusCode}`))
        response.resume()
      })
      .on('error', reject)
  })
}

async function measure(label: string, databaseUrl?: string): Promise<string[]> {
  const started = Date.now()
  const demo = await startDemo({databaseUrl, runs: RUNS, days: 30})
  const seeded = ((Date.now() - started) / 1000).toFixed(0)
  try {
    const middle = (await demo.db('cron_job_log').where({code: 'test.fail'}).orderBy('id').offset(Math.floor(RUNS / 8)).first('id')).id
    const pages: Array<[string, string]> = [
      ['jobs page (/)', ''],
      ['a job (/jobs/test.fail)', 'jobs/test.fail'],
      ['its history, first page', 'jobs/test.fail/runs'],
      ['its history, an older page (before=)', `jobs/test.fail/runs?before=${middle}`],
      ['its history, failed only', 'jobs/test.fail/runs?status=failed'],
    ]
    const rows: string[] = []
    for (const [name, path] of pages) {
      await ttfb(demo.url + path) // warm
      const times: number[] = []
      for (let i = 0; i < REPS; i++) times.push(await ttfb(demo.url + path))
      times.sort((a, b) => a - b)
      rows.push(`| ${label} | ${name} | ${times[REPS >> 1].toFixed(1)} | ${times[0].toFixed(1)} | ${times[REPS - 1].toFixed(1)} |`)
    }
    console.error(`${label}: ${RUNS.toLocaleString('en')} runs seeded in ${seeded} s`)
    return rows
  } finally {
    await demo.stop()
  }
}

async function main(): Promise<void> {
  const rows = [...(await measure('sqlite'))]
  const admin = openDatabase(configFromUrl(PG, ROOT))
  const name = `manage_ttfb_${process.pid}`
  try {
    await admin.raw(`CREATE DATABASE ${name}`)
    const url = new URL(PG)
    url.pathname = `/${name}`
    rows.push(...(await measure('PostgreSQL', url.toString())))
  } finally {
    await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined)
    await admin.destroy()
  }
  console.log(`Time to first byte, ${RUNS.toLocaleString('en')} runs in the log, ${REPS} requests each (ms):\n`)
  console.log('| database | page | median | min | max |\n|---|---|---:|---:|---:|')
  for (const row of rows) console.log(row)
}

main().catch((error: unknown) => {
  console.error(`bench:dashboard: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
