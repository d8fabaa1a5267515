import type {TickPlan} from './plan'
import {aside} from './run-crons'
import {tickParts, tickScope, type RunCronsOptions} from './tick-scope'

/**
 * The watch alone, on a plan that still stands (a scheduler's refresh found the run log unchanged
 * since it was made, so its histories are the log's): the runners' ticks and the pauses read
 * again, missed runs, stuck runs and silent runners looked for at `nowMs`, then the outbox's
 * delivery, as a tick does them (a failure is a warning). Nothing is planned or run.
 */
export async function watchAgain(options: RunCronsOptions, plan: TickPlan, nowMs: number): Promise<void> {
  const parts = tickParts(options)
  const tick = tickScope(options, parts, plan.decide, plan.jobs)
  const state = parts.servers ? await parts.servers.tickState() : plan.snapshot.state
  await aside(tick, 'watching for missed runs and silent servers', () => tick.alerts.watch(plan.jobs, state, plan.snapshot.histories, nowMs))
  await aside(tick, 'delivering alerts', () => tick.alerts.deliver())
}
