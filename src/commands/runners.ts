import {Flags} from '@oclif/core'
import {BaseCommand, jsonFlag} from '../cli/base-command'
import {formatTime} from '../cli/output/render'
import {isoTime} from '../core/time/format'
import {formatTable} from '../cli/output/table'
import {isSilent, RUNNER_KINDS, type RunnerKind} from '../core/alerts/silence'
import {SqlServerTicks} from '../core/run-log/server-ticks'
import {MINUTE_MS} from '../core/time/units'
import {UsageError} from '../core/base/errors'
import {LAG_WARN_MS} from '../core/runners/loop-lag'
import {formatDuration} from '../core/time/format'

export default class Runners extends BaseCommand<typeof Runners> {
  static summary = "Show the runners (each server's crontab tick, each resident scheduler), with each one's version, since when it runs and its last tick (its heartbeat)."

  static description =
    "Each plain crontab tick records its server's crontab runner (kind crontab); a resident scheduler records its own (kind scheduler), at most every 30 s. SINCE is a scheduler's process start, and for the crontab the first tick after it was last silent. LAG is a scheduler's worst event-loop lag between its last two heartbeats, measured while jobs ran in its process (empty when none did); past a second, a warning names those jobs (a job that computes holds back every other start: give it isolate = true). A runner that stops ticking while others tick is reported (runner_silent) once; one taken out of service can be forgotten with --forget (all of a server's runners, or the one --kind names), so it is not reported again."

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --forget web3', '<%= config.bin %> <%= command.id %> --forget web3 --kind crontab', '<%= config.bin %> <%= command.id %> --kind scheduler --json']

  static flags = {
    forget: Flags.string({description: "Forget this server's heartbeats (taken out of service)."}),
    kind: Flags.string({description: `Only the runners of this kind (${RUNNER_KINDS.join(' or ')}): listed, or forgotten with --forget.`}),
    json: jsonFlag('Print JSON instead of a table.'),
  }

  async run(): Promise<void> {
    const kind = this.flags.kind
    if (kind !== undefined && !(RUNNER_KINDS as readonly string[]).includes(kind)) {
      throw new UsageError(`--kind '${kind}' is not a kind of runner: use ${RUNNER_KINDS.join(' or ')}`)
    }
    const servers = new SqlServerTicks(this.project.runLogSource())
    if (this.flags.forget !== undefined) {
      const which = kind === undefined ? this.flags.forget : `${this.flags.forget}'s ${kind}`
      const forgotten = await servers.forget(this.flags.forget, kind as RunnerKind | undefined)
      this.log(forgotten ? `Forgot ${which}.` : `No heartbeat from ${which}: nothing to forget.`)
      return
    }
    const settings = await this.project.settings()
    const now = (await this.project.clock())()
    const ticks = (await servers.list()).filter((tick) => kind === undefined || tick.kind === kind)
    const silentAfterMs = settings.alerts.silentAfterMs
    if (this.flags.json) {
      this.printJson(ticks.map((tick) => ({host: tick.host, kind: tick.kind, pid: tick.pid, version: tick.version, since: isoTime(tick.sinceMs), lastTickAt: isoTime(tick.atMs), silent: isSilent(tick.atMs, now, silentAfterMs), lagMs: tick.lag?.lagMs ?? null, lagJobs: tick.lag?.codes ?? null})))
      return
    }
    if (ticks.length === 0) {
      this.log(kind === undefined ? 'No ticks recorded yet: the crontab line (manage crontab --install) records one a minute.' : `No ${kind} runner has ticked yet.`)
      return
    }
    const ago = (ms: number) => (ms < MINUTE_MS ? 'just now' : `${Math.round(ms / MINUTE_MS)} min ago`)
    // Only a scheduler measures its lag: no LAG column for crontab runners alone.
    const schedulers = ticks.some((tick) => tick.kind === 'scheduler')
    const rows = ticks.map((tick) => [
      tick.host,
      tick.kind,
      tick.version ?? '',
      formatTime(tick.sinceMs, settings.timeZone),
      formatTime(tick.atMs, settings.timeZone),
      ago(now - tick.atMs),
      ...(schedulers ? [tick.lag === null ? '' : lagged(tick.lag.lagMs) ? this.paint.warn(formatDuration(tick.lag.lagMs)) : formatDuration(tick.lag.lagMs)] : []),
      isSilent(tick.atMs, now, silentAfterMs) ? this.paint.error('silent') : this.paint.ok('ticking'),
    ])
    this.log(formatTable(['HOST', 'KIND', 'VERSION', 'SINCE', 'LAST TICK', 'AGO', ...(schedulers ? ['LAG'] : []), 'STATE'], rows))
    for (const tick of ticks) {
      if (tick.lag === null || !lagged(tick.lag.lagMs)) continue
      const jobs = tick.lag.codes.length === 0 ? 'its jobs' : tick.lag.codes.join(', ')
      this.log(`${this.paint.warn('[!]')} the ${tick.kind} on ${tick.host} lagged ${formatDuration(tick.lag.lagMs)} (its event loop blocked) while ${jobs} ran in its process: every other job's start waits; give the one that computes isolate = true (its own process)`)
    }
  }
}

/** A lag worth a warning: as the scheduler's log warns (LAG_WARN_MS). */
function lagged(lagMs: number): boolean {
  return lagMs >= LAG_WARN_MS
}
