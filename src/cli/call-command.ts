import {existsSync} from 'node:fs'
import path from 'node:path'
import {commandIO, setCommandIO, type CommandIO, type CommandOutput} from './output/command-io'
import {commandLineConfig, plainCommandLine, plainTick} from './main'

/** callCommand's options: what a `manage` process would be started with. */
export interface CallOptions {
  /** The app's folder (as MANAGE_PROJECT); default: found from the working directory. */
  project?: string
  /** Environment variables over the process's own; undefined removes one. */
  env?: Record<string, string | undefined>
  /** The settings module (as MANAGE_SETTINGS). */
  settings?: string
  /** The working directory of the command; default: the process's. */
  cwd?: string
}

/** What a command did: its exit status and output, as a `manage` process would have given them. */
export interface CallResult {
  exitCode: number
  stdout: string
  stderr: string
  /** With --json: the output parsed (undefined when it is not JSON, e.g. after an error). */
  json?: unknown
}

/** The signals a command may listen to (runcrons: SIGTERM, SIGINT); what it leaves on them is removed. */
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']

let queue: Promise<unknown> = Promise.resolve()

/**
 * Run a `manage` command line in this process (Django's call_command): the built-in commands and
 * the app's own, with the same output and exit status as `bin/manage` would give, without ending
 * the process. For the time of the call the process looks like a fresh `manage` one (environment,
 * working directory, argv, output captured) and is put back after; calls run one at a time (a
 * second waits for the first).
 */
export function callCommand(argv: readonly string[], options: CallOptions = {}): Promise<CallResult> {
  const call = queue.then(() => callNow([...argv], options))
  queue = call.catch(() => undefined)
  return call
}

async function callNow(argv: string[], options: CallOptions): Promise<CallResult> {
  const cwd = path.resolve(options.cwd ?? process.cwd())
  const env = callEnvironment(process.env, options, cwd)
  const stdout = capture()
  const stderr = capture()
  const packageRoot = packageRootOf(__dirname)
  const leave = enterCall({argv, env, cwd, io: {env: process.env, cwd, stdout, stderr}, packageRoot})
  let exitCode: number
  try {
    exitCode = await runCommandLine(argv, packageRoot)
  } finally {
    leave()
  }
  return {exitCode, stdout: stdout.text(), stderr: stderr.text(), ...(argv.includes('--json') ? {json: parsed(stdout.text())} : {})}
}

/** The command line as bin/manage runs it (main.ts): a plain `runcrons` without oclif, the rest through oclif. */
async function runCommandLine(argv: string[], packageRoot: string): Promise<number> {
  const plain = plainCommandLine(argv, process.env)
  // The call's own stdout, as bin/manage writes fd 1 (plainTick dates what it is given with --timestamps).
  const stdout = commandIO().stdout
  if (plain !== null) return (await plainTick(plain, process.env, process.cwd(), (text) => stdout.write(text))).exitCode
  const oclif = loadOclif()
  try {
    const config = await commandLineConfig(oclif, packageRoot, argv, process.env)
    if (config === null) return 2
    await oclif.run(argv, config)
    return Number(process.exitCode ?? 0)
  } catch (error) {
    return handledError(oclif, error as Error)
  }
}

/**
 * oclif, loaded at the first call. It measures the terminal once, when it loads: the output
 * captured here is no terminal, so its help and errors wrap at 80 columns as for a pipe.
 */
function loadOclif(): typeof import('@oclif/core') {
  if (process.env.OCLIF_COLUMNS !== undefined) return require('@oclif/core') as typeof import('@oclif/core')
  process.env.OCLIF_COLUMNS = '80'
  try {
    return require('@oclif/core') as typeof import('@oclif/core')
  } finally {
    delete process.env.OCLIF_COLUMNS
  }
}

/**
 * oclif's own end of a failed command (its message, the help for a bad argument, the exit status:
 * 2 for a bad flag), with its process.exit replaced for the time of it (oclif's documented seam
 * for tests) by taking the status down.
 */
async function handledError(oclif: typeof import('@oclif/core'), error: Error): Promise<number> {
  const {Exit} = require('@oclif/core/handle') as {Exit: {exit(code?: number): void}}
  const exit = Exit.exit
  let status: number | undefined
  Exit.exit = (code = 0) => void (status ??= code)
  try {
    await oclif.handle(error)
  } finally {
    Exit.exit = exit
  }
  return status ?? 1
}

