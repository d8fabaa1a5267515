#!/usr/bin/env node
// Exactly once with mixed runners (#19), in real time (run by `npm run stress:scheduler`, which builds first).
//
// For each backend, two phases, each on a fresh database, with the jobs of
// test/fixtures/mixed-runners-settings.cjs (every second, every 5 seconds, every minute, and a ~3 s job
// every 5 seconds; leaseSeconds = 10, the least the settings allow):
//
//  1. Three `bin/manage scheduler` processes, plus a `bin/manage runcrons` (the crontab tick) started
//     every TICK_EVERY_MS, for STRESS_SECONDS; then SIGTERM to the schedulers, no more ticks, and every
//     process must exit 0.
//  2. The same runners. Once the slow job runs in scheduler A, A gets SIGTERM: it must drain (exit 0,
//     that run recorded succeeded). Once the slow job runs in another scheduler B, B gets SIGKILL; the
//     rest go on past B's lease until the slow job has run again (at least RECOVERY_MS more). B's run
//     must be recorded 'interrupted' by the lease recovery (the status and message that
//     run-log/run-store.ts interruptStaleRunsOn writes), ending when its lease did, and the period
//     must not be lost: the slow job runs again once that lease is gone.
//
// The check, per job, on the run log (the decision rule's own data: the recorded starts):
//   - the interval rule (core/schedule/is-due.ts, runToleranceSeconds = 0 here) makes a job due at
//     `now` when now > S + interval, S being the latest start of a succeeded run or of a running run
//     whose lease is live. So a run starting at S owns the period (S, S + interval]: any run starting
//     in it is a DUPLICATE (consecutive starts ≤ interval apart). The every-minute job is the same
//     rule with a 60 s interval (runEveryMins is not aligned on minute slots).
//   - a LOSS is a due instant (S + interval + 1 ms) not served within ALLOWANCE_MS: a gap between
//     consecutive starts, or between the last start and the stop, above interval + 1 ms + ALLOWANCE_MS.
//     ALLOWANCE_MS is half the smallest interval (500 ms): the schedulers wake at the due instant
//     and start within tens of ms (the p50/p99 start delays printed below); a lost period of the
//     every-second job gives a gap near 2 s, and the crontab tick alone would serve the sub-minute jobs
//     about once per tick (3 s here, once a minute from cron), far above it. The every-minute job
//     has one tick period more (see allowanceOf: it is of the crontab's pace). The one exception is
//     a killed run of phase 2: its period is held by its lease, so the next start may come up to
//     lease expiry + one crontab tick + ALLOWANCE_MS after the lease ran out (any scheduler's wake
//     or the next tick recovers it).
//   - one do() per run (the fixture's calls.log, written as do() starts) and every run succeeded
//     (but the killed one).
// Exit status 1 with one line per duplicate, loss or unexpected exit code.
//
//   STRESS_SECONDS   phase 1's length, in seconds (default 60; from 60 on, phase 1 also waits for the
//                    every-minute job's second period: 4 s past its first start + 60 s)
//   STRESS_BACKENDS  comma-separated, from sqlite,postgres,mysql (default: all three)
//   STRESS_PHASES    comma-separated, from 1,2 (default: both)
//   MANAGE_TEST_POSTGRES_URL / MANAGE_TEST_MYSQL_URL  the servers (as for the tests)
'use strict'
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const common = require('./stress-common')

const {ROOT, ALL_BACKENDS, createDatabase, printTable, iso} = common
const {wholeNumber, list, requireBuild} = common.knobs('stress:scheduler')
requireBuild('stress:scheduler')
const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'mixed-runners-settings.cjs')
const {configFromUrl, openDatabase} = require(path.join(ROOT, 'dist', 'src', 'core', 'db', 'database.js'))

