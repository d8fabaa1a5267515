import {AsyncLocalStorage} from 'node:async_hooks'
import {passToHost, type Raise} from './host-errors'
import {RunWatchdog, type WatchdogOptions} from './watchdog'

/** What a job did that no `await` caught. */
export type CrashKind = 'unhandled-rejection' | 'uncaught-exception' | 'process-exit' | 'never-settled' | 'isolated-exit'

export interface Crash {
  kind: CrashKind
  error: unknown
  /** Set when the crash could not be told apart and was charged to every job running at that moment. */
  shared?: boolean
}

/** What a run is told by its watch: a crash charged to it while do() is running. */
export interface Crashed {
  crashed: Crash
}

/** One run under watch: its do() runs in the run's async context, so whatever it leaves behind is charged to it. */
export interface RunWatch {
  readonly crashed: Promise<Crashed>
  run<T>(fn: () => T): T
  /** The run is recorded: a crash charged to it later is a late crash (see Containment.onLateCrash). */
  end(): void
}

/** Told of a crash charged to a run that was already recorded: each listener tells its own runs by runId. */
export type LateCrashListener = (code: string, runId: number, crash: Crash) => void
/** Told of a crash outside every run (nothing running, no run's context), or too late to record. */
export type StrayCrashListener = (crash: Crash) => void

/** process.exit() called by a job: thrown in its place, so the job stops and the tick goes on. */
export class JobExitError extends Error {
  constructor(readonly code: number | string | null | undefined) {
    super(`the job called process.exit(${code === undefined ? '' : String(code)}); a job must return or throw, never end the process`)
    this.name = 'JobExitError'
  }
}

interface Watch extends RunWatch {
  readonly code: string
  readonly runId: number
  readonly watchdog: RunWatchdog
  active: boolean
  charge(crash: Crash): void
}

const NEVER_SETTLED = 'do() never settled, and nothing was left pending that could settle it (a promise nobody resolves?)'

/**
 * A job is untrusted code: it may leave a promise that rejects later, throw in a timer, call
 * process.exit() or wait on something that never comes. Installed on the process for the time of a
 * tick, the containment charges each such thing to the run whose code did it (each run's do() runs
 * in an async context of its own, which Node carries into timers, promises and these events), so
 * that run is recorded with the error and the other jobs still get their turn. What cannot be told
 * apart is charged to every run going at that moment, saying so; what happens outside every run is
 * reported as stray. Each run has a watchdog that finds a do() that can never settle (see
 * RunWatchdog). One containment serves every tick of a process (see process-guards.ts).
 */
export class Containment {
  private readonly storage = new AsyncLocalStorage<Watch>()
  private readonly active = new Set<Watch>()
  private readonly lateListeners = new Set<LateCrashListener>()
  private readonly strayListeners = new Set<StrayCrashListener>()

  /**
   * `watchdog`: how each run's watchdog looks in on it in a process that stays alive (none: the loop
   * running dry tells it). `embedded`: in a host's process (startScheduler), a crash is charged only
   * to the run whose async context it came from, and one outside every run is the host's (see
   * passToHost), never charged to the runs going at that moment nor told as stray.
   */
  constructor(
    private readonly watchdog?: WatchdogOptions,
    private readonly embedded = false,
  ) {}

  /** Listen for crashes charged to runs already recorded (a promise a run left behind, rejecting later); returns what stops listening. */
  onLateCrash(listener: LateCrashListener): () => void {
    return subscribe(this.lateListeners, listener)
  }

  /** Listen for crashes outside every run (the caller reports them); with no late-crash listener, a late crash is one too. */
  onStrayCrash(listener: StrayCrashListener): () => void {
    return subscribe(this.strayListeners, listener)
  }

  watch(code: string, runId: number): RunWatch {
    let charged: ((value: Crashed) => void) | undefined
    const crashed = new Promise<Crashed>((resolve) => (charged = resolve))
    const watch: Watch = {
      code,
      runId,
      active: true,
      crashed,
      watchdog: new RunWatchdog(this.watchdog, () => watch.charge({kind: 'never-settled', error: new Error(NEVER_SETTLED)})),
      run: (fn) => this.storage.run(watch, fn),
      end: () => {
        watch.active = false
        watch.watchdog.stop()
        this.active.delete(watch)
      },
      charge: (crash) => {
        if (watch.active) {
          charged?.({crashed: crash})
          charged = undefined // the first crash is the run's cause
        } else if (this.lateListeners.size > 0) for (const listener of [...this.lateListeners]) listener(code, runId, crash)
        else this.stray(crash)
      },
    }
    this.active.add(watch)
    return watch
  }

  /** The process's loop ran dry while runs wait (Node's beforeExit): nothing left could ever settle their do(). */
  loopRanDry(): void {
    for (const watch of [...this.active]) watch.watchdog.quiet()
  }

  /**
   * Listen on the process (unhandled rejections, uncaught exceptions) and take over process.exit
   * for the jobs; returns what undoes it. The process guards install it once for the process.
   * `raise`: how an embedded containment raises a host's error again (tests pass a stand-in).
   */
  install(target: NodeJS.Process = process, raise?: Raise): () => void {
    const ours = {
      rejection: (reason: unknown) => (this.isHosts() ? passToHost(target, 'unhandledRejection', reason, ours, raise) : this.charge({kind: 'unhandled-rejection', error: reason})),
      exception: (error: unknown) => (this.isHosts() ? passToHost(target, 'uncaughtException', error, ours, raise) : this.charge({kind: 'uncaught-exception', error})),
    }
    const {rejection: onRejection, exception: onException} = ours
    const exit = target.exit
    target.exit = ((code?: number | string | null) => {
      const watch = this.storage.getStore()
      if (watch === undefined) return exit.call(target, code)
      const error = new JobExitError(code)
      watch.charge({kind: 'process-exit', error})
      throw error
    }) as typeof target.exit
    target.on('unhandledRejection', onRejection)
    target.on('uncaughtException', onException)
    return () => {
      target.exit = exit
      target.off('unhandledRejection', onRejection)
      target.off('uncaughtException', onException)
    }
  }

  /** Embedded, an error outside every run's async context: the host's, not a job's. */
  private isHosts(): boolean {
    return this.embedded && this.storage.getStore() === undefined
  }

  private charge(crash: Crash): void {
    const owner = this.storage.getStore()
    if (owner !== undefined) return owner.charge(crash)
    if (this.active.size === 0) return this.stray(crash)
    for (const watch of [...this.active]) watch.charge({...crash, shared: this.active.size > 1})
  }

  private stray(crash: Crash): void {
    for (const listener of [...this.strayListeners]) listener(crash)
  }
}

function subscribe<T>(listeners: Set<T>, listener: T): () => void {
  listeners.add(listener)
  return () => void listeners.delete(listener)
}

/** How a crash is recorded: what the job did, and the error with its stack. */
export function crashDescription(crash: Crash): string {
  const what: Record<CrashKind, string> = {
    'unhandled-rejection': 'a promise it did not await rejected',
    'uncaught-exception': 'an exception no code caught (thrown in a callback?)',
    'process-exit': 'it called process.exit()',
    'never-settled': 'it never settled',
    'isolated-exit': 'its isolated process died (process.exit(), a native crash, out of memory?)',
  }
  return `crashed: ${what[crash.kind]}${crash.shared ? ' (it could not be told which of the jobs running at that moment did it: charged to each)' : ''}`
}
