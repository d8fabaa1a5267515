import type {Timers} from './timers'

/** How a run's watchdog looks in on it, in a process that stays alive (a resident scheduler). */
export interface WatchdogOptions {
  /** How often it looks (unref'd timers by default, so the watchdog never keeps a process alive). */
  beatMs: number
  timers: Timers
  /** Whether nothing in the process is left that could settle a run (see quietBeyond). */
  isQuiet(): boolean
}

/** Quiet beats in a row before a run is declared never settling: one could fall between two steps of a handover. */
const QUIET_BEATS = 2

/**
 * One run's watchdog: it tells when the run's do() can never settle (a promise nobody resolves,
 * nothing left pending). A process that ends after its tick learns it from the loop running dry
 * (Node's beforeExit, which the process guards pass on as `quiet()`); a process that stays alive
 * never gets that event, so there the watchdog looks in every `beatMs` and asks `isQuiet`.
 */
export class RunWatchdog {
  private beat: {cancel(): void} | null = null
  private quietBeats = 0
  private over = false

  constructor(
    private readonly options: WatchdogOptions | undefined,
    private readonly neverSettles: () => void,
  ) {
    this.next()
  }

  /** Nothing is left that could settle the run. */
  quiet(): void {
    if (this.over) return
    this.stop()
    this.neverSettles()
  }

  /** The run settled (or was otherwise ended): look in no more. */
  stop(): void {
    this.over = true
    this.beat?.cancel()
    this.beat = null
  }

  private next(): void {
    if (this.over || this.options === undefined) return
    const {timers, beatMs, isQuiet} = this.options
    const wait = timers.sleep(beatMs)
    this.beat = wait
    void wait.done.then(() => {
      if (this.over) return
      this.quietBeats = isQuiet() ? this.quietBeats + 1 : 0
      if (this.quietBeats >= QUIET_BEATS) this.quiet()
      else this.next()
    })
  }
}

/** What keeps the process alive now, by kind (Node's resource names: ref'd handles and requests under way). */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  return counts
}

/**
 * The loop running dry, told in a process that stays alive: quiet when nothing keeps the process
 * alive beyond `baseline`, what the host itself keeps alive (its server, its standard streams, its
 * own timer) taken when it installs the guards. A connection in use, a timer, a child process or a
 * file request beyond it is work that could still settle a run. Unref'd handles are not counted,
 * as they do not keep a process alive (the tick's idle database connection, a lease's renewal).
 */
export function quietBeyond(baseline: ReadonlyMap<string, number> = activeResources()): () => boolean {
  return () => {
    for (const [kind, count] of activeResources()) if (count > (baseline.get(kind) ?? 0)) return false
    return true
  }
}
