/**
 * The claim of a job is atomic across processes, on every backend: real `bin/manage runcrons`
 * processes race for the same due period on one database (a sqlite file, a PostgreSQL database,
 * a MariaDB database), and exactly one of them runs it.
 *
 * Each racer loads test/fixtures/race-settings.cjs, whose jobs write a row into
 * executions(code, tick, pid) through ctx.db: the test counts those rows (no unique key, so a
 * duplicate run shows up instead of failing). With RACE_BARRIER the racers wait, after their
 * start-up, for a 'go' file, so their claims land within milliseconds of each other.
 *
 * Every round, PROCESSES racers run at the same MANAGE_NOW, with two jobs in crons: race.plain
 * and race.parallel (allowParallelRuns: the claim only guards the decision). The next round is one
 * period (5 min) later. RACE_ROUNDS (default 3) and RACE_PROCESSES (default 8) scale it;
 * `npm run stress` (scripts/stress.js) runs the same scenario for 200 ticks, and CI (.ci/run) for 25.
 *
 * Note on the fixture's runToleranceSeconds = 30: like django-cron, runEveryMins = 5 is due when
 * now + tolerance > last start + 5 min (strictly), so a tick exactly 5 min after the previous start
 * is NOT due with the default tolerance of 0; the rounds here advance MANAGE_NOW by exactly 5 min.
 */
import {expect} from 'chai'
import {spawn, type ChildProcess} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type {Knex} from 'knex'
import {BACKENDS, freshDatabase, plain, type TestDatabase} from '../helpers/db'
import {PINNED_CLOCK_QUIET} from '../helpers/cli'

const ROOT = path.resolve(__dirname, '..', '..')
const BIN = path.join(ROOT, 'bin', 'manage')
const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'race-settings.cjs')
const ROUNDS = positiveInt(process.env.RACE_ROUNDS, 3)
const PROCESSES = positiveInt(process.env.RACE_PROCESSES, 8)
const START = Date.parse('2026-03-02T10:00:00.000Z')
const MINUTE = 60_000
const PERIOD = 5 * MINUTE
/** What must never reach a racer's stderr: lock contention leaking out as an error. */
const CONTENTION = /SQLITE_BUSY|database is locked|deadlock/i
const RACED_JOBS = [
  ['plain', 'race.plain'],
  ['parallel', 'race.parallel'],
] as const

function positiveInt(raw: string | undefined, fallback: number): number {
  const value = Number(raw)
  return raw && Number.isInteger(value) && value > 0 ? value : fallback
}

interface Exit {
  pid: number
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

interface Racer {
  child: ChildProcess
  done: Promise<Exit>
}

/** The env of every child: the crontab's (no NODE_EXTRA_CA_CERTS, which costs ~34 ms per start), no colour. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1', ...PINNED_CLOCK_QUIET, ...extra}
  delete env.NODE_EXTRA_CA_CERTS
  delete env.MANAGE_SETTINGS
  delete env.FORCE_COLOR
  return env
}

function start(args: string[], env: NodeJS.ProcessEnv): Racer {
  const child = spawn(process.execPath, [BIN, ...args], {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const done = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({pid: child.pid!, code, signal, stdout, stderr}))
  })
  return {child, done}
}

async function waitFor(what: string, condition: () => boolean, timeoutMs: number, abort?: () => string | null): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    const reason = abort?.()
    if (reason) throw new Error(`while waiting for ${what}: ${reason}`)
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

interface Arena {
  /** The marker files' folder (barriers, started-<pid>, release). */
  dir: string
  t: TestDatabase
}

/** A fresh, migrated database of the given kind plus the executions table, and a marker folder. */
async function arena(dialect: TestDatabase['dialect']): Promise<Arena> {
  const t = await freshDatabase({dialect})
  await t.db.schema.createTable('executions', (table) => {
    table.increments('id')
    table.string('code').notNullable()
    table.string('tick').notNullable()
    table.integer('pid').notNullable()
  })
  return {dir: fs.mkdtempSync(path.join(os.tmpdir(), 'manage-race-')), t}
}

async function cleanup(box: Arena | undefined): Promise<void> {
  if (!box) return
  fs.rmSync(box.dir, {recursive: true, force: true})
  await box.t.close()
}

const iso = (ms: number) => new Date(ms).toISOString()

