#!/usr/bin/env node
// What a resident `manage scheduler` costs (#19), in real time (run by `npm run bench:scheduler`,
// which builds first). Real processes (bin/manage scheduler), each on a fresh database migrated by
// `manage migrate`, with the jobs of test/fixtures/bench-scheduler-settings.cjs, all started at
// once and run side by side (each part costs the others little: most of them sleep), then stopped
// with SIGTERM (each must exit 0). The parts:
//
//   delay   one every-second job (runEverySeconds = 1) per backend, for BENCH_SECONDS. Each do()
//           writes its run id and Date.now() as it starts; the run's due instant is the previous
//           run's recorded start + 1 s + 1 ms (the interval rule: due when now > last start + 1 s),
//           read from the run log afterwards. Start delay = do()'s start − due instant; p50, p99, max.
//           On PostgreSQL the recorded starts are on the scheduler's clock (the server's, followed by
//           an offset measured each minute): do()'s start is moved onto it by the offset in force,
//           which the probe (below) logs.
//   memory  BENCH_MEMORY_JOBS every-second jobs on sqlite (--concurrency as many): VmRSS
//           (/proc/PID/status) once 100 runs have started, once 10,000 have, and its largest
//           sample (every second) after that; its runs' start delays are a row too, and its CPU per run.
//           manage scheduler holds V8's young generation at its size (src/cli/runcrons/young-generation.ts:
//           a process allocating a few MB a second would otherwise grow it to 2 × 16 MB and keep it).
//           A second memory part, the same under NODE_OPTIONS=--max-semi-space-size=BENCH_SEMI_SPACE_MB,
//           shows an operator's own semi-space flag instead (the scheduler then sets none of its own).
//   idle    BENCH_QUIET_JOBS jobs (1,000), none due during the bench (a daily cron slot 12 h away):
//           utime + stime (/proc/PID/stat) from 2 s after its first wake to BENCH_IDLE_SECONDS later.
//           It still wakes once a minute to read the run log's mark (pauses, other servers' runs),
//           and plans every job when it changed (never here) or every 10 minutes. A second idle
//           part has an alerts webhook configured (BENCH_ALERTS=1): its minute's read runs the watch.
//   wake    the same 999 quiet jobs plus one every-second job: the CPU it uses from 5 s after its
//           first wake for BENCH_IDLE_SECONDS, divided by its planning wakes (a wake plans the jobs whose
//           instant came, and all 1,000 once a minute), counted in the process by scripts/bench-scheduler-probe.js (a
//           preload: a counter, nothing else). The run of the due job (claim, record) is in that CPU
//           too, so the figure is an upper bound; the same figure for the one-job sqlite scheduler
//           (delay, also counted) is printed beside it: the difference is what deciding 999 more
//           jobs adds to a wake.
//
// Ratios: times against `node -e 0` (median of 7, measured here first), memory against a bare
// node process's VmRSS. Children run without NODE_EXTRA_CA_CERTS (the crontab's environment).
//
//   BENCH_SECONDS       delay and memory parts' length, in seconds (default 600)
//   BENCH_IDLE_SECONDS  idle and wake parts' window, in seconds (default 300; at most BENCH_SECONDS)
//   BENCH_MEMORY_JOBS   every-second jobs of the memory part (default 20: 10,000 runs in ~500 s)
//   BENCH_SEMI_SPACE_MB the second memory part's NODE_OPTIONS=--max-semi-space-size (default 2; 0: no second part)
//   BENCH_QUIET_JOBS    jobs of the idle and wake parts (default 1000)
//   BENCH_BACKENDS      the delay part's backends, from sqlite,postgres (default both)
//   MANAGE_TEST_POSTGRES_URL  the PostgreSQL server (as for the tests)
'use strict'
const {spawnSync} = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const common = require('./stress-common')

const {ROOT, createDatabase, printTable} = common
const {wholeNumber, list, requireBuild} = common.knobs('bench:scheduler')
requireBuild('bench:scheduler')
const {configFromUrl, openDatabase} = require(path.join(ROOT, 'dist', 'src', 'core', 'db', 'database.js'))

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'bench-scheduler-settings.cjs')
const PROBE = path.join(__dirname, 'bench-scheduler-probe.js')
const SECONDS = wholeNumber('BENCH_SECONDS', 600)
const IDLE_SECONDS = Math.min(SECONDS, wholeNumber('BENCH_IDLE_SECONDS', 300))
const MEMORY_JOBS = wholeNumber('BENCH_MEMORY_JOBS', 20)
const SEMI_SPACE_MB = process.env.BENCH_SEMI_SPACE_MB === '0' ? 0 : wholeNumber('BENCH_SEMI_SPACE_MB', 2)
const QUIET_JOBS = wholeNumber('BENCH_QUIET_JOBS', 1000)
const BACKENDS = list('BENCH_BACKENDS', ['sqlite', 'postgres'])
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], {encoding: 'utf8'}).stdout.trim()) || 100
const MEMORY_MARKS = [100, 10_000]
const READY = /^manage scheduler: /m

