/** A cancellable wait: timeouts and grace periods go through it, so tests can drive them. */
export interface Timers {
  sleep(ms: number): Wait
}

export interface Wait {
  done: Promise<void>
  cancel(): void
}

export const realTimers: Timers = {
  sleep(ms) {
    let timer: NodeJS.Timeout | undefined
    const done = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))
    return {done, cancel: () => clearTimeout(timer)}
  },
}

/** Timers that never keep the process alive (unref'd): for watching, never for waiting. */
export const backgroundTimers: Timers = {
  sleep(ms) {
    let timer: NodeJS.Timeout | undefined
    const done = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))
    timer?.unref()
    return {done, cancel: () => clearTimeout(timer)}
  },
}