/** Start `count` racers at MANAGE_NOW = nowMs, release them together through the barrier, wait for all. */
async function race(box: Arena, mode: string, nowMs: number, count: number, barrier: string): Promise<Exit[]> {
  const env = childEnv({DATABASE_URL: box.t.url, MANAGE_NOW: iso(nowMs), RACE_MODE: mode, RACE_DIR: box.dir, RACE_BARRIER: barrier})
  const racers = Array.from({length: count}, () => start(['runcrons', '--settings', SETTINGS], env))
  const exited: Exit[] = []
  racers.forEach((racer) => racer.done.then((exit) => exited.push(exit)))
  const ready = () => fs.readdirSync(box.dir).filter((name) => name.startsWith(`ready-${barrier}-`)).length
  try {
    await waitFor(`${count} racers to reach the barrier`, () => ready() === count, 30_000, () =>
      exited.length > 0 ? `a racer exited before the barrier (code ${exited[0].code}):\n${exited[0].stdout}${exited[0].stderr}` : null,
    )
  } finally {
    fs.writeFileSync(path.join(box.dir, `go-${barrier}`), '') // never leave racers stuck
  }
  return Promise.all(racers.map((racer) => racer.done))
}

interface Tally {
  ran: number
  elsewhere: number
  notDue: number
}

function tally(exits: Exit[], code: string, tally: Tally): void {
  for (const exit of exits) {
    const mine = exit.stdout.split('\n').filter((line) => line.includes(` ${code}`))
    if (mine.some((line) => line.startsWith(`[✔] ${code}`))) tally.ran++
    else if (mine.some((line) => line.includes('still running elsewhere') || line.includes('claimed at this moment by another process'))) tally.elsewhere++
    else if (mine.some((line) => line.startsWith(`[ ] ${code}`))) tally.notDue++
  }
}

function expectCleanExits(exits: Exit[], context: string): void {
  for (const exit of exits) {
    const output = `${context}, pid ${exit.pid}:\nstdout: ${exit.stdout}\nstderr: ${exit.stderr}`
    expect(exit.stderr, output).not.to.match(CONTENTION)
    expect(exit.code, output).to.equal(0)
    expect(exit.stderr, output).to.equal('')
  }
}

/** Executions per tick: which expected ticks are missing, how many extra runs there were. */
async function countExecutions(db: Knex, code: string, ticks: string[]) {
  const rows: Array<{tick: string; pid: number}> = await db('executions').where({code}).select('tick', 'pid')
  const perTick = new Map<string, number>()
  for (const row of rows) perTick.set(row.tick, (perTick.get(row.tick) ?? 0) + 1)
  const missing = ticks.filter((tick) => !perTick.has(tick))
  const duplicates = [...perTick.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0)
  const unexpected = [...perTick.keys()].filter((tick) => !ticks.includes(tick))
  return {seen: rows.length, perTick, missing, duplicates, unexpected}
}

async function expectRunLog(db: Knex, code: string, startTimes: string[]): Promise<void> {
  const rows = (await db('cron_job_log').where({code}).select('status', 'start_time', 'message')).map((row: Record<string, unknown>) => plain(row))
  const succeeded = rows.filter((row) => row.status === 'succeeded').map((row) => String(row.start_time)).sort()
  expect(succeeded, `${code}: one succeeded cron_job_log row per round`).to.deep.equal([...startTimes].sort())
  expect(rows.filter((row) => row.status !== 'succeeded'), `${code}: no failed, running or interrupted rows`).to.deep.equal([])
  const lock = await db('cron_job').where({code}).first()
  expect(lock?.lock_token ?? null, `${code}: the lock is released at the end`).to.equal(null)
}

function figure(fields: Record<string, string | number>): void {
  console.log(`      lock-race ${Object.entries(fields).map(([key, value]) => `${key}=${value}`).join(' ')}`)
}

