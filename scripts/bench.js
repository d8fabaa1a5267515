#!/usr/bin/env node
// Start-up and per-tick cost of `manage` (run by `npm run bench`, which builds first).
//
// The cases run round-robin (one of each per round, BENCH_REPS rounds, default 15), so a slow
// spell of the machine hits them all alike; the table gives the median and the min, and each
// median as a multiple of `node -e 0`'s median in the same run. Every child runs without
// NODE_EXTRA_CA_CERTS (the crontab does not set it; it adds ~34 ms to each node start), the
// baseline included. Peak RSS comes from separate, untimed runs under `/usr/bin/time -f %M`.
// Databases are fresh sqlite files in a temp folder; whatever is prepared (migrating, seeding,
// copying a fresh database for the all-due case) happens outside the timed part.
'use strict'
const {spawnSync} = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..')
const BIN = path.join(ROOT, 'bin', 'manage')
const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'bench-settings.cjs')
const RESULTS = path.join(ROOT, 'bench-results.md')
const REPS = wholeNumber(process.env.BENCH_REPS, 15)
const RSS_REPS = Math.min(REPS, 3)
const NOW = '2026-03-02T10:00:00.000Z'
const NOW_MS = Date.parse(NOW)
const TIME = '/usr/bin/time'

function wholeNumber(raw, fallback) {
  const value = Number(raw)
  return raw && Number.isInteger(value) && value > 0 ? value : fallback
}

if (/^postgres(ql)?:/i.test(process.env.DATABASE_URL || '')) {
  console.log('postgres: not yet supported by the bench')
  process.exit(0)
}

/** The crontab's environment: no NODE_EXTRA_CA_CERTS, no colour, nothing of ours unless given. */
function childEnv(extra = {}) {
  const env = {...process.env, NO_COLOR: '1', ...extra}
  for (const name of ['NODE_EXTRA_CA_CERTS', 'FORCE_COLOR', 'MANAGE_SETTINGS', 'MANAGE_NOW', 'DATABASE_URL', 'BENCH_JOBS', 'BENCH_DUE']) {
    if (!(name in extra)) delete env[name]
  }
  return env
}

function run(argv, env, {rssFile} = {}) {
  const [command, args] = rssFile ? [TIME, ['-f', '%M', '-o', rssFile, ...argv]] : [argv[0], argv.slice(1)]
  const started = process.hrtime.bigint()
  const result = spawnSync(command, args, {cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024})
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (result.error) throw result.error
  return {ms, status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr}
}

