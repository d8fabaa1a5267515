import {Containment} from './containment'
import type {Raise} from './host-errors'
import {backgroundTimers, type Timers} from './timers'
import {quietBeyond} from './watchdog'

/** How a run that can never settle is found: see RunWatchdog. */
export type NeverSettledBy =
  /** The process ends after its work (the crontab tick): the loop running dry (Node's beforeExit) says so. */
  | {kind: 'loop-runs-dry'}
  /** The process stays alive (a resident scheduler): each run's watchdog looks in every `beatMs`. */
  | {kind: 'watchdog'; beatMs: number; timers?: Timers; isQuiet?: () => boolean}

export interface ProcessGuardOptions {
  /** Told of each SIGTERM / SIGINT (`first` false from the second on: the caller may then end the process at once). */
  onSignal?(signal: NodeJS.Signals, first: boolean): void
  neverSettled: NeverSettledBy
  /**
   * In a host's process (startScheduler): no signal handler (the host calls stop), and the
   * containment charges a crash only to the run whose async context it came from, leaving the rest
   * to the host's handlers (see Containment). The shutdown signal is then never aborted.
   */
  embedded?: boolean
  /** The process (tests pass a stand-in). */
  target?: NodeJS.Process
  /** How an embedded containment raises a host's error again (tests pass a stand-in). */
  raise?: Raise
}

/**
 * What guards a process that runs jobs, installed once for the process and shared by every tick
 * it runs: the shutdown signal (SIGTERM / SIGINT, read by each tick as its `signal`), and the
 * containment (crashes charged to the run that caused them, a watchdog on each run).
 */
export interface ProcessGuards {
  /** Aborted by the first SIGTERM or SIGINT, with the signal's name as its reason. */
  readonly shutdown: AbortSignal
  readonly containment: Containment
  /** This install is over (once; later calls do nothing): the last one removes the handlers and gives process.exit back. */
  release(): void
}

interface Installed {
  shutdown: AbortSignal
  containment: Containment
  installs: number
  remove(): void
}

const installed = new WeakMap<NodeJS.Process, Installed>()

/**
 * Install the guards on the process, once: a second install while they are in place shares them
 * (the same shutdown signal and containment, no second handler; the first install's options hold).
 */
export function installProcessGuards(options: ProcessGuardOptions): ProcessGuards {
  const target = options.target ?? process
  const present = installed.get(target) ?? install(target, options)
  present.installs++
  let released = false
  return {
    shutdown: present.shutdown,
    containment: present.containment,
    release() {
      if (released) return
      released = true
      if (--present.installs === 0) present.remove()
    },
  }
}

function install(target: NodeJS.Process, options: ProcessGuardOptions): Installed {
  const shutdown = new AbortController()
  const onSignal = (signal: NodeJS.Signals) => {
    const first = !shutdown.signal.aborted
    options.onSignal?.(signal, first)
    if (first) shutdown.abort(signal)
  }
  const by = options.neverSettled
  const embedded = options.embedded ?? false
  const watchdog = by.kind === 'watchdog' ? {beatMs: by.beatMs, timers: by.timers ?? backgroundTimers, isQuiet: by.isQuiet ?? quietBeyond()} : undefined
  const containment = new Containment(watchdog, embedded)
  const onDry = () => containment.loopRanDry()
  const uninstall = containment.install(target, options.raise)
  if (!embedded) {
    target.on('SIGTERM', onSignal)
    target.on('SIGINT', onSignal)
  }
  if (by.kind === 'loop-runs-dry') target.on('beforeExit', onDry)
  const entry: Installed = {
    shutdown: shutdown.signal,
    containment,
    installs: 0,
    remove() {
      installed.delete(target)
      uninstall()
      target.off('SIGTERM', onSignal)
      target.off('SIGINT', onSignal)
      target.off('beforeExit', onDry)
    },
  }
  installed.set(target, entry)
  return entry
}