const SECONDS = wholeNumber('STRESS_SECONDS', 60)
const BACKENDS = list('STRESS_BACKENDS', ALL_BACKENDS)
const PHASES = list('STRESS_PHASES', ['1', '2'])
const SCHEDULERS = 3
const TICK_EVERY_MS = 3000
const LEASE_MS = 10_000 // the fixture's leaseSeconds
const ALLOWANCE_MS = 500
/** Phase 2: how long the runners go on after the SIGKILL, at least (past the killed run's lease). */
const RECOVERY_MS = 15_000
const JOBS = {
  'mixed.every_second': 1000,
  'mixed.every_5_seconds': 5000,
  'mixed.every_minute': 60_000,
  'mixed.slow': 5000,
}
/**
 * A job of the crontab's pace (every minute) is not woken for at its exact instant (next-wake.ts:
 * it falls due on a minute boundary, as under cron): it is served at the next wake (the sub-minute
 * jobs wake the schedulers every second) or crontab tick, so its allowance is one tick period more.
 */
const allowanceOf = (interval) => (interval >= 60_000 ? TICK_EVERY_MS + ALLOWANCE_MS : ALLOWANCE_MS)
const SLOW = 'mixed.slow'
const CONTENTION = /SQLITE_BUSY|database is locked|deadlock/i
const SHOW = 5

/** Every process started, so that none outlives this script (Ctrl-C, a failure). */
const alive = new Set()
let interrupted = false
process.on('SIGINT', () => {
  if (interrupted) process.exit(130)
  interrupted = true
  console.error('\nstress:scheduler: SIGINT: stopping this phase and dropping the databases (again to quit now)')
})
process.on('exit', () => {
  for (const child of alive) {
    try {
      child.kill('SIGKILL')
    } catch {
      // gone
    }
  }
})

/** `bin/manage ARGS`, killed with this script if it is still alive then. */
const start = (args, env) => common.start(args, env, alive)