function fail(what, result) {
  console.error(`bench: ${what} (exit ${result.status}${result.signal ? `, signal ${result.signal}` : ''})`)
  if (result.stdout) console.error(`stdout:\n${result.stdout.slice(0, 4000)}`)
  if (result.stderr) console.error(`stderr:\n${result.stderr.slice(0, 4000)}`)
  process.exit(1)
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-bench-'))
process.on('exit', () => fs.rmSync(work, {recursive: true, force: true}))
const sqliteUrl = (file) => `sqlite://${file}`

/** A migrated sqlite file (by `manage migrate`), checkpointed so that the file alone is the database. */
async function migratedDatabase(file) {
  const result = run([process.execPath, BIN, 'migrate'], childEnv({DATABASE_URL: sqliteUrl(file)}))
  if (result.status !== 0) fail(`manage migrate of ${file} failed`, result)
  await withKnex(file, (db) => db.raw('PRAGMA wal_checkpoint(TRUNCATE)'))
}

async function withKnex(file, body) {
  const knex = require(require.resolve('knex', {paths: [ROOT]}))
  const db = knex({client: 'sqlite3', connection: {filename: file}, useNullAsDefault: true, pool: {min: 1, max: 1}})
  try {
    return await body(db)
  } finally {
    await db.destroy()
  }
}

/** None due: each bench.job.N has a success that started one minute before NOW (runEveryMins = 60). */
async function seedRecentSuccesses(file, count) {
  const start = new Date(NOW_MS - 60_000).toISOString()
  const end = new Date(NOW_MS - 59_000).toISOString()
  const codes = Array.from({length: count}, (_, i) => `bench.job.${i}`)
  await withKnex(file, async (db) => {
    await db.transaction(async (trx) => {
      await trx.batchInsert('cron_job', codes.map((code) => ({code})), 200)
      await trx.batchInsert(
        'cron_job_log',
        codes.map((code) => ({code, status: 'succeeded', start_time: start, end_time: end, host: 'bench', pid: 1})),
        200,
      )
    })
    await db.raw('PRAGMA wal_checkpoint(TRUNCATE)')
  })
}

const count = (text, needle) => text.split(needle).length - 1

function checkRuncrons(label, result, {jobs, due}) {
  if (result.status !== 0) fail(`${label}: runcrons failed`, result)
  const ran = count(result.stdout, '[✔]')
  const notDue = count(result.stdout, '[ ]')
  if (due ? ran !== jobs : ran !== 0 || notDue !== jobs) {
    fail(`${label}: expected ${due ? `${jobs} jobs to run` : `${jobs} jobs not due`}, saw ${ran} ran and ${notDue} not due`, result)
  }
}

async function main() {
  // Preparation (untimed): one migrated template; the none-due databases seeded from it.
  const template = path.join(work, 'template.sqlite3')
  await migratedDatabase(template)
  const noneDue = {}
  for (const jobs of [10, 1000]) {
    noneDue[jobs] = path.join(work, `none-due-${jobs}.sqlite3`)
    fs.copyFileSync(template, noneDue[jobs])
    await seedRecentSuccesses(noneDue[jobs], jobs)
  }
  let fresh = 0
  const freshCopy = () => {
    const file = path.join(work, `all-due-${fresh++}.sqlite3`)
    fs.copyFileSync(template, file)
    return file
  }

  const runcrons = [process.execPath, BIN, 'runcrons', '--settings', SETTINGS]
  const cases = [
    {name: '`node -e 0`', argv: () => [process.execPath, '-e', '0'], env: () => childEnv()},
    {name: '`manage --version`', argv: () => [process.execPath, BIN, '--version'], env: () => childEnv(), check: (r) => r.status === 0 || fail('manage --version failed', r)},
    ...[10, 1000].map((jobs) => ({
      name: `\`manage runcrons\`, ${jobs.toLocaleString('en')} jobs, none due`,
      argv: () => runcrons,
      env: () => childEnv({DATABASE_URL: sqliteUrl(noneDue[jobs]), MANAGE_NOW: NOW, BENCH_JOBS: String(jobs)}),
      check: (r, label) => checkRuncrons(label, r, {jobs, due: false}),
    })),
    {
      name: '`manage runcrons`, 100 trivial jobs, all due',
      argv: () => runcrons,
      // A fresh copy of the migrated database for every run, made before the clock starts.
      env: () => childEnv({DATABASE_URL: sqliteUrl(freshCopy()), MANAGE_NOW: NOW, BENCH_JOBS: '100', BENCH_DUE: '1'}),
      check: (r, label) => checkRuncrons(label, r, {jobs: 100, due: true}),
    },
  ]
  for (const c of cases) Object.assign(c, {times: [], rss: []})

  const hasTime = fs.existsSync(TIME) && spawnSync(TIME, ['-f', '%M', 'true'], {encoding: 'utf8'}).status === 0
  const rssFile = path.join(work, 'rss.txt')

  // One untimed warm-up run of each (file cache, and a check that every case does what it says).
  for (const c of cases) {
    const result = run(c.argv(), c.env())
    c.check?.(result, `${c.name} (warm-up)`)
  }

  for (let round = 0; round < REPS; round++) {
    for (const c of cases) {
      const env = c.env() // may copy a database: outside the timed part
      const result = run(c.argv(), env)
      c.check?.(result, `${c.name} (round ${round + 1})`)
      c.times.push(result.ms)
      if (hasTime && round < RSS_REPS) {
        const measured = run(c.argv(), c.env(), {rssFile})
        c.check?.(measured, `${c.name} (RSS run)`)
        c.rss.push(Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()))
      }
    }
    process.stderr.write(`\rround ${round + 1}/${REPS}`)
  }
  process.stderr.write('\n')

  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b)
    const middle = sorted.length >> 1
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  }
  const baseline = median(cases[0].times)
  const header = hasTime ? ['case', 'median ms', 'min ms', '× `node -e 0`', 'peak RSS MB'] : ['case', 'median ms', 'min ms', '× `node -e 0`']
  const rows = cases.map((c) => {
    const row = [c.name, median(c.times).toFixed(1), Math.min(...c.times).toFixed(1), (median(c.times) / baseline).toFixed(1)]
    if (hasTime) row.push((median(c.rss) / 1024).toFixed(1))
    return row
  })
  const right = header.map((_, i) => i > 0)
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells) => `| ${cells.map((cell, i) => (right[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join(' | ')} |`
  const table = [line(header), `|${widths.map((w, i) => (right[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...rows.map(line)]

  const notes = [
    `# manage bench — ${new Date().toISOString()}`,
    '',
    `Node ${process.version}, ${os.cpus().length} CPU(s) (${os.cpus()[0]?.model ?? '?'}), ${os.platform()} ${os.release()}; ` +
      `${REPS} interleaved runs per case (round-robin), after one warm-up run each; wall time of the child process, spawned from Node.`,
    `Every child runs without NODE_EXTRA_CA_CERTS; sqlite databases in ${os.tmpdir()} (WAL); MANAGE_NOW=${NOW}; ` +
      `jobs from test/fixtures/bench-settings.cjs (runEveryMins = 60; none due = a success one minute before MANAGE_NOW; all due = a fresh migrated database per run).`,
    hasTime
      ? `Peak RSS: median of ${RSS_REPS} separate untimed runs per case under \`${TIME} -f %M\`.`
      : `Peak RSS: skipped (${TIME} is not available).`,
    '',
    ...table,
    '',
  ]
  const text = notes.join('\n')
  process.stdout.write(text)
  fs.writeFileSync(RESULTS, text)
  console.log(`(written to ${path.relative(process.cwd(), RESULTS) || RESULTS})`)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