/** Every process started, so that none outlives this script; every part, so that Ctrl-C drops its database. */
const alive = new Set()
const parts = []
process.on('exit', () => {
  for (const child of alive) child.kill('SIGKILL')
})
process.on('SIGINT', () => {
  console.error('bench:scheduler: SIGINT: stopping the schedulers and dropping the databases')
  for (const child of alive) child.kill('SIGKILL')
  dropAll().finally(() => process.exit(130))
})

async function dropAll() {
  for (const part of parts.splice(0)) {
    fs.rmSync(part.dir, {recursive: true, force: true})
    await part.database.drop().catch((error) => console.error(`bench:scheduler: could not drop ${part.database.name}: ${error.message}`))
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const msOf = (value) => (value instanceof Date ? value.getTime() : Date.parse(String(value)))

/** The crontab's environment, in real time: no MANAGE_NOW, no NODE_EXTRA_CA_CERTS, no colour. */
function childEnv(extra) {
  const env = {...process.env, NO_COLOR: '1', ...extra}
  for (const name of ['NODE_EXTRA_CA_CERTS', 'FORCE_COLOR', 'MANAGE_SETTINGS', 'MANAGE_NOW', 'MANAGE_NOW_QUIET', 'NODE_OPTIONS']) if (!extra[name]) delete env[name]
  return env
}

/** {utime + stime in s} of a live process. */
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024

/** The scheduler's planning wakes so far (the probe's count, asked for by SIGUSR2). */
async function plansOf(part) {
  fs.rmSync(part.probeFile, {force: true})
  part.proc.child.kill('SIGUSR2')
  for (let i = 0; i < 100 && !fs.existsSync(part.probeFile); i++) await sleep(10)
  return JSON.parse(fs.readFileSync(part.probeFile, 'utf8')).plans
}

/** A part: a fresh database, migrated, and its scheduler started. */
async function startPart(name, backend, {every = 0, quiet = 0, concurrency, probe = false, nodeOptions = [], alerts = false}) {
  const database = await createDatabase(backend)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-bench-scheduler-'))
  const part = {name, backend, database, dir, every, quiet, probeFile: path.join(dir, 'probe.json')}
  parts.push(part)
  const migrated = await common.start(['migrate'], childEnv({DATABASE_URL: database.url}), alive).done
  if (migrated.code !== 0) throw new Error(`${name}: manage migrate failed (exit ${migrated.code}):\n${migrated.stdout}${migrated.stderr}`)
  const env = childEnv({DATABASE_URL: database.url, BENCH_DIR: dir, BENCH_EVERY_SECOND: String(every), BENCH_QUIET_JOBS: String(quiet), BENCH_PROBE: part.probeFile, BENCH_ALERTS: alerts ? '1' : '', NODE_OPTIONS: [...(probe ? [`--require=${PROBE}`] : []), ...nodeOptions].join(' ')})
  part.proc = common.start(['scheduler', '--settings', SETTINGS, ...(concurrency ? ['--concurrency', String(concurrency)] : [])], env, alive)
  part.exit = null
  part.out = ''
  part.proc.child.stdout.on('data', (chunk) => (part.out += chunk))
  part.proc.done.then((exit) => (part.exit = exit))
  return part
}

/** Resolves with the instant the scheduler said it started (its first wake planned). */
async function ready(part) {
  const deadline = Date.now() + 120_000
  for (;;) {
    if (part.exit) throw new Error(`${part.name}: the scheduler exited (${part.exit.code ?? part.exit.signal}) before its first wake:\n${part.exit.stdout}${part.exit.stderr}`)
    if (READY.test(part.out)) return Date.now()
    if (Date.now() > deadline) throw new Error(`${part.name}: no start line within 120 s`)
    await sleep(20)
  }
}

/** SIGTERM, then its exit: a problem line unless 0. */
async function stop(part, problems) {
  if (part.exit === null) part.proc.child.kill('SIGTERM')
  const exit = await part.proc.done
  if (exit.code !== 0) problems.push(`${part.name}: the scheduler exited ${exit.code ?? exit.signal} on SIGTERM, not 0: ${exit.stderr.trim().split('\n').slice(-5).join(' | ')}`)
  return exit
}

/** Start delays (ms) of every run but each job's first, sorted: do()'s start − (previous start + 1 s + 1 ms). */
async function delaysOf(part) {
  const file = path.join(part.dir, 'calls.log')
  const started = new Map()
  if (fs.existsSync(file)) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
      const [runId, ms] = line.split(' ').map(Number)
      started.set(runId, ms)
    }
  }
  const offsets = readOffsets(part)
  const db = openDatabase(configFromUrl(part.database.url, ROOT))
  try {
    const rows = await db('cron_job_log').where('code', 'like', 'bench.second.%').select('id', 'code', 'start_time')
    const byCode = new Map()
    for (const row of rows) byCode.set(row.code, [...(byCode.get(row.code) ?? []), {id: Number(row.id), startMs: msOf(row.start_time)}])
    const delays = []
    for (const runs of byCode.values()) {
      runs.sort((a, b) => a.startMs - b.startMs)
      for (let i = 1; i < runs.length; i++) {
        const doMs = started.get(runs[i].id)
        if (doMs !== undefined) delays.push(doMs + offsetAt(offsets, doMs) - (runs[i - 1].startMs + 1001))
      }
    }
    return {runs: rows.length, delays: delays.sort((a, b) => a - b)}
  } finally {
    await db.destroy()
  }
}

