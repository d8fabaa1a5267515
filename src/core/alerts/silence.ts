/**
 * A server is silent when its last tick is `silentAfterMs` (the settings' alerts.silentAfterMinutes)
 * or more before `nowMs`: the tick's watch alerts on it (runner_silent), and `manage runners` and the
 * dashboard's runners page show it so.
 */
export function isSilent(lastTickMs: number, nowMs: number, silentAfterMs: number): boolean {
  return nowMs - lastTickMs >= silentAfterMs
}
