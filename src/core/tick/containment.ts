import {AsyncLocalStorage} from 'node:async_hooks'

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
  active: boolean
  charge(crash: Crash): void
}

/**
 * A job is untrusted code: it may leave a promise that rejects later, throw in a timer, call
 * process.exit() or wait on something that never comes. Installed on the process for the time of a
 * tick, the containment charges each such thing to the run whose code did it (each run's do() runs
 * in an async context of its own, which Node carries into timers, promises and these events), so
 * that run is recorded with the error and the other jobs still get their turn. What cannot be told
 * apart is charged to every run going at that moment, saying so; what happens outside every run is
 * reported as stray.
 */
export class Containment {
  /** A crash charged to a run that was already recorded (a promise it left behind, rejecting later). */
  onLateCrash?: (code: string, runId: number, crash: Crash) => void
  /** A crash outside every run (nothing running, no run's context), or too late to record: the caller reports it. */
  onStrayCrash?: (crash: Crash) => void
  private readonly storage = new AsyncLocalStorage<Watch>()
  private readonly active = new Set<Watch>()

  watch(code: string, runId: number): RunWatch {
    let charged: ((value: Crashed) => void) | undefined
    const crashed = new Promise<Crashed>((resolve) => (charged = resolve))
    const watch: Watch = {
      code,
      runId,
      active: true,
      crashed,
      run: (fn) => this.storage.run(watch, fn),
      end: () => {
        watch.active = false
        this.active.delete(watch)
      },
      charge: (crash) => {
        if (watch.active) {
          charged?.({crashed: crash})
          charged = undefined // the first crash is the run's cause
        } else if (this.onLateCrash) this.onLateCrash(code, runId, crash)
        else this.onStrayCrash?.(crash)
      },
    }
    this.active.add(watch)
    return watch
  }

  /**
   * Listen on the process (unhandled rejections, uncaught exceptions, the event loop running dry)
   * and take over process.exit for the jobs; returns what undoes it.
   */
  install(target: NodeJS.Process = process): () => void {
    const onRejection = (reason: unknown) => this.charge({kind: 'unhandled-rejection', error: reason})
    const onException = (error: unknown) => this.charge({kind: 'uncaught-exception', error})
    // The loop ran dry while runs wait: nothing left could ever settle their do().
    const onDry = () => {
      for (const watch of [...this.active]) watch.charge({kind: 'never-settled', error: new Error('do() never settled, and nothing was left pending that could settle it (a promise nobody resolves?)')})
    }
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
    target.on('beforeExit', onDry)
    return () => {
      target.exit = exit
      target.off('unhandledRejection', onRejection)
      target.off('uncaughtException', onException)
      target.off('beforeExit', onDry)
    }
  }

  private charge(crash: Crash): void {
    const owner = this.storage.getStore()
    if (owner !== undefined) return owner.charge(crash)
    if (this.active.size === 0) return this.onStrayCrash?.(crash)
    for (const watch of [...this.active]) watch.charge({...crash, shared: this.active.size > 1})
  }
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
