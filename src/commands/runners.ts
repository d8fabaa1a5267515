import {Flags} from '@oclif/core'
import {BaseCommand, jsonFlag} from '../cli/base-command'
import {formatTime} from '../cli/output/render'
import {isoTime} from '../core/time/format'
import {formatTable} from '../cli/output/table'
import {isSilent} from '../core/alerts/silence'
import {SqlServerTicks} from '../core/run-log/server-ticks'
import {MINUTE_MS} from '../core/time/units'

export default class Runners extends BaseCommand<typeof Runners> {
  static summary = "Show the servers that run manage runcrons, with each one's last tick (its heartbeat)."

  static description =
    'Each plain crontab tick records its server, pid and version. A server that stops ticking while others tick is reported (runner_silent) once; one taken out of service can be forgotten with --forget, so it is not reported again.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --forget web3', '<%= config.bin %> <%= command.id %> --json']

  static flags = {
    forget: Flags.string({description: "Forget this server's heartbeat (taken out of service)."}),
    json: jsonFlag('Print JSON instead of a table.'),
  }

  async run(): Promise<void> {
    const servers = new SqlServerTicks(this.project.runLogSource())
    if (this.flags.forget !== undefined) {
      const forgotten = await servers.forget(this.flags.forget)
      this.log(forgotten ? `Forgot ${this.flags.forget}.` : `No heartbeat from ${this.flags.forget}: nothing to forget.`)
      return
    }
    const settings = await this.project.settings()
    const now = (await this.project.clock())()
    const ticks = await servers.list()
    const silentAfterMs = settings.alerts.silentAfterMs
    if (this.flags.json) {
      this.printJson(ticks.map((tick) => ({host: tick.host, version: tick.version, lastTickAt: isoTime(tick.atMs), silent: isSilent(tick.atMs, now, silentAfterMs)})))
      return
    }
    if (ticks.length === 0) {
      this.log('No ticks recorded yet: the crontab line (manage crontab --install) records one a minute.')
      return
    }
    const ago = (ms: number) => (ms < MINUTE_MS ? 'just now' : `${Math.round(ms / MINUTE_MS)} min ago`)
    const rows = ticks.map((tick) => [tick.host, tick.version ?? '', formatTime(tick.atMs, settings.timeZone), ago(now - tick.atMs), isSilent(tick.atMs, now, silentAfterMs) ? this.paint.error('silent') : this.paint.ok('ticking')])
    this.log(formatTable(['HOST', 'VERSION', 'LAST TICK', 'AGO', 'STATE'], rows))
  }
}
