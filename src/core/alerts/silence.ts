/** Who calls the tick: the crontab line (a process a minute) or a resident scheduler. Each has its heartbeat (cron_tick, by host and kind). */
export type RunnerKind = 'crontab' | 'scheduler'

export const RUNNER_KINDS: readonly RunnerKind[] = ['crontab', 'scheduler']

/**
 * A runner (a server's crontab tick or scheduler) is silent when its last tick is `silentAfterMs` (the settings' alerts.silentAfterMinutes)
 * or more before `nowMs`: the tick's watch alerts on it (runner_silent), and `manage runners` and the
 * dashboard's runners page show it so.
 */
export function isSilent(lastTickMs: number, nowMs: number, silentAfterMs: number): boolean {
  return nowMs - lastTickMs >= silentAfterMs
}

/**
 * A scheduler serves the sub-minute jobs (runEverySeconds, six-field crons) while its last tick is
 * younger than this: a running scheduler wakes at least once a minute and records its tick at most
 * every 30 s, so its row is never much more than a minute old; two minutes allow one late heartbeat.
 */
export const SCHEDULER_RECENT_MS = 2 * 60_000

/** The scheduler that ticked last, if within SCHEDULER_RECENT_MS of `nowMs` (then it serves the sub-minute jobs), else null. */
export function recentScheduler<T extends {kind: RunnerKind; atMs: number}>(ticks: readonly T[], nowMs: number): T | null {
  let latest: T | null = null
  for (const tick of ticks) if (tick.kind === 'scheduler' && nowMs - tick.atMs < SCHEDULER_RECENT_MS && (latest === null || tick.atMs > latest.atMs)) latest = tick
  return latest
}