/** The crontab's environment, in real time: no MANAGE_NOW, no NODE_EXTRA_CA_CERTS (~34 ms a start), no colour. */
function childEnv(extra) {
  const env = {...process.env, NO_COLOR: '1', ...extra}
  for (const name of ['NODE_EXTRA_CA_CERTS', 'FORCE_COLOR', 'MANAGE_SETTINGS', 'MANAGE_NOW', 'MANAGE_NOW_QUIET']) delete env[name]
  return env
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
/** An instant of the run log: Date on PostgreSQL and MySQL, ISO text on sqlite. */
const msOf = (value) => (value === null || value === undefined ? null : value instanceof Date ? value.getTime() : Date.parse(String(value)))

/** The runners of one phase: SCHEDULERS schedulers, and a crontab tick every TICK_EVERY_MS until stopTicks(). */
function startRunners(url, dir) {
  const env = childEnv({DATABASE_URL: url, STRESS_DIR: dir})
  const schedulers = Array.from({length: SCHEDULERS}, () => start(['scheduler', '--settings', SETTINGS], env))
  const ticks = []
  let ticking = true
  const loop = (async () => {
    while (ticking && !interrupted) {
      ticks.push(start(['runcrons', '--settings', SETTINGS], env))
      await sleep(TICK_EVERY_MS)
    }
  })()
  return {
    schedulers,
    ticks,
    async stopTicks() {
      ticking = false
      await loop
    },
  }
}

/** Poll the run log until `found(rows)` gives a value; fail when `timeoutMs` passes or a scheduler exits. */
async function until(what, db, found, runners, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  let exited = null
  for (const scheduler of runners.schedulers) void scheduler.done.then((exit) => (exited ??= exit))
  for (;;) {
    const value = found(await db('cron_job_log').orderBy('id'))
    if (value) return value
    if (interrupted) throw new Error(`interrupted while waiting for ${what}`)
    if (exited && !runners.expectedExits?.has(exited.pid)) throw new Error(`scheduler ${exited.pid} exited (${exited.code ?? exited.signal}) while waiting for ${what}:\n${exited.stdout}${exited.stderr}`)
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}

/** Runs, one a row: {id, code, status, pid, startMs, endMs, message}, by start. */
async function runsOf(db) {
  const rows = await db('cron_job_log').orderBy('id')
  return rows
    .map((row) => ({id: Number(row.id), code: row.code, status: row.status, pid: row.pid === null ? null : Number(row.pid), startMs: msOf(row.start_time), endMs: msOf(row.end_time), message: row.message}))
    .sort((a, b) => a.startMs - b.startMs || a.id - b.id)
}

function percentile(sorted, p) {
  if (sorted.length === 0) return '-'
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]
}

/**
 * Duplicates and losses of every job between `fromMs` (the runners' start) and `stopMs` (the stop),
 * as defined at the top; `killed` (phase 2): the killed scheduler's interrupted runs, whose gaps the
 * lease covers (the slow job's, and any other job's it happened to be running at the SIGKILL).
 */
function judge(label, runs, calls, fromMs, stopMs, killed, schedulerPids) {
  const problems = []
  const rows = []
  for (const [code, interval] of Object.entries(JOBS)) {
    const mine = runs.filter((run) => run.code === code)
    const starts = mine.map((run) => run.startMs)
    const doCalls = calls.filter((call) => call.code === code).length
    if (doCalls !== mine.length) problems.push(`${label} ${code}: ${doCalls} do() call(s) for ${mine.length} run(s)`)
    for (const run of mine) {
      if (run.status !== 'succeeded' && !killed.has(run.id)) problems.push(`${label} ${code}: run ${run.id} (pid ${run.pid}, started ${iso(run.startMs)}) ended ${run.status}: ${run.message}`)
    }
    let duplicates = 0
    let losses = 0
    const delays = []
    const allowance = allowanceOf(interval)
    if (starts.length === 0) {
      losses++
      problems.push(`${label} ${code}: LOSS: never ran between ${iso(fromMs)} and ${iso(stopMs)}`)
    }
    for (let i = 1; i < starts.length; i++) {
      const gap = starts[i] - starts[i - 1]
      const dueMs = starts[i - 1] + interval + 1
      if (gap <= interval) {
        duplicates++
        problems.push(`${label} ${code}: DUPLICATE: run ${mine[i].id} (pid ${mine[i].pid}) started ${iso(starts[i])}, ${gap} ms after run ${mine[i - 1].id} (pid ${mine[i - 1].pid}) at ${iso(starts[i - 1])}, inside its ${interval} ms period`)
        continue
      }
      const dead = killed.get(mine[i - 1].id)
      if (dead) {
        // Held by the dead run's lease until it ran out (its end_time, as recorded): due from then.
        const late = starts[i] - Math.max(dueMs, dead.endMs)
        if (late > TICK_EVERY_MS + ALLOWANCE_MS) {
          losses++
          problems.push(`${label} ${code}: LOSS: the killed run's period was served ${late} ms after its lease ran out (${iso(dead.endMs)}), by run ${mine[i].id} at ${iso(starts[i])}`)
        }
        continue
      }
      delays.push(starts[i] - dueMs)
      if (gap > interval + 1 + allowance) {
        losses++
        problems.push(`${label} ${code}: LOSS: ${gap} ms between run ${mine[i - 1].id} (pid ${mine[i - 1].pid}) at ${iso(starts[i - 1])} and run ${mine[i].id} (pid ${mine[i].pid}) at ${iso(starts[i])} (due ${iso(dueMs)})`)
      }
    }
    const last = mine[mine.length - 1]
    const lastDead = last && killed.get(last.id)
    if (lastDead && stopMs - Math.max(last.startMs + interval + 1, lastDead.endMs) > TICK_EVERY_MS + ALLOWANCE_MS) {
      losses++
      problems.push(`${label} ${code}: LOSS: the killed run ${last.id}'s period was not served after its lease ran out (${iso(lastDead.endMs)}), before the stop at ${iso(stopMs)}`)
    } else if (last && !lastDead && stopMs - (last.startMs + interval + 1) > allowance) {
      losses++
      problems.push(`${label} ${code}: LOSS: due at ${iso(last.startMs + interval + 1)} after run ${last.id}, not run before the stop at ${iso(stopMs)}`)
    }
    delays.sort((a, b) => a - b)
    rows.push({
      phase: label,
      job: code.replace('mixed.', ''),
      runs: mine.length,
      runners: new Set(mine.map((run) => run.pid)).size,
      'by ticks': mine.filter((run) => !schedulerPids.includes(run.pid)).length,
      duplicates,
      losses,
      'delay p50': delays.length ? `${percentile(delays, 50)} ms` : '-',
      'delay p99': delays.length ? `${percentile(delays, 99)} ms` : '-',
      'delay max': delays.length ? `${delays[delays.length - 1]} ms` : '-',
    })
  }
  return {problems, rows}
}

function readCalls(dir) {
  const file = path.join(dir, 'calls.log')
  if (!fs.existsSync(file)) return []
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [code, pid, ms] = line.split(' ')
      return {code, pid: Number(pid), ms: Number(ms)}
    })
}

