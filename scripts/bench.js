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
//
// BENCH_COMPARE=<folder of another built checkout> (e.g. a `git worktree` of the previous commit,
// built, with its node_modules) runs every manage case of that checkout too, interleaved in the
// same rounds, and adds a before/after table: the way to show what a change did to the tick.
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
const COMPARE = process.env.BENCH_COMPARE ? path.resolve(process.env.BENCH_COMPARE) : null
if (COMPARE && !fs.existsSync(path.join(COMPARE, 'dist', 'src'))) {
  console.error(`bench: BENCH_COMPARE=${COMPARE} has no dist/src: build that checkout first`)
  process.exit(1)
}

function wholeNumber(raw, fallback) {
  const value = Number(raw)
  return raw && Number.isInteger(value) && value > 0 ? value : fallback
}

// The PostgreSQL case: DATABASE_URL when it points at PostgreSQL (a fresh database is made beside
// it), else the test server (MANAGE_TEST_POSTGRES_URL, default the local one); skipped if unreachable.
const PG_SERVER = /^postgres(ql)?:/i.test(process.env.DATABASE_URL || '')
  ? process.env.DATABASE_URL
  : process.env.MANAGE_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test'

/** The crontab's environment: no NODE_EXTRA_CA_CERTS, no colour, nothing of ours unless given. */
function childEnv(extra = {}) {
  // MANAGE_NOW stands in for the real time here, on purpose: no warning line for it (a crontab tick has none).
  const env = {...process.env, NO_COLOR: '1', MANAGE_NOW_QUIET: '1', ...extra}
  for (const name of ['NODE_EXTRA_CA_CERTS', 'FORCE_COLOR', 'MANAGE_SETTINGS', 'MANAGE_NOW', 'DATABASE_URL', 'BENCH_JOBS', 'BENCH_DUE', 'BENCH_PLUS_DUE', 'BENCH_ALERTS', 'BENCH_FLOOR_WRITES', 'MANAGE_NO_FAST_PATH', 'MANAGE_SQL_COUNT', 'BENCH_COMPARE']) {
    if (!(name in extra)) delete env[name]
  }
  return env
}

