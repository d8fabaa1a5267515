#!/usr/bin/env node
// The claim race of test/processes/lock-race.test.ts, at length (run by `npm run stress`, which builds first).
//
// For each backend, a fresh database; every tick, STRESS_PROCESSES real `bin/manage runcrons`
// processes start at the same MANAGE_NOW, wait at a barrier (test/fixtures/race-settings.cjs) so
// their claims land together, and race for two due jobs: race.plain and race.parallel
// (allowParallelRuns). The next tick is one period (5 min) later. Each execution inserts a row
// into executions(code, tick, pid); at the end every tick must have exactly one execution per job
// (no loss, no duplicate), one succeeded run-log row per job and tick and no other rows, every
// process must have exited 0 with an empty stderr (no SQLITE_BUSY / database is locked / deadlock),
// and every claim must be released.
//
//   STRESS_TICKS      ticks per backend (default 200)
//   STRESS_PROCESSES  processes per tick (default 8)
//   STRESS_BACKENDS   comma-separated, from sqlite,postgres,mysql (default: all three)
//   MANAGE_TEST_POSTGRES_URL / MANAGE_TEST_MYSQL_URL  the servers (as for the tests)
//
// Server databases are created as manage_stress_<pid>_<random> and dropped at the end (also after
// a failure or Ctrl-C); sqlite uses a file in a temporary folder. Exit status 1 on any duplicate,
// loss or failure.
'use strict'
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const {ROOT, ALL_BACKENDS, knobs, start, createDatabase, printTable, iso} = require('./stress-common')

const {wholeNumber, list, requireBuild} = knobs('stress')
requireBuild('stress')
const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'race-settings.cjs')
const {configFromUrl, openDatabase} = require(path.join(ROOT, 'dist', 'src', 'core', 'db', 'database.js'))

const TICKS = wholeNumber('STRESS_TICKS', 200)
const PROCESSES = wholeNumber('STRESS_PROCESSES', 8)
const BACKENDS = list('STRESS_BACKENDS', ALL_BACKENDS)
const START = Date.parse('2026-03-02T10:00:00.000Z')
const PERIOD = 5 * 60_000
const JOBS = [
  ['plain', 'race.plain'],
  ['parallel', 'race.parallel'],
]
const CONTENTION = /SQLITE_BUSY|database is locked|deadlock/i
/** How many failing processes are shown in full (the rest are only counted). */
const SHOW_FAILURES = 3

let interrupted = false
process.on('SIGINT', () => {
  if (interrupted) process.exit(130)
  interrupted = true
  console.error('\nstress: SIGINT: stopping after this tick and dropping the databases (again to quit now)')
})

/** The crontab's environment: no NODE_EXTRA_CA_CERTS (it costs ~34 ms per start), no colour, nothing of ours. */
function childEnv(extra) {
  // MANAGE_NOW stands in for the real time here, on purpose: no warning line for it (a crontab tick has none).
  const env = {...process.env, NO_COLOR: '1', MANAGE_NOW_QUIET: '1', ...extra}
  for (const name of ['NODE_EXTRA_CA_CERTS', 'FORCE_COLOR', 'MANAGE_SETTINGS']) delete env[name]
  return env
}

async function waitFor(what, condition, timeoutMs, abort) {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    const reason = abort()
    if (reason) throw new Error(`while waiting for ${what}: ${reason}`)
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** One tick: `count` racers at MANAGE_NOW = nowMs, released together through the barrier. */
async function tick(url, dir, nowMs, count, barrier) {
  const env = childEnv({DATABASE_URL: url, MANAGE_NOW: iso(nowMs), RACE_MODE: JOBS.map(([mode]) => mode).join(','), RACE_DIR: dir, RACE_BARRIER: barrier})
  const racers = Array.from({length: count}, () => start(['runcrons', '--settings', SETTINGS], env))
  const exited = []
  racers.forEach((racer) => racer.done.then((exit) => exited.push(exit)))
  const ready = () => fs.readdirSync(dir).filter((name) => name.startsWith(`ready-${barrier}-`)).length
  try {
    await waitFor(`${count} racers to reach the barrier`, () => ready() === count, 60_000, () =>
      exited.length > 0 ? `a racer exited before the barrier (exit ${exited[0].code}):\n${exited[0].stdout}${exited[0].stderr}` : null,
    )
  } finally {
    fs.writeFileSync(path.join(dir, `go-${barrier}`), '') // never leave racers stuck
  }
  const exits = await Promise.all(racers.map((racer) => racer.done))
  for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), {force: true})
  return exits
}

function plainTime(value) {
  return value instanceof Date ? value.toISOString() : String(value)
}

