import {spawn, type ChildProcess} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {knex, type Knex} from 'knex'
import type {Dialect} from '../../src/core/db/database'
import {freshDatabase, type TestDatabase} from './db'
import {configFromUrl, openDatabase} from '../../src/core/db/database'
import {callCommand} from '../../src/index'

/** The project root: bin/manage runs the compiled dist/ (run `npm run build` first). */
export const ROOT = path.resolve(__dirname, '..', '..')
export const BIN = path.join(ROOT, 'bin', 'manage')
export const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'cli-settings.cjs')
export const THROWING_SETTINGS = path.join(ROOT, 'test', 'fixtures', 'cli-settings-throws.cjs')

/** A child process is killed after this long: a safety net so a hung CLI fails its test. */
const CHILD_TIMEOUT_MS = 30_000

export interface Result {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface Running {
  pid: number
  /** Resolves when the process has exited and its output is closed. */
  done: Promise<Result>
  /** What it has printed so far. */
  output(): {stdout: string; stderr: string}
}

export type Env = Record<string, string | undefined>

/** A variable of the parent's environment that would change what manage does. */
const isManaged = (key: string) => /^(MANAGE_|TEST_)/.test(key) || ['DEBUG', 'DATABASE_URL', 'NODE_ENV', 'FORCE_COLOR', 'HEARTBEAT_FILE'].includes(key)

/** The parent's environment without anything that would change what manage does. */
function baseEnv(): Env {
  const env: Env = {...process.env}
  for (const key of Object.keys(env)) if (isManaged(key)) delete env[key]
  env.NO_COLOR = '1'
  Object.assign(env, PINNED_CLOCK_QUIET)
  return env
}

/** The tests pin the clock on purpose (MANAGE_NOW) and write: no warning for it, but where a test asks for it (MANAGE_NOW_QUIET: undefined). */
export const PINNED_CLOCK_QUIET = {MANAGE_NOW_QUIET: '1'}

/** A child's output and how it ended (killed after CHILD_TIMEOUT_MS). */
function collect(child: ChildProcess): Promise<Result> {
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return new Promise<Result>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, stdout, stderr})
    })
  })
}