/** Exit codes, as "0 ×3" or "0 ×20, 1 ×1"; and a problem line for each unexpected one. */
function exitsOf(label, kind, exits, expected, problems) {
  const counts = new Map()
  for (const exit of exits) {
    const shown = exit.signal ? exit.signal : String(exit.code)
    counts.set(shown, (counts.get(shown) ?? 0) + 1)
    const want = expected(exit)
    if (shown !== want) problems.push(`${label}: ${kind} ${exit.pid} exited ${shown}, not ${want}:\n  stdout: ${exit.stdout.trim().split('\n').slice(-SHOW).join('\n          ')}\n  stderr: ${exit.stderr.trim().split('\n').slice(-SHOW).join('\n          ')}`)
    if (CONTENTION.test(exit.stderr)) problems.push(`${label}: ${kind} ${exit.pid}: contention in stderr: ${exit.stderr.split('\n').find((line) => CONTENTION.test(line))}`)
  }
  return [...counts].map(([shown, count]) => `${shown} ×${count}`).join(', ')
}

/** Phase 1: the runners for SECONDS, then SIGTERM and wait. */
async function phaseOne(url, db, dir) {
  const fromMs = Date.now()
  const runners = startRunners(url, dir)
  let endAt = fromMs + SECONDS * 1000
  while (Date.now() < endAt && !interrupted) await sleep(100)
  if (SECONDS >= 60) {
    // From a minute on, also the every-minute job's second period: until past its due instant and allowance.
    const [first] = await db('cron_job_log').where('code', 'mixed.every_minute').orderBy('id').limit(1)
    if (first) endAt = Math.max(endAt, msOf(first.start_time) + JOBS['mixed.every_minute'] + allowanceOf(JOBS['mixed.every_minute']) + 500)
    while (Date.now() < endAt && !interrupted) await sleep(100)
  }
  const stopMs = Date.now()
  await runners.stopTicks()
  for (const scheduler of runners.schedulers) scheduler.child.kill('SIGTERM')
  const schedulerExits = await Promise.all(runners.schedulers.map((scheduler) => scheduler.done))
  const tickExits = await Promise.all(runners.ticks.map((tick) => tick.done))
  const verdict = judge('1', await runsOf(db), readCalls(dir), fromMs, stopMs, new Map(), runners.schedulers.map((scheduler) => scheduler.pid))
  const exits = {
    schedulers: exitsOf('phase 1', 'scheduler', schedulerExits, () => '0', verdict.problems),
    ticks: exitsOf('phase 1', 'tick', tickExits, () => '0', verdict.problems),
  }
  return {...verdict, exits, seconds: (stopMs - fromMs) / 1000}
}