/** The environment of the call: the process's, the options' variables over it, then project and settings. */
function callEnvironment(base: NodeJS.ProcessEnv, options: CallOptions, cwd: string): Record<string, string> {
  const env: Record<string, string | undefined> = {...base, ...options.env}
  if (options.project !== undefined) env.MANAGE_PROJECT = path.resolve(cwd, options.project)
  if (options.settings !== undefined) env.MANAGE_SETTINGS = path.resolve(cwd, options.settings)
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined))
}

/**
 * Make the process look, for the time of one call, as a `manage` process started with this command
 * line would: the environment (the app's settings, its jobs and the drivers read process.env
 * itself), working directory, argv (oclif's help reads it), no exit status yet, the output
 * captured (oclif, a job's console.log), the app's modules loaded afresh. Returns what puts it
 * all back, the signal handlers left by the command removed.
 */
function enterCall(call: {argv: string[]; env: Record<string, string>; cwd: string; io: CommandIO; packageRoot: string}): () => void {
  const savedEnv = {...process.env}
  const savedCwd = process.cwd()
  const savedArgv = process.argv
  const savedExitCode = process.exitCode
  const listeners = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]))
  const modules = new Set(Object.keys(require.cache))
  process.chdir(call.cwd) // first: a folder that does not exist fails the call before anything is changed
  replaceEnv(call.env)
  process.argv = [savedArgv[0], path.join(call.packageRoot, 'bin', 'manage'), ...call.argv]
  process.exitCode = undefined
  const restoreStreams = [redirect(process.stdout, call.io.stdout), redirect(process.stderr, call.io.stderr)]
  setCommandIO(call.io)
  return () => {
    setCommandIO(undefined)
    for (const restore of restoreStreams) restore()
    for (const [signal, before] of listeners) {
      for (const listener of process.listeners(signal)) if (!before.has(listener)) process.off(signal, listener)
    }
    forgetAppModules(modules, [path.resolve(__dirname, '..'), path.join(call.packageRoot, 'dist')])
    process.exitCode = savedExitCode
    process.argv = savedArgv
    process.chdir(savedCwd)
    replaceEnv(savedEnv)
  }
}

/** process.env holds exactly these variables (assigned, not replaced: Node's process.env is special, e.g. for TZ). */
function replaceEnv(values: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(process.env)) if (!(key in values)) delete process.env[key]
  for (const [key, value] of Object.entries(values)) if (value !== undefined && process.env[key] !== value) process.env[key] = value
}

/** What is written to `stream` goes to `output` instead, until the returned function puts it back. */
function redirect(stream: NodeJS.WriteStream, output: CommandOutput): () => void {
  const write = stream.write
  stream.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), done?: (error?: Error | null) => void) => {
    output.write(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8'))
    const callback = typeof encoding === 'function' ? encoding : done
    if (callback) process.nextTick(callback)
    return true
  }) as typeof stream.write
  return () => {
    stream.write = write
  }
}

/**
 * The app's modules loaded during the call (its settings, jobs and commands: neither a package's
 * nor manage's own) are forgotten, so that the next call loads them afresh, as a new process
 * would: a settings module reads the environment when it loads. ES modules cannot be forgotten.
 */
function forgetAppModules(before: ReadonlySet<string>, frameworkDirs: readonly string[]): void {
  const isKept = (file: string) => before.has(file) || file.split(path.sep).includes('node_modules') || frameworkDirs.some((dir) => file.startsWith(`${dir}${path.sep}`))
  const forgotten = new Set<NodeModule>()
  for (const [file, module] of Object.entries(require.cache)) {
    if (isKept(file) || module === undefined) continue
    delete require.cache[file]
    forgotten.add(module)
  }
  // Nor kept alive by the modules that required them.
  if (forgotten.size === 0) return
  for (const module of Object.values(require.cache)) {
    if (module && module.children.some((child) => forgotten.has(child))) module.children = module.children.filter((child) => !forgotten.has(child))
  }
}

function capture(): CommandOutput & {text(): string} {
  const chunks: string[] = []
  return {write: (text) => void chunks.push(text), isTTY: false, text: () => chunks.join('')}
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** This package's folder (bin/manage, package.json, dist/): the nearest above this module with a package.json. */
function packageRootOf(dir: string): string {
  for (let current = dir; ; current = path.dirname(current)) {
    if (existsSync(path.join(current, 'package.json'))) return current
    if (path.dirname(current) === current) throw new Error(`manage-cli: no package.json above ${dir}`)
  }
}
