import path from 'node:path'
import type {Config} from '@oclif/core'
import {locateProject} from '../core/project/layout'
import {commandIO, flushDescriptors, PROCESS_IO, stampLines, timestampedOutput, useDescriptors} from './output/command-io'
import {tellStatements} from './output/command-end'
import {plainRuncrons, type PlainRuncrons} from './runcrons/plain-args'
import {warnIfClockPinned} from './output/pinned-clock'

type Oclif = typeof import('@oclif/core')

/**
 * The `manage` entry (bin/manage hands over here). A plain `manage runcrons`, the crontab line,
 * skips oclif: its fast path decides with the database driver alone and answers when nothing is
 * due; when something is, the tick runs as the runcrons command would, still without oclif. Every
 * other command line goes to oclif. The modules of each path are loaded only on that path.
 * callCommand (call-command.ts) takes the same two paths in process.
 */
export function main(argv: readonly string[], env: NodeJS.ProcessEnv, binDir: string): void {
  const plain = plainCommandLine(argv, env)
  if (plain === null) {
    void oclifMain(argv, env, path.resolve(binDir, '..'))
    return
  }
  // Straight to fds 1 and 2 (the fast path's lines and the tick's): process.stdout for a pipe costs a few ms.
  useDescriptors()
  void plainTick(plain, env, process.cwd(), (text) => PROCESS_IO.stdout.write(text)).then(({exitCode, ranTick}) => {
    // Exit when a tick has run: a job that ignored its AbortSignal (or left a socket open) must not keep the process alive.
    if (ranTick) {
      flushDescriptors()
      process.exit(exitCode)
    }
    process.exitCode = exitCode
  })
}

/** The plain crontab form of `runcrons` (see plain-args.ts), or null: oclif takes the command line. */
export function plainCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): PlainRuncrons | null {
  return argv[0] === 'runcrons' && !env.MANAGE_NO_FAST_PATH ? plainRuncrons(argv.slice(1)) : null
}

/** A plain `runcrons`: the fast path's answer, else the tick (ranTick); then the tick's ping and the SQL count, whichever path it took. */
export async function plainTick(plain: PlainRuncrons, env: NodeJS.ProcessEnv, cwd: string, out: (text: string) => void): Promise<{exitCode: number; ranTick: boolean}> {
  if (!plain.timestamps) return plainTickNow(plain, env, cwd, out)
  // --timestamps: every line, on either path and on either stream, starts with the time it was written.
  const unstamp = stampLines()
  const stamped = timestampedOutput({write: out, isTTY: false})
  try {
    return await plainTickNow(plain, env, cwd, (text) => stamped.write(text))
  } finally {
    unstamp()
  }
}

async function plainTickNow(plain: PlainRuncrons, env: NodeJS.ProcessEnv, cwd: string, out: (text: string) => void): Promise<{exitCode: number; ranTick: boolean}> {
  const {fastRuncrons} = require('./runcrons/fast-tick') as typeof import('./runcrons/fast-tick')
  // The project is found once (its package.json and .env read once) for both paths. When it cannot
  // be, the direct tick looks again and reports why: its bundle has its own error classes.
  let root: string | undefined
  try {
    root = locateProject(cwd, env, plain.project)
  } catch {
    root = undefined
  }
  // A plain tick writes (its heartbeat, its runs): under MANAGE_NOW they are dated then. A look at one variable (the project's .env read).
  if (env.MANAGE_NOW && plain.verbosity > 0) warnIfClockPinned(env, (require('./output/render') as typeof import('./output/render')).painter(plain.color))
  // Whatever goes wrong on the fast path, the tick itself finds it again and reports it as every command does.
  // When it must run, the tick takes over the fast path's project (its settings and connection are not made twice) and its plan.
  const fast = root === undefined ? {mustRun: null, plan: null} : await fastRuncrons(plain, env, root).catch(() => ({mustRun: null, plan: null}))
  if ('output' in fast) out(fast.output)
  const ended = 'mustRun' in fast ? await (require('./runcrons/direct-tick') as typeof import('./runcrons/direct-tick')).directRuncrons(plain, env, {root, cwd, project: fast.mustRun, plan: fast.plan}) : fast
  if (ended.tickPingUrl !== null) await pingTheTick(ended.tickPingUrl, ended.exitCode, plain)
  if (ended.statements !== null) tellStatements(ended.statements, env)
  return {exitCode: ended.exitCode, ranTick: 'mustRun' in fast}
}

/** The runner's own ping (settings tickPingUrl), with how the tick ended, whichever path it took; a warning when it failed. Loaded only when the settings ask for it. */
async function pingTheTick(url: string, exitCode: number, plain: PlainRuncrons): Promise<void> {
  const {pingTick} = require('../core/notify/pings') as typeof import('../core/notify/pings')
  const warning = await pingTick(url, exitCode)
  if (warning !== null) commandIO().stderr.write(`${(require('./output/render') as typeof import('./output/render')).painter(plain.color).warn('warning:')} ${warning}
`)
}

/** Every other command line: oclif, with the app's own commands beside the built-ins (oclif-config.ts). */
async function oclifMain(argv: readonly string[], env: NodeJS.ProcessEnv, packageRoot: string): Promise<void> {
  const oclif = require('@oclif/core') as typeof import('@oclif/core')
  try {
    const config = await commandLineConfig(oclif, packageRoot, argv, env)
    if (config === null) {
      process.exitCode = 2
      return
    }
    await oclif.run([...argv], config)
    oclif.flush()
  } catch (error) {
    await oclif.handle(error as Error)
  }
}

/** oclif's configuration for this command line, or null (said on stderr) when it names no command. */
export async function commandLineConfig(oclif: Oclif, packageRoot: string, argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Config | null> {
  const {oclifConfig, unknownCommandLine} = require('./oclif-config') as typeof import('./oclif-config')
  const stderr = commandIO().stderr
  const config = await oclifConfig(oclif, packageRoot, argv, env, (line) => stderr.write(`${line}\n`))
  const unknown = unknownCommandLine(config, argv)
  if (unknown === null) return config
  stderr.write(`${unknown}\n`)
  return null
}