/** Phase 2: SIGTERM a scheduler running the slow job (it drains), SIGKILL another running it, go on past the lease. */
async function phaseTwo(url, db, dir) {
  const fromMs = Date.now()
  const runners = startRunners(url, dir)
  runners.expectedExits = new Set()
  const problems = []
  const notes = []
  const pids = runners.schedulers.map((scheduler) => scheduler.pid)
  const runningIn = (candidates) => (rows) => rows.find((row) => row.code === SLOW && row.status === 'running' && candidates.includes(Number(row.pid)))
  try {
    await sleep(Math.min(10_000, SECONDS * 1000))
    // SIGTERM the first scheduler found running the slow job: it must drain.
    const drainedRow = await until('the slow job to run in a scheduler', db, runningIn(pids), runners, 60_000)
    const drained = runners.schedulers.find((scheduler) => scheduler.pid === Number(drainedRow.pid))
    runners.expectedExits.add(drained.pid)
    const termMs = Date.now()
    drained.child.kill('SIGTERM')
    notes.push(`SIGTERM ${drained.pid} at ${iso(termMs)} while it ran ${SLOW} (run ${drainedRow.id})`)
    // SIGKILL the next scheduler found running it (another one: the drained one takes no new claim).
    const others = pids.filter((pid) => pid !== drained.pid)
    const killedRow = await until('the slow job to run in another scheduler', db, runningIn(others), runners, 60_000)
    const victim = runners.schedulers.find((scheduler) => scheduler.pid === Number(killedRow.pid))
    runners.expectedExits.add(victim.pid)
    await sleep(500) // mid-run: do() has started and has ~2.5 s to go
    const killMs = Date.now()
    victim.child.kill('SIGKILL')
    notes.push(`SIGKILL ${victim.pid} at ${iso(killMs)} while it ran ${SLOW} (run ${killedRow.id}, started ${iso(msOf(killedRow.start_time))})`)
    // Go on until the slow job ran again after the dead run's lease, and at least RECOVERY_MS.
    const rerun = await until('the slow job to run again after the killed run', db, (rows) => rows.find((row) => row.code === SLOW && row.id > killedRow.id && row.status === 'succeeded'), runners, LEASE_MS + RECOVERY_MS + 30_000)
    notes.push(`${SLOW} ran again: run ${rerun.id} by pid ${rerun.pid} at ${iso(msOf(rerun.start_time))}`)
    while (Date.now() < killMs + RECOVERY_MS && !interrupted) await sleep(100)
    const stopMs = Date.now()
    await runners.stopTicks()
    for (const scheduler of runners.schedulers) if (scheduler !== victim) scheduler.child.kill('SIGTERM')
    const schedulerExits = await Promise.all(runners.schedulers.map((scheduler) => scheduler.done))
    const tickExits = await Promise.all(runners.ticks.map((tick) => tick.done))
    const runs = await runsOf(db)

    // The drained scheduler's run: recorded succeeded, ending after the SIGTERM.
    const drainedRun = runs.find((run) => run.id === Number(drainedRow.id))
    if (drainedRun.status !== 'succeeded' || !(drainedRun.endMs >= termMs)) problems.push(`phase 2: the drained run ${drainedRun.id} (pid ${drained.pid}) is ${drainedRun.status}, ended ${drainedRun.endMs === null ? 'never' : iso(drainedRun.endMs)} (SIGTERM at ${iso(termMs)}): it should have finished, succeeded`)
    else notes.push(`drained: run ${drainedRun.id} succeeded, ended ${iso(drainedRun.endMs)} (${drainedRun.endMs - termMs} ms after the SIGTERM)`)
    // The killed run: recorded interrupted by the lease recovery, ending when its lease ran out.
    const killed = runs.find((run) => run.id === Number(killedRow.id))
    const expectedMessage = new RegExp(`^interrupted: the process ${victim.pid} on .* stopped renewing its lease`)
    if (killed.status !== 'interrupted' || !expectedMessage.test(killed.message ?? '')) problems.push(`phase 2: the killed run ${killed.id} (pid ${victim.pid}) is ${killed.status}: ${killed.message} (want interrupted: the process ${victim.pid} … stopped renewing its lease)`)
    else if (!(killed.endMs > killMs && killed.endMs <= killMs + LEASE_MS + ALLOWANCE_MS)) problems.push(`phase 2: the killed run ${killed.id} ended ${iso(killed.endMs)}: not within the lease after the SIGKILL at ${iso(killMs)}`)
    else notes.push(`killed: run ${killed.id} recorded ${killed.status}, ended ${iso(killed.endMs)} (lease ran out ${killed.endMs - killMs} ms after the SIGKILL): ${killed.message}`)
    const after = runs.filter((run) => run.code === SLOW && run.startMs > killed.startMs)
    if (after.length === 0) problems.push(`phase 2: ${SLOW} never ran after the killed run ${killed.id}: its period was lost`)
    else notes.push(`recovered: ${SLOW} run ${after[0].id} started ${iso(after[0].startMs)}, ${after[0].startMs - killed.endMs} ms after the lease ran out`)

    const dead = new Map(runs.filter((run) => run.pid === victim.pid && run.status === 'interrupted').map((run) => [run.id, run]))
    const verdict = judge('2', runs, readCalls(dir), fromMs, stopMs, dead, pids)
    problems.push(...verdict.problems)
    const exits = {
      schedulers: exitsOf('phase 2', 'scheduler', schedulerExits, (exit) => (exit.pid === victim.pid ? 'SIGKILL' : '0'), problems),
      ticks: exitsOf('phase 2', 'tick', tickExits, () => '0', problems),
    }
    return {problems, rows: verdict.rows, exits, notes, seconds: (stopMs - fromMs) / 1000}
  } finally {
    await runners.stopTicks()
    for (const scheduler of runners.schedulers) scheduler.child.kill('SIGKILL')
    await Promise.all([...runners.schedulers, ...runners.ticks].map((child) => child.done))
  }
}

