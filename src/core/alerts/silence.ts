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
