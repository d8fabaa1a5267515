#!/usr/bin/env node
// How evenly several servers share a tick's due jobs (run by `npm run bench:spread`, which builds
// first): SPREAD_PROCESSES (default 4) `manage runcrons` processes started together on one
// PostgreSQL database, over SPREAD_JOBS (40) due jobs whose do() waits SPREAD_MS (200 ms), against
// one process doing them all. Rounds alternate (SPREAD_ROUNDS, default 5, each a fresh run log:
// every job due); each round's time runs from the first spawn to the last exit. Efficiency = the
// one process's median / (N × the N processes' median): 100 % is the ideal N-fold speed-up. Each
// round also checks that every job ran exactly once, and counts the runs each process made.
'use strict'
const {spawn, spawnSync} = require('node:child_process')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..')
const BIN = path.join(ROOT, 'bin', 'manage')
const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'spread-settings.cjs')
const PG_SERVER = process.env.MANAGE_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test'
const PROCESSES = whole('SPREAD_PROCESSES', 4)
const JOBS = whole('SPREAD_JOBS', 40)
const WAIT_MS = whole('SPREAD_MS', 200)
const ROUNDS = whole('SPREAD_ROUNDS', 5)
const NOW = '2026-03-02T10:00:00.000Z'
const knex = require(require.resolve('knex', {paths: [ROOT]}))

function whole(name, fallback) {
  const value = process.env[name] === undefined ? fallback : Number(process.env[name])
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}='${process.env[name]}' is not a whole number ≥ 1`)
  return value
}

function childEnv(url) {
  const env = {...process.env, NO_COLOR: '1', MANAGE_NOW_QUIET: '1', MANAGE_NOW: NOW, DATABASE_URL: url, SPREAD_JOBS: String(JOBS), SPREAD_MS: String(WAIT_MS)}
  for (const name of ['NODE_EXTRA_CA_CERTS', 'FORCE_COLOR', 'MANAGE_SETTINGS']) delete env[name]
  return env
}

/** N processes started together; resolves with the wall time from the first spawn to the last exit. */
function together(count, url) {
  const started = process.hrtime.bigint()
  const children = Array.from({length: count}, () =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'runcrons', '--settings', SETTINGS], {cwd: ROOT, env: childEnv(url), stdio: ['ignore', 'ignore', 'pipe']})
      let stderr = ''
      child.stderr.on('data', (chunk) => (stderr += chunk))
      child.on('error', reject)
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`runcrons exited ${code}: ${stderr}`))))
    }),
  )
  return Promise.all(children).then(() => Number(process.hrtime.bigint() - started) / 1e6)
}

async function main() {
  const name = `manage_spread_${process.pid}`
  const admin = knex({client: 'pg', connection: PG_SERVER})
  await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await admin.raw(`CREATE DATABASE ${name}`)
  const url = new URL(PG_SERVER)
  url.pathname = `/${name}`
  const db = knex({client: 'pg', connection: url.toString()})
  try {
    const migrated = spawnSync(process.execPath, [BIN, 'migrate'], {cwd: ROOT, env: childEnv(url.toString()), encoding: 'utf8'})
    if (migrated.status !== 0) throw new Error(`manage migrate failed: ${migrated.stderr}`)
    const times = {1: [], [PROCESSES]: []}
    const shares = []
    for (let round = 0; round < ROUNDS; round++) {
      for (const count of [1, PROCESSES]) {
        await db('cron_job_log').delete()
        await db('cron_job').delete()
        times[count].push(await together(count, url.toString()))
        const runs = await db('cron_job_log').select('code', 'pid', 'status')
        const codes = new Set(runs.map((run) => run.code))
        if (runs.length !== JOBS || codes.size !== JOBS || runs.some((run) => run.status !== 'succeeded')) {
          throw new Error(`round ${round + 1}, ${count} process(es): ${runs.length} runs of ${codes.size} jobs (expected each of ${JOBS} once, succeeded)`)
        }
        if (count === PROCESSES) {
          const byPid = new Map()
          for (const run of runs) byPid.set(run.pid, (byPid.get(run.pid) ?? 0) + 1)
          shares.push([...byPid.values(), ...Array(PROCESSES - byPid.size).fill(0)].sort((a, b) => b - a))
        }
      }
      process.stderr.write(`round ${round + 1}/${ROUNDS}\r`)
    }
    const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
    const one = median(times[1])
    const many = median(times[PROCESSES])
    const efficiency = one / (PROCESSES * many)
    const lines = [
      `# manage bench:spread — ${new Date().toISOString()}`,
      '',
      `Node ${process.version}, ${require('node:os').cpus().length} CPU(s); PostgreSQL; ${JOBS} due jobs of ${WAIT_MS} ms; ${ROUNDS} rounds, alternating; medians.`,
      '',
      '| processes | wall ms (median) | min | max |',
      '|---:|---:|---:|---:|',
      ...[1, PROCESSES].map((count) => `| ${count} | ${median(times[count]).toFixed(0)} | ${Math.min(...times[count]).toFixed(0)} | ${Math.max(...times[count]).toFixed(0)} |`),
      '',
      `Efficiency: ${(efficiency * 100).toFixed(1)} % of ideal (${(one / many).toFixed(2)}× faster with ${PROCESSES}, ideal ${PROCESSES}×).`,
      `Runs per process, each round (most first): ${shares.map((share) => share.join('/')).join(', ')}.`,
      'Every job ran exactly once in every round.',
    ]
    console.log(lines.join('\n'))
  } finally {
    await db.destroy()
    await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined)
    await admin.destroy()
  }
}

main().catch((error) => {
  console.error(`bench:spread: ${error.message}`)
  process.exit(1)
})