/** Run the scenario on one backend; returns one table row per job. */
async function stressBackend(backend) {
  const started = performance.now()
  const database = await createDatabase(backend)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-stress-markers-'))
  let db
  try {
    const migrated = await start(['migrate'], childEnv({DATABASE_URL: database.url})).done
    if (migrated.code !== 0) throw new Error(`manage migrate failed (exit ${migrated.code}):\n${migrated.stdout}${migrated.stderr}`)
    db = openDatabase(configFromUrl(database.url, ROOT))
    await db.schema.createTable('executions', (table) => {
      table.increments('id')
      table.string('code').notNullable()
      table.string('tick').notNullable()
      table.integer('pid').notNullable()
    })

    const ticks = []
    const failures = [] // processes that exited non-zero or wrote to stderr
    let contention = 0
    let ticksRun = 0
    const raceStarted = performance.now()
    for (let round = 0; round < TICKS && !interrupted; round++) {
      const nowMs = START + round * PERIOD
      ticks.push(iso(nowMs))
      const exits = await tick(database.url, dir, nowMs, PROCESSES, String(round))
      ticksRun++
      for (const exit of exits) {
        if (CONTENTION.test(exit.stderr)) contention++
        if (exit.code !== 0 || exit.stderr !== '') {
          failures.push(exit)
          if (failures.length <= SHOW_FAILURES) {
            console.error(`stress: ${backend} tick ${round} (${iso(nowMs)}): pid ${exit.pid} exited ${exit.code}${exit.signal ? ` (${exit.signal})` : ''}\n  stdout: ${exit.stdout.trim().replace(/\n/g, '\n          ')}\n  stderr: ${exit.stderr.trim().replace(/\n/g, '\n          ')}`)
          }
        }
      }
      if ((round + 1) % 25 === 0 && round + 1 < TICKS) {
        const seconds = (performance.now() - raceStarted) / 1000
        console.error(`stress: ${backend}: ${round + 1}/${TICKS} ticks, ${seconds.toFixed(0)} s, ${failures.length} failing process(es)`)
      }
    }
    const raceMs = performance.now() - raceStarted

    const rows = []
    const executions = await db('executions').select('code', 'tick')
    const logRows = await db('cron_job_log').select('code', 'status', 'start_time')
    const locks = await db('cron_job').select('code', 'lock_token')
    for (const [mode, code] of JOBS) {
      const perTick = new Map()
      for (const row of executions.filter((row) => row.code === code)) perTick.set(row.tick, (perTick.get(row.tick) ?? 0) + 1)
      const seen = [...perTick.values()].reduce((sum, n) => sum + n, 0)
      const duplicates = [...perTick.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0)
      const losses = ticks.filter((t) => !perTick.has(t)).length
      const unexpected = [...perTick.keys()].filter((t) => !ticks.includes(t)).length
      const mine = logRows.filter((row) => row.code === code)
      // One succeeded row per tick, at that tick, and nothing else (no failed, running or interrupted row).
      const succeededTimes = mine.filter((row) => row.status === 'succeeded').map((row) => plainTime(row.start_time))
      const succeeded = new Set(succeededTimes)
      const badRows =
        mine.length - succeededTimes.length + // not succeeded
        (succeededTimes.length - succeeded.size) + // two succeeded rows for one tick
        ticks.filter((t) => !succeeded.has(t)).length + // a tick with none
        [...succeeded].filter((t) => !ticks.includes(t)).length // a row at no tick
      const held = locks.filter((row) => row.code === code && row.lock_token !== null).length
      rows.push({
        backend,
        job: mode,
        processes: PROCESSES,
        ticks: ticksRun,
        expected: ticksRun,
        seen,
        duplicates: duplicates + unexpected,
        losses,
        failures: failures.length,
        contention,
        'bad log rows': badRows,
        'locks held': held,
        wall: `${(raceMs / 1000).toFixed(1)} s`,
        'ms/tick': Math.round(raceMs / Math.max(1, ticksRun)),
      })
    }
    return rows
  } finally {
    if (db) await db.destroy().catch(() => undefined)
    fs.rmSync(dir, {recursive: true, force: true})
    await database.drop().catch((error) => console.error(`stress: could not drop ${database.name}: ${error.message}`))
    console.error(`stress: ${backend} done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }
}

/** The newest change time under dist/: a rebuild during the run (tsc rewriting files) makes starting processes fail. */
function distStamp() {
  let newest = 0
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else newest = Math.max(newest, fs.statSync(full).mtimeMs)
    }
  }
  walk(path.join(ROOT, 'dist'))
  return newest
}

async function main() {
  const builtAt = distStamp()
  console.log(`stress: ${TICKS} ticks × ${PROCESSES} processes on ${BACKENDS.join(', ')} (node ${process.version}, ${os.cpus().length} CPUs)`)
  const rows = []
  let broken = false
  for (const backend of BACKENDS) {
    if (interrupted) break
    try {
      rows.push(...(await stressBackend(backend)))
    } catch (error) {
      broken = true
      console.error(`stress: ${backend}: ${error.stack || error}`)
    }
  }
  console.log('')
  printTable(rows)
  const bad = rows.filter(
    (row) => row.duplicates > 0 || row.losses > 0 || row.failures > 0 || row.contention > 0 || row['bad log rows'] > 0 || row['locks held'] > 0 || row.seen !== row.expected,
  )
  if (interrupted) {
    console.log('\nstress: interrupted')
    process.exit(130)
  }
  if (distStamp() !== builtAt) console.log('\nstress: WARNING: dist/ was rebuilt during the run; processes started meanwhile may have failed for that reason alone')
  if (broken || bad.length > 0) {
    console.log(`\nstress: FAILED (${[broken ? 'a backend could not run' : '', ...bad.map((row) => `${row.backend}/${row.job}`)].filter(Boolean).join(', ')})`)
    process.exit(1)
  }
  console.log(`\nstress: OK: every tick ran each job exactly once`)
}

main().catch((error) => {
  console.error(`stress: ${error.stack || error}`)
  process.exit(1)
})