/** The scheduler's clock offsets as measured ([at local ms, offset ms], by time; the probe's log), or none (this host's clock). */
function readOffsets(part) {
  const file = path.join(part.dir, 'offsets.log')
  if (!fs.existsSync(file)) return []
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => line.split(' ').map(Number))
}
/** The offset in force at local `ms`: the latest measured before it (the first one before any). */
function offsetAt(offsets, ms) {
  let offset = offsets.length > 0 ? offsets[0][1] : 0
  for (const [atMs, value] of offsets) if (atMs <= ms) offset = value
  return offset
}

const percentile = (sorted, p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))])
const runsSoFar = (part) => {
  try {
    const text = fs.readFileSync(path.join(part.dir, 'calls.log'), 'utf8')
    let lines = 0
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++
    return lines
  } catch {
    return 0
  }
}

/** `node -e 0`'s median wall ms (of 7) and a bare node process's VmRSS (MB). */
function baseline() {
  const env = childEnv({})
  const times = []
  for (let i = 0; i < 7; i++) {
    const started = process.hrtime.bigint()
    spawnSync(process.execPath, ['-e', '0'], {env})
    times.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  times.sort((a, b) => a - b)
  const rss = spawnSync(process.execPath, ['-e', "process.stdout.write(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status','utf8'))[1])"], {env, encoding: 'utf8'})
  return {nodeMs: times[3], nodeRssMb: Number(rss.stdout) / 1024}
}

/** Watch a memory part every second: VmRSS at each mark of runs, and the largest sample after the first. */
function watchMemory(part) {
  const seen = {marks: new Map(), maxAfterFirst: 0, runs: 0}
  const timer = setInterval(() => {
    if (part.exit) return
    const runs = runsSoFar(part)
    const rss = rssMb(part.proc.pid)
    seen.runs = runs
    for (const mark of MEMORY_MARKS) if (runs >= mark && !seen.marks.has(mark)) seen.marks.set(mark, {rss, runs})
    if (seen.marks.size > 0) seen.maxAfterFirst = Math.max(seen.maxAfterFirst, rss)
  }, 1000)
  part.memory = seen
  return () => clearInterval(timer)
}

/** The parts, started one after another (each migrates first), then all ready. */
async function startAll() {
  for (const backend of BACKENDS) await startPart(`delay ${backend}`, backend, {every: 1, probe: true})
  await startPart('memory sqlite', 'sqlite', {every: MEMORY_JOBS, concurrency: MEMORY_JOBS})
  if (SEMI_SPACE_MB > 0) await startPart(`memory sqlite, --max-semi-space-size=${SEMI_SPACE_MB}`, 'sqlite', {every: MEMORY_JOBS, concurrency: MEMORY_JOBS, nodeOptions: [`--max-semi-space-size=${SEMI_SPACE_MB}`]})
  await startPart('idle sqlite', 'sqlite', {quiet: QUIET_JOBS})
  await startPart('idle sqlite, alerts', 'sqlite', {quiet: QUIET_JOBS, alerts: true})
  await startPart('wake sqlite', 'sqlite', {every: 1, quiet: QUIET_JOBS - 1, probe: true})
  return Math.max(...(await Promise.all(parts.map(ready))))
}

/** The CPU (s) and planning wakes of the wake part and of the one-job sqlite scheduler, now. */
async function wakeSample(wake, oneJob) {
  return {cpu: cpuSeconds(wake.proc.pid), plans: await plansOf(wake), oneCpu: oneJob && cpuSeconds(oneJob.proc.pid), onePlans: oneJob && (await plansOf(oneJob))}
}

/** The timeline: idle and wake windows, then the rest until BENCH_SECONDS; every scheduler stopped with SIGTERM. */
async function measure(readyMs, problems) {
  const byName = (name) => parts.find((part) => part.name === name)
  const [wake, oneJob] = [byName('wake sqlite'), byName('delay sqlite')]
  const idles = parts.filter((part) => part.name.startsWith('idle'))
  const memories = parts.filter((part) => part.name.startsWith('memory'))
  const stopWatches = memories.map(watchMemory)
  await sleep(2000)
  const idleFrom = idles.map((idle) => cpuSeconds(idle.proc.pid))
  await sleep(3000)
  const wakeFrom = await wakeSample(wake, oneJob)
  await sleep(Math.max(0, readyMs + 2000 + IDLE_SECONDS * 1000 - Date.now()))
  const idleCpu = new Map(idles.map((idle, i) => [idle.name, cpuSeconds(idle.proc.pid) - idleFrom[i]]))
  await sleep(Math.max(0, readyMs + 5000 + IDLE_SECONDS * 1000 - Date.now()))
  const wakeTo = await wakeSample(wake, oneJob)
  const rss = new Map(idles.map((idle) => [idle.name, rssMb(idle.proc.pid)]))
  for (const idle of idles) await stop(idle, problems)
  await stop(wake, problems)
  await sleep(Math.max(0, readyMs + SECONDS * 1000 - Date.now()))
  stopWatches.forEach((stopWatch) => stopWatch())
  for (const part of parts) if (part.exit === null) rss.set(part.name, rssMb(part.proc.pid))
  for (const part of memories) part.cpu = cpuSeconds(part.proc.pid)
  for (const part of parts) await stop(part, problems)
  return {idleCpu, wakeFrom, wakeTo, rss, oneJob, memories}
}

/** The table's rows, from what measure() found. */
async function rowsOf({idleCpu, wakeFrom, wakeTo, rss, oneJob, memories}, {nodeMs, nodeRssMb}) {
  const rows = []
  const ratio = (ms) => `${(ms / nodeMs).toFixed(2)}×`
  const mb = (value) => `${value.toFixed(1)} MB`
  const row = (measure, value, goal, versus, met) => rows.push({measure, value, goal, 'vs node': versus, met: met === null ? '-' : met ? 'yes' : 'NO'})
  for (const part of [...parts.filter((part) => part.name.startsWith('delay')), ...memories]) {
    const {runs, delays} = await delaysOf(part)
    part.runs = runs
    const label = `start delay, ${part.name.replace(/^\w+ /, '')}, ${part.every} every-second job${part.every > 1 ? `s (--concurrency ${part.every})` : ''}, ${runs} runs`
    const [p50, p99, max] = [percentile(delays, 50), percentile(delays, 99), delays[delays.length - 1]]
    row(`${label}: p50`, `${p50} ms`, '≤ 20 ms', ratio(p50), p50 <= 20)
    row(`${label}: p99`, `${p99} ms`, '≤ 100 ms', ratio(p99), p99 <= 100)
    row(`${label}: max`, `${max} ms`, '-', ratio(max), null)
  }
  const idleGoal = (0.3 * IDLE_SECONDS) / 300
  for (const [name, cpu] of idleCpu) {
    const label = `idle CPU, ${QUIET_JOBS} jobs none due${name.includes('alerts') ? ', alerts configured (the watch at each read)' : ''}, ${IDLE_SECONDS} s (utime+stime)`
    row(label, `${cpu.toFixed(2)} s (${((cpu / IDLE_SECONDS) * 100).toFixed(3)} %)`, `≤ ${idleGoal.toFixed(2)} s (0.1 %)`, ratio(cpu * 1000), cpu <= idleGoal)
  }
  if (wakeTo.plans === null) {
    row('CPU per wake', 'wakes not counted: the probe found no Scheduler.prototype.tick (see scripts/bench-scheduler-probe.js)', '≤ 5 ms', '-', null)
    return finishRows(rows, {rss, memories}, {nodeMs, nodeRssMb}, row)
  }
  const perWake = ((wakeTo.cpu - wakeFrom.cpu) * 1000) / (wakeTo.plans - wakeFrom.plans)
  row(`CPU per wake, ${QUIET_JOBS} jobs, one due each second (${wakeTo.plans - wakeFrom.plans} wakes, its runs included)`, `${perWake.toFixed(2)} ms`, '≤ 5 ms', ratio(perWake), perWake <= 5)
  if (oneJob) {
    const onePerWake = ((wakeTo.oneCpu - wakeFrom.oneCpu) * 1000) / (wakeTo.onePlans - wakeFrom.onePlans)
    row(`CPU per wake, 1 job due each second (${wakeTo.onePlans - wakeFrom.onePlans} wakes, its runs included)`, `${onePerWake.toFixed(2)} ms`, '-', ratio(onePerWake), null)
    row(`CPU per wake: what deciding ${QUIET_JOBS - 1} more jobs adds`, `${(perWake - onePerWake).toFixed(2)} ms`, '-', ratio(perWake - onePerWake), null)
  }
  return finishRows(rows, {rss, memories}, {nodeMs, nodeRssMb}, row)
}

/** The memory rows, then every scheduler's RSS at its end. */
function finishRows(rows, {rss, memories}, {nodeMs, nodeRssMb}, row) {
  const ratio = (ms) => `${(ms / nodeMs).toFixed(2)}×`
  const mb = (value) => `${value.toFixed(1)} MB`
  for (const part of memories) {
    const {marks, maxAfterFirst, runs} = part.memory
    const label = part.name.replace(/^memory sqlite/, `${MEMORY_JOBS} every-second jobs, sqlite`)
    for (const mark of MEMORY_MARKS) {
      const at = marks.get(mark)
      row(`RSS after ${mark} runs (${label})`, at ? mb(at.rss) : `not reached (${runs} runs)`, '≤ 80 MB', at ? `${(at.rss / nodeRssMb).toFixed(2)}×` : '-', at ? at.rss <= 80 : null)
    }
    const first = marks.get(MEMORY_MARKS[0])
    if (first) row(`RSS growth after ${MEMORY_MARKS[0]} runs: largest sample − first (${label}, ${runs} runs)`, `${(maxAfterFirst - first.rss).toFixed(1)} MB (largest ${mb(maxAfterFirst)})`, '≤ 10 MB', '-', maxAfterFirst - first.rss <= 10)
    row(`CPU per run (${label}; utime+stime from the start / runs)`, `${((part.cpu * 1000) / part.runs).toFixed(2)} ms`, '-', ratio((part.cpu * 1000) / part.runs), null)
  }
  for (const [name, value] of rss) row(`RSS of ${name} at its end`, mb(value), '≤ 80 MB', `${(value / nodeRssMb).toFixed(2)}×`, value <= 80)
  return rows
}

async function main() {
  const base = baseline()
  console.log(`bench:scheduler: ${os.cpus().length} CPUs (nproc ${os.availableParallelism()}, ${os.cpus()[0]?.model ?? 'unknown model'}), node ${process.version}; \`node -e 0\` ${base.nodeMs.toFixed(1)} ms, a bare node process ${base.nodeRssMb.toFixed(1)} MB RSS`)
  console.log(`bench:scheduler: delay and memory for ${SECONDS} s, idle and wake for ${IDLE_SECONDS} s, side by side; load average at start ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`)
  const problems = []
  try {
    const readyMs = await startAll()
    const rows = await rowsOf(await measure(readyMs, problems), base)
    console.log('')
    printTable(rows)
    console.log(`\nload average at the end ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}; exits: ${parts.map((part) => `${part.name} ${part.exit?.code ?? part.exit?.signal}`).join(', ')}`)
  } finally {
    for (const part of parts) if (part.exit === null) part.proc.child.kill('SIGKILL')
    await dropAll()
  }
  for (const problem of problems) console.log(`bench:scheduler: ${problem}`)
  if (problems.length > 0) process.exit(1)
}

main().catch((error) => {
  console.error(`bench:scheduler: ${error.stack || error}`)
  process.exit(1)
})
