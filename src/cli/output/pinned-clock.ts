import {commandIO} from './command-io'
import type {Painter} from './render'

/**
 * One line on stderr when a command that writes runs under MANAGE_NOW: the rows it writes are dated
 * then, not now, and future rows mislead what reads the log after (crons:history lists them first,
 * the next ticks and alerts read them). The commands that write say so (BaseCommand.writes, the
 * crontab's plain tick); --dry-run writes nothing. MANAGE_NOW_QUIET=1 is for the tests that pin the
 * clock on purpose. Costs a look at the environment, so the per-minute tick can afford it.
 */
export function warnIfClockPinned(env: NodeJS.ProcessEnv, paint: Painter): void {
  const pinned = env.MANAGE_NOW
  if (!pinned || env.MANAGE_NOW_QUIET) return
  commandIO().stderr.write(`${paint.warn('warning:')} MANAGE_NOW=${pinned} pins the clock: the rows written are dated then, not now (use --dry-run to only see what would run)\n`)
}