/** Start bin/manage (node is spawned directly, so `pid` is the pid manage records in the run log). */
export function startManage(args: readonly string[], env: Env): Running {
  const child = spawn(process.execPath, [BIN, ...args], {cwd: ROOT, env: {...baseEnv(), ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  const done = collect(child)
  const so = {stdout: '', stderr: ''}
  child.stdout!.on('data', (chunk: string) => (so.stdout += chunk))
  child.stderr!.on('data', (chunk: string) => (so.stderr += chunk))
  return {pid: child.pid!, done, output: () => ({...so})}
}

export function runManage(args: readonly string[], env: Env): Promise<Result> {
  return startManage(args, env).done
}

/**
 * The same command line in this process (callCommand), with the environment and working
 * directory a spawned one gets: the in-process tier. Its result has no signal, and its pid is this
 * process's.
 */
export async function callManage(args: readonly string[], env: Env): Promise<Result> {
  const cleaned = Object.fromEntries(Object.keys(process.env).filter(isManaged).map((key) => [key, undefined]))
  const result = await callCommand(args, {env: {...cleaned, NO_COLOR: '1', ...PINNED_CLOCK_QUIET, ...env}, cwd: ROOT})
  return {code: result.exitCode, signal: null, stdout: result.stdout, stderr: result.stderr}
}

/** A child's exit status and output, to show when an expectation fails. */
export function context(result: Result): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`
}

/** Exact exit code and exact stdout lines (stderr empty unless given). */
export function expectRun(result: Result, code: number, stdout: string[], stderr: string[] = []): void {
  expect(lines(result.stdout), context(result)).to.deep.equal(stdout)
  expect(lines(result.stderr), context(result)).to.deep.equal(stderr)
  expect(result.code, context(result)).to.equal(code)
}

/** The non-empty lines of an output. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '')
}

export interface LogRow {
  id: number
  code: string
  status: string
  start_time: string
  end_time: string | null
  message: string | null
  ran_at_time: string | null
  host: string | null
  pid: number | null
  lease_expires_at: string | null
  heartbeat_at: string | null
}

export interface SandboxOptions {
  /** The database the commands use (e.g. a TestDatabase's url); default: a sqlite file in the sandbox's folder. */
  databaseUrl?: string
  /** The settings module; default: test/fixtures/cli-settings.cjs. */
  settings?: string
  /** How run() and runcrons() run manage: in this process (callManage) or in a child (runManage, the default). start() and spawn() always start a child; migrate() always runs in process. */
  tier?: 'in-process' | 'process'
}

/** A fresh folder (and, unless a database URL is given, sqlite file) for one test, and the ways to drive manage against them. */
export class Sandbox {
  readonly dir: string
  readonly dbFile: string
  readonly databaseUrl: string
  readonly settings: string
  readonly tier: 'in-process' | 'process'

  constructor(options: SandboxOptions = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-cli-'))
    this.dbFile = path.join(this.dir, 'db.sqlite3')
    this.databaseUrl = options.databaseUrl ?? `sqlite://${this.dbFile}`
    this.settings = options.settings ?? SETTINGS
    this.tier = options.tier ?? 'process'
  }

  env(extra: Env = {}): Env {
    return {DATABASE_URL: this.databaseUrl, MANAGE_SETTINGS: this.settings, TEST_DIR: this.dir, ...PINNED_CLOCK_QUIET, ...extra}
  }

  run(args: readonly string[], extra: Env = {}): Promise<Result> {
    return this.tier === 'in-process' ? callManage(args, this.env(extra)) : runManage(args, this.env(extra))
  }

  /** In a child process, whatever the sandbox's tier (for what needs a process of its own: its pid, --color). */
  spawn(args: readonly string[], extra: Env = {}): Promise<Result> {
    return runManage(args, this.env(extra))
  }

  start(args: readonly string[], extra: Env = {}): Running {
    return startManage(args, this.env(extra))
  }

  /** `runcrons` with the given crons and frozen clock. */
  runcrons(crons: string, now: string, args: readonly string[] = [], extra: Env = {}): Promise<Result> {
    return this.run(['runcrons', ...args], {TEST_CRONS: crons, MANAGE_NOW: now, ...extra})
  }

  /** `manage migrate`, in this process whatever the tier: it only sets the test up. */
  async migrate(): Promise<void> {
    const result = await callManage(['migrate'], this.env())
    if (result.code !== 0) throw new Error(`manage migrate failed (${result.code}): ${result.stderr}${result.stdout}`)
  }

  /** Open the database (the sandbox's sqlite file unless another URL was given), run `fn`, and close it. */
  async withDb<T>(fn: (db: Knex) => Promise<T>): Promise<T> {
    const db =
      this.databaseUrl === `sqlite://${this.dbFile}`
        ? knex({client: 'sqlite3', connection: {filename: this.dbFile}, useNullAsDefault: true})
        : openDatabase(configFromUrl(this.databaseUrl, ROOT))
    try {
      return await fn(db)
    } finally {
      await db.destroy()
    }
  }

  rows(code?: string): Promise<LogRow[]> {
    return this.withDb(async (db) => {
      const query = db<LogRow>('cron_job_log').orderBy('id')
      if (code) query.where('code', code)
      // Dates (PostgreSQL, MySQL) become ISO strings, as sqlite stores them.
      const text = (value: unknown) => (value instanceof Date ? value.toISOString() : (value as string | null))
      return (await query).map((row) => ({
        ...row,
        id: Number(row.id),
        pid: row.pid === null ? null : Number(row.pid),
        start_time: text(row.start_time) as string,
        end_time: text(row.end_time),
        lease_expires_at: text(row.lease_expires_at),
        heartbeat_at: text(row.heartbeat_at),
      }))
    })
  }

  /** The codes of the jobs whose do() was called, in order. */
  calls(): string[] {
    const file = path.join(this.dir, 'calls.log')
    return fs.existsSync(file) ? lines(fs.readFileSync(file, 'utf8')) : []
  }

  file(name: string): string {
    return path.join(this.dir, name)
  }

  remove(): void {
    fs.rmSync(this.dir, {recursive: true, force: true})
  }
}

/**
 * Resolve when `file` exists (woken by fs.watch, with a short poll as a backup for a missed
 * event); reject if `exited` settles first, or after a safety timeout.
 */
export function waitForFile(file: string, exited?: Promise<Result>, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false
    const finish = (error?: Error) => {
      if (settled) return
      settled = true
      clearInterval(poll)
      clearTimeout(timer)
      watcher.close()
      if (error) reject(error)
      else resolve()
    }
    const check = () => {
      if (fs.existsSync(file)) finish()
    }
    const watcher = fs.watch(path.dirname(file), check)
    const poll = setInterval(check, 25)
    const timer = setTimeout(() => finish(new Error(`timed out waiting for ${file}`)), timeoutMs)
    exited?.then((result) => {
      check()
      finish(new Error(`the process exited (${result.code}) before ${path.basename(file)} appeared:\n${result.stdout}${result.stderr}`))
    })
    check()
  })
}

/**
 * Run bin/manage with `input` piped to its stdin (for `shell` and `dbshell`), from `cwd` (default:
 * the project root). `env` is applied on top of the cleaned parent environment, so PATH can be replaced.
 */
export function runManageWithInput(args: readonly string[], env: Env, input: string, cwd = ROOT): Promise<Result> {
  const child = spawn(process.execPath, [BIN, ...args], {cwd, env: {...baseEnv(), ...env}, stdio: ['pipe', 'pipe', 'pipe']})
  const done = collect(child)
  // A command that exits without reading all its input must not fail the test with EPIPE.
  child.stdin.on('error', () => undefined)
  child.stdin.end(input)
  return done
}

/** A describe's fresh database of `dialect` and a sandbox on it that runs manage in processes: made before its tests, removed after them. */
export function sandboxOnFreshDatabase(dialect: Dialect, settings: string): {sandbox: Sandbox; t: TestDatabase} {
  const made = {} as {sandbox: Sandbox; t: TestDatabase}
  before(async () => {
    made.t = await freshDatabase({dialect})
    made.sandbox = new Sandbox({databaseUrl: made.t.url, settings, tier: 'process'})
  })
  after(async () => {
    made.sandbox.remove()
    await made.t.close()
  })
  return made
}

/**
 * `count` resident schedulers (real processes, real time) on the sandbox's database, until `enough`
 * says so (polled every 250 ms, within `withinMs`): then SIGTERM, and each must drain and exit 0.
 */
export async function schedulersUntil(sandbox: Sandbox, count: number, env: Env, enough: () => Promise<boolean>, withinMs: number): Promise<void> {
  const schedulers = Array.from({length: count}, () => sandbox.start(['scheduler'], env))
  try {
    for (const started = Date.now(); !(await enough()); ) {
      expect(Date.now() - started, `enough within ${withinMs} ms`).to.be.below(withinMs)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  } finally {
    for (const running of schedulers) process.kill(running.pid, 'SIGTERM')
  }
  for (const result of await Promise.all(schedulers.map((running) => running.done))) expect(result.code, context(result)).to.equal(0)
}