async function onFreshDatabase(backend, phase) {
  const database = await createDatabase(backend)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-stress-calls-'))
  let db
  try {
    const migrated = await start(['migrate'], childEnv({DATABASE_URL: database.url})).done
    if (migrated.code !== 0) throw new Error(`manage migrate failed (exit ${migrated.code}):\n${migrated.stdout}${migrated.stderr}`)
    db = openDatabase(configFromUrl(database.url, ROOT))
    return await phase(database.url, db, dir)
  } finally {
    if (db) await db.destroy().catch(() => undefined)
    fs.rmSync(dir, {recursive: true, force: true})
    await database.drop().catch((error) => console.error(`stress:scheduler: could not drop ${database.name}: ${error.message}`))
  }
}

async function main() {
  console.log(`stress:scheduler: ${SCHEDULERS} schedulers + a crontab tick every ${TICK_EVERY_MS / 1000} s, phase 1 for ${SECONDS} s, phases ${PHASES.join(', ')} on ${BACKENDS.join(', ')} (node ${process.version}, ${os.cpus().length} CPUs)`)
  const problems = []
  for (const backend of BACKENDS) {
    if (interrupted) break
    const started = performance.now()
    const rows = []
    for (const [phase, run] of [
      ['1', phaseOne],
      ['2', phaseTwo],
    ]) {
      if (!PHASES.includes(phase) || interrupted) continue
      try {
        const result = await onFreshDatabase(backend, run)
        rows.push(...result.rows)
        problems.push(...result.problems.map((problem) => `${backend} ${problem.startsWith('phase') ? problem : `phase ${problem}`}`))
        console.log(`\n${backend} phase ${phase} (${result.seconds.toFixed(1)} s): exits: schedulers ${result.exits.schedulers}; crontab ticks ${result.exits.ticks}`)
        for (const note of result.notes ?? []) console.log(`  ${note}`)
      } catch (error) {
        problems.push(`${backend} phase ${phase}: could not run: ${error.stack || error}`)
      }
    }
    printTable(rows.map((row) => ({backend, ...row})))
    console.error(`stress:scheduler: ${backend} done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }
  if (interrupted) {
    console.log('\nstress:scheduler: interrupted')
    process.exit(130)
  }
  if (problems.length > 0) {
    console.log('')
    for (const problem of problems) console.log(`stress:scheduler: ${problem}`)
    console.log(`\nstress:scheduler: FAILED (${problems.length} problem(s))`)
    process.exit(1)
  }
  console.log('\nstress:scheduler: OK: every (job, period) ran exactly once; the killed run was recovered, the drained one finished')
}

main().catch((error) => {
  console.error(`stress:scheduler: ${error.stack || error}`)
  process.exit(1)
})