function run(argv, env, {rssFile, cwd = ROOT} = {}) {
  const [command, args] = rssFile ? [TIME, ['-f', '%M', '-o', rssFile, ...argv]] : [argv[0], argv.slice(1)]
  const started = process.hrtime.bigint()
  const result = spawnSync(command, args, {cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024})
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

/** A fresh PostgreSQL database, migrated and seeded like the sqlite none-due one; null when the server is not there. */
async function postgresNoneDue(jobs) {
  const knex = require(require.resolve('knex', {paths: [ROOT]}))
  const name = `manage_bench_${process.pid}`
  const admin = knex({client: 'pg', connection: PG_SERVER})
  try {
    await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.raw(`CREATE DATABASE ${name}`)
  } catch (error) {
    console.error(`bench: PostgreSQL case skipped (${PG_SERVER.replace(/:[^:@/]*@/, ':***@')}: ${error.message})`)
    return null
  } finally {
    await admin.destroy()
  }
  const url = new URL(PG_SERVER)
  url.pathname = `/${name}`
  process.on('exit', () => spawnSync(process.execPath, ['-e', `const k=require(${JSON.stringify(require.resolve('knex', {paths: [ROOT]}))})({client:'pg',connection:${JSON.stringify(PG_SERVER)}});k.raw('DROP DATABASE IF EXISTS ${name} WITH (FORCE)').finally(()=>k.destroy())`]))
  const migrated = run([process.execPath, BIN, 'migrate'], childEnv({DATABASE_URL: url.toString()}))
  if (migrated.status !== 0) fail('manage migrate on PostgreSQL failed', migrated)
  const db = knex({client: 'pg', connection: url.toString()})
  try {
    const codes = Array.from({length: jobs}, (_, i) => `bench.job.${i}`)
    await db.batchInsert('cron_job', codes.map((code) => ({code})), 200)
    const start = new Date(NOW_MS - 60_000)
    await db.batchInsert('cron_job_log', codes.map((code) => ({code, status: 'succeeded', start_time: start, end_time: new Date(NOW_MS - 59_000), host: 'bench', pid: 1})), 200)
  } finally {
    await db.destroy()
  }
  return url.toString()
}

function checkRuncrons(label, result, {jobs, due, notDue: expectedNotDue = due ? 0 : jobs}) {
  if (result.status !== 0) fail(`${label}: runcrons failed`, result)
  const ran = count(result.stdout, '[✔]')
  const notDue = count(result.stdout, '[ ]')
  if ((due ? ran !== jobs : ran !== 0) || notDue !== expectedNotDue) {
    fail(`${label}: expected ${due ? jobs : 0} jobs to run and ${expectedNotDue} not due, saw ${ran} ran and ${notDue} not due`, result)
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
  // A fresh copy of a prepared database for every run that writes to it, made before the clock starts:
  // the migrated template (every job due), or a none-due one (the floor; 1,000 jobs with one due).
  let copies = 0
  const copyOf = (source) => {
    const file = path.join(work, `copy-${copies++}.sqlite3`)
    fs.copyFileSync(source, file)
    return file
  }
  const freshCopy = () => copyOf(template)

  const postgres = await postgresNoneDue(10)

  // Every manage case, for one checkout: this one, or BENCH_COMPARE's (its bin and its fixture).
  const manageCases = (root, label) => {
    const bin = path.join(root, 'bin', 'manage')
    const runcrons = [process.execPath, bin, 'runcrons', '--settings', path.join(root, 'test', 'fixtures', 'bench-settings.cjs')]
    return [
      {name: '`manage --version`', argv: () => [process.execPath, bin, '--version'], env: () => childEnv(), check: (r) => r.status === 0 || fail('manage --version failed', r)},
      ...[10, 1000].map((jobs) => ({
        name: `\`manage runcrons\`, ${jobs.toLocaleString('en')} jobs, none due`,
        argv: () => runcrons,
        env: () => childEnv({DATABASE_URL: sqliteUrl(noneDue[jobs]), MANAGE_NOW: NOW, BENCH_JOBS: String(jobs)}),
        check: (r, label) => checkRuncrons(label, r, {jobs, due: false}),
      })),
      {
        name: '`manage runcrons`, 10 jobs, none due, full command (no fast path)',
        argv: () => runcrons,
        env: () => childEnv({DATABASE_URL: sqliteUrl(noneDue[10]), MANAGE_NOW: NOW, BENCH_JOBS: '10', MANAGE_NO_FAST_PATH: '1'}),
        check: (r, label) => checkRuncrons(label, r, {jobs: 10, due: false}),
      },
      {
        name: '`manage runcrons`, 10 jobs, none due, alerts configured',
        argv: () => runcrons,
        env: () => childEnv({DATABASE_URL: sqliteUrl(noneDue[10]), MANAGE_NOW: NOW, BENCH_JOBS: '10', BENCH_ALERTS: '1'}),
        check: (r, label) => checkRuncrons(label, r, {jobs: 10, due: false}),
      },
      ...(postgres
        ? [
            {
              name: '`manage runcrons`, 10 jobs, none due, PostgreSQL',
              argv: () => runcrons,
              env: () => childEnv({DATABASE_URL: postgres, MANAGE_NOW: NOW, BENCH_JOBS: '10'}),
              check: (r, label) => checkRuncrons(label, r, {jobs: 10, due: false}),
            },
          ]
        : []),
      // Something due every minute (a heartbeat, a queue flush) is the common real case: every tick runs one job.
      ...[1, 100].map((jobs) => ({
        name: `\`manage runcrons\`, ${jobs === 1 ? '1 trivial job, due' : `${jobs} trivial jobs, all due`}`,
        due: jobs,
        argv: () => runcrons,
        // A fresh copy of the migrated database for every run, made before the clock starts.
        env: () => childEnv({DATABASE_URL: sqliteUrl(freshCopy()), MANAGE_NOW: NOW, BENCH_JOBS: String(jobs), BENCH_DUE: '1'}),
        check: (r, label) => checkRuncrons(label, r, {jobs, due: true}),
      })),
      // The same 100 on the crontab line `--concurrency 4` (the fast path's form, no oclif): four at a time.
      {
        name: '`manage runcrons --concurrency 4`, 100 trivial jobs, all due',
        argv: () => [...runcrons, '--concurrency', '4'],
        env: () => childEnv({DATABASE_URL: sqliteUrl(freshCopy()), MANAGE_NOW: NOW, BENCH_JOBS: '100', BENCH_DUE: '1'}),
        check: (r, label) => checkRuncrons(label, r, {jobs: 100, due: true}),
      },
      // The common minute of a large project: one of 1,000 jobs due.
      {
        name: '`manage runcrons`, 1,000 jobs, 1 due',
        argv: () => runcrons,
        env: () => childEnv({DATABASE_URL: sqliteUrl(copyOf(noneDue[1000])), MANAGE_NOW: NOW, BENCH_JOBS: '1000', BENCH_PLUS_DUE: '1'}),
        check: (r, label) => checkRuncrons(label, r, {jobs: 1, due: true, notDue: 1000}),
      },
      {
        name: '`manage runcrons`, 1 trivial job, due, alerts configured',
        argv: () => runcrons,
        env: () => childEnv({DATABASE_URL: sqliteUrl(freshCopy()), MANAGE_NOW: NOW, BENCH_JOBS: '1', BENCH_DUE: '1', BENCH_ALERTS: '1'}),
        check: (r, label) => checkRuncrons(label, r, {jobs: 1, due: true}),
      },
    ].map((c) => ({...c, name: `${c.name}${label}`, plain: c.name, compared: Boolean(label), cwd: root}))
  }
  // With BENCH_COMPARE, each case of this checkout is followed by the same case of the other.
  const own = manageCases(ROOT, '')
  const other = COMPARE ? manageCases(COMPARE, ' [BENCH_COMPARE]') : []
  // The floor of a sqlite tick (scripts/bench-floor.js): node, the driver, one read and N durable commits, no manage at all.
  const floors = [1, 100].map((writes) => ({
    name: `floor: \`node\` + sqlite3, one read, ${writes === 1 ? 'one durable commit (a heartbeat)' : `${writes} durable commits (an outcome per due job)`}`,
    argv: () => [process.execPath, path.join(ROOT, 'scripts', 'bench-floor.js'), copyOf(noneDue[10])],
    env: () => childEnv({BENCH_FLOOR_WRITES: String(writes)}),
    check: (r) => r.status === 0 || fail('scripts/bench-floor.js failed', r),
  }))
  const cases = [{name: '`node -e 0`', argv: () => [process.execPath, '-e', '0'], env: () => childEnv()}, ...floors, ...own.flatMap((c, i) => (other[i] ? [c, other[i]] : [c]))]
  for (const c of cases) Object.assign(c, {times: [], rss: []})

  const hasTime = fs.existsSync(TIME) && spawnSync(TIME, ['-f', '%M', 'true'], {encoding: 'utf8'}).status === 0
  const rssFile = path.join(work, 'rss.txt')

  // One untimed warm-up run of each (file cache, a check that every case does what it says, and
  // the number of SQL statements it sends, which manage reports under MANAGE_SQL_COUNT).
  for (const c of cases) {
    const result = run(c.argv(), {...c.env(), MANAGE_SQL_COUNT: '1'}, {cwd: c.cwd})
    c.check?.(result, `${c.name} (warm-up)`)
    const counted = /manage: (\d+) SQL statement/.exec(result.stderr)
    c.statements = counted ? counted[1] : '-'
  }

  for (let round = 0; round < REPS; round++) {
    for (const c of cases) {
      const env = c.env() // may copy a database: outside the timed part
      const result = run(c.argv(), env, {cwd: c.cwd})
      c.check?.(result, `${c.name} (round ${round + 1})`)
      c.times.push(result.ms)
      if (hasTime && round < RSS_REPS) {
        const measured = run(c.argv(), c.env(), {rssFile, cwd: c.cwd})
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
  const header = ['case', 'median ms', 'min ms', '× `node -e 0`', 'SQL statements', ...(hasTime ? ['peak RSS MB'] : [])]
  const rows = cases.map((c) => {
    const row = [c.name, median(c.times).toFixed(1), Math.min(...c.times).toFixed(1), (median(c.times) / baseline).toFixed(2), c.statements]
    if (hasTime) row.push((median(c.rss) / 1024).toFixed(1))
    return row
  })
  // Framework cost per due job: what each of 99 more due jobs adds to a tick that runs one.
  const oneDue = own.find((c) => c.due === 1)
  const allDue = own.find((c) => c.due === 100)
  const perJob = (median(allDue.times) - median(oneDue.times)) / (allDue.due - oneDue.due)
  const byName = (start) => own.find((c) => c.name.startsWith(start))
  const tick10 = median(byName('`manage runcrons`, 10 jobs, none due').times)
  const tick1000 = median(byName('`manage runcrons`, 1,000 jobs').times)
  const pg = own.find((c) => c.name.endsWith('PostgreSQL'))
  const noop = byName('`manage runcrons`, 10 jobs, none due')
  const targets = [
    ['no-op tick, 10 jobs ≤ 2.0× `node -e 0`', tick10 / baseline, 2.0, '×'],
    ['1,000 jobs none due ≤ 1.3× the 10-job tick', tick1000 / tick10, 1.3, '×'],
    ['SQL statements per no-op tick ≤ 3, whatever the number of jobs', Math.max(Number(noop.statements), Number(byName('`manage runcrons`, 1,000 jobs').statements)), 3, ''],
    ['framework overhead per due job ≤ 1 ms', perJob, 1, ' ms'],
    ...(hasTime ? [['peak RSS of a no-op tick ≤ 64 MiB', median(noop.rss) / 1024, 64, ' MiB']] : []),
    ...(pg ? [['no-op tick on PostgreSQL ≤ 3.5× `node -e 0`', median(pg.times) / baseline, 3.5, '×']] : []),
    // Issue #21's, beside the floor under each (what node and the driver alone cost, in the same rounds).
    ['10 jobs none due ≤ 1.4× `node -e 0` (the floor with one commit: see its row)', tick10 / baseline, 1.4, '×'],
    ['1,000 jobs none due ≤ 2.0× `node -e 0`', tick1000 / baseline, 2.0, '×'],
    ['100 jobs all due ≤ 2.5× `node -e 0` (the floor with 100 commits: see its row)', median(allDue.times) / baseline, 2.5, '×'],
  ]
  const right = header.map((_, i) => i > 0)
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells) => `| ${cells.map((cell, i) => (right[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join(' | ')} |`
  const table = [line(header), `|${widths.map((w, i) => (right[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...rows.map(line)]

  // BENCH_COMPARE: each case's median here against the other checkout's, from the same rounds.
  const comparison = other.length
    ? [
        `Compared with ${COMPARE} (BENCH_COMPARE), in the same ${REPS} interleaved rounds (medians, ms):`,
        '',
        '| case | BENCH_COMPARE | this checkout | change |',
        '|---|---:|---:|---:|',
        ...own.map((c, i) => {
          const [before, after] = [median(other[i].times), median(c.times)]
          return `| ${c.plain} | ${before.toFixed(1)} | ${after.toFixed(1)} | ${after >= before ? '+' : ''}${(((after - before) / before) * 100).toFixed(1)} % |`
        }),
        '',
      ]
    : []

  const notes = [
    `# manage bench — ${new Date().toISOString()}`,
    '',
    `Node ${process.version}, ${os.cpus().length} CPU(s) (${os.cpus()[0]?.model ?? '?'}), ${os.platform()} ${os.release()}; ` +
      `${REPS} interleaved runs per case (round-robin), after one warm-up run each; wall time of the child process, spawned from Node.`,
    `Every child runs without NODE_EXTRA_CA_CERTS; sqlite databases in ${os.tmpdir()} (WAL); MANAGE_NOW=${NOW}; ` +
      `jobs from test/fixtures/bench-settings.cjs (runEveryMins = 60; none due = a success one minute before MANAGE_NOW; due = a fresh migrated database per run, so every job is due).`,
    hasTime
      ? `Peak RSS: median of ${RSS_REPS} separate untimed runs per case under \`${TIME} -f %M\`.`
      : `Peak RSS: skipped (${TIME} is not available).`,
    '',
    ...table,
    '',
    `Per due job (100 trivial jobs, all due, less 1 trivial job due, ÷ 99): ${perJob.toFixed(2)} ms.`,
    '',
    '| target | measured | holds |',
    '|---|---:|:---:|',
    ...targets.map(([what, value, limit, unit]) => `| ${what} | ${value.toFixed(2)}${unit} | ${value <= limit ? 'yes' : 'no'} |`),
    '',
    ...comparison,
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