describe('lock race: many runcrons processes, one database', function () {
  this.timeout(Math.max(60_000, ROUNDS * PROCESSES * 1500 + 30_000))
  this.slow(15_000)

  before(function () {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first')
  })

  for (const dialect of BACKENDS) {
    describe(dialect, () => {
      let box: Arena | undefined

      afterEach(async () => {
        await cleanup(box)
        box = undefined
      })

      it(`runs each due job exactly once per period, with and without allowParallelRuns (${PROCESSES} processes × ${ROUNDS} ticks)`, async () => {
        box = await arena(dialect)
        const started = performance.now()
        const ticks: string[] = []
        const outcomes = new Map<string, Tally>(RACED_JOBS.map(([, code]) => [code, {ran: 0, elsewhere: 0, notDue: 0}]))
        for (let round = 0; round < ROUNDS; round++) {
          const nowMs = START + round * PERIOD
          ticks.push(iso(nowMs))
          const exits = await race(box, RACED_JOBS.map(([mode]) => mode).join(','), nowMs, PROCESSES, String(round))
          expectCleanExits(exits, `${dialect} round ${round} (${iso(nowMs)})`)
          for (const [, code] of RACED_JOBS) tally(exits, code, outcomes.get(code)!)
        }
        const wallMs = performance.now() - started

        const results = []
        for (const [mode, code] of RACED_JOBS) {
          const result = await countExecutions(box.t.db, code, ticks)
          const seenBy = outcomes.get(code)!
          figure({
            backend: dialect,
            job: mode,
            processes: PROCESSES,
            ticks: ROUNDS,
            expected: ROUNDS,
            seen: result.seen,
            duplicates: result.duplicates,
            losses: result.missing.length,
            wall: `${(wallMs / 1000).toFixed(1)}s`,
            outcomes: `ran ${seenBy.ran}/elsewhere ${seenBy.elsewhere}/not-due ${seenBy.notDue}`,
          })
          results.push({code, result, seenBy})
        }
        for (const {code, result, seenBy} of results) {
          expect(result.missing, `${code}: rounds with no execution`).to.deep.equal([])
          expect(result.duplicates, `${code}: duplicate executions: ${JSON.stringify([...result.perTick])}`).to.equal(0)
          expect(result.unexpected, `${code}: executions at unexpected ticks`).to.deep.equal([])
          expect(result.seen, code).to.equal(ROUNDS)
          expect(seenBy.ran, `${code}: processes that printed [✔]`).to.equal(ROUNDS)
          await expectRunLog(box.t.db, code, ticks)
        }
      })

      it('a long run holds its period: 7 processes at the same minute and 7 a minute later report it running elsewhere', async () => {
        box = await arena(dialect)
        const {dir} = box
        const started = performance.now()
        const holderEnv = childEnv({DATABASE_URL: box.t.url, MANAGE_NOW: iso(START), RACE_MODE: 'slow', RACE_DIR: dir})
        const holder = start(['runcrons', '--settings', SETTINGS], holderEnv)
        let holderExit: Exit | null = null
        holder.done.then((exit) => (holderExit = exit))
        try {
          await waitFor(
            'the first process to start do()',
            () => fs.existsSync(path.join(dir, `started-${holder.child.pid}`)),
            30_000,
            () => (holderExit ? `it exited (code ${holderExit.code}):\n${holderExit.stdout}${holderExit.stderr}` : null),
          )

          const others: Exit[] = []
          for (const [label, nowMs] of [
            ['same', START],
            ['later', START + MINUTE],
          ] as const) {
            const exits = await race(box, 'slow', nowMs, 7, label)
            expectCleanExits(exits, `${dialect} tick ${label} (${iso(nowMs)})`)
            for (const exit of exits) {
              expect(exit.stdout, `pid ${exit.pid} at ${iso(nowMs)}`).to.contain('still running elsewhere')
            }
            others.push(...exits)
          }
          expect(holderExit, 'the first process is still inside do()').to.equal(null)
          expect(Number((await box.t.db('executions').count({n: '*'}))[0].n), 'executions while the job is held').to.equal(1)

          fs.writeFileSync(path.join(dir, 'release'), '')
          const exit = await holder.done
          expectCleanExits([exit], 'the first process')
          expect(exit.stdout).to.contain('[✔] race.slow')

          const wallMs = performance.now() - started
          const result = await countExecutions(box.t.db, 'race.slow', [iso(START)])
          figure({
            backend: dialect,
            job: 'slow',
            processes: 1 + others.length,
            ticks: 2,
            expected: 1,
            seen: result.seen,
            duplicates: result.duplicates,
            losses: result.missing.length,
            wall: `${(wallMs / 1000).toFixed(1)}s`,
            outcomes: `ran 1/elsewhere ${others.filter((e) => e.stdout.includes('still running elsewhere')).length}`,
          })
          expect(result.seen).to.equal(1)
          expect(result.missing).to.deep.equal([])
          await expectRunLog(box.t.db, 'race.slow', [iso(START)])
        } finally {
          fs.writeFileSync(path.join(dir, 'release'), '')
          await holder.done.catch(() => undefined)
        }
      })
    })
  }
})
