import {Flags} from '@oclif/core'
import {BaseCommand, jsonFlag} from '../cli/base-command'
import {formatTime} from '../cli/output/render'
import {isoTime} from '../core/time/format'
import {formatTable} from '../cli/output/table'
import {SqlAlertOutbox} from '../core/run-log/alert-outbox'
import {firstLine} from '../core/base/text'

export default class Alerts extends BaseCommand<typeof Alerts> {
  static summary = 'Show the latest alerts, newest first: what each said, and whether it was delivered, is waiting to be tried again, or was abandoned.'

  static description = 'Alerts are written with the outcome that caused them and delivered by the ticks (see README, "Alerts and monitoring"); each delivery attempt is recorded.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --full --limit 5', '<%= config.bin %> <%= command.id %> --json']

  static flags = {
    limit: Flags.integer({description: 'How many alerts.', default: 20, min: 1}),
    full: Flags.boolean({description: 'Print each alert whole, as it was sent.'}),
    json: jsonFlag('Print JSON instead of a table.'),
  }

  async run(): Promise<void> {
    const {limit, full, json} = this.flags
    const zone = (await this.project.settings()).timeZone
    const alerts = await new SqlAlertOutbox(this.project.runLogSource()).recent(limit)
    if (json) {
      this.printJson(alerts.map((alert) => ({...alert, createdMs: undefined, nextAttemptMs: undefined, deliveredMs: undefined, createdAt: isoTime(alert.createdMs), nextAttemptAt: alert.status === 'pending' ? isoTime(alert.nextAttemptMs) : null, deliveredAt: isoTime(alert.deliveredMs)})))
      return
    }
    if (alerts.length === 0) {
      this.log('No alerts.')
      return
    }
    if (full) {
      for (const alert of alerts) {
        this.log(`#${alert.id} ${alert.kind} ${alert.status} (${alert.attempts} attempt(s)) raised ${formatTime(alert.createdMs, zone)}`)
        this.log(alert.text.replace(/^/gm, '    '))
      }
      return
    }
    const state = (alert: (typeof alerts)[number]) =>
      alert.status === 'delivered' ? `delivered ${formatTime(alert.deliveredMs!, zone)}` : alert.status === 'pending' ? `pending, next try ${formatTime(alert.nextAttemptMs, zone)}` : alert.status
    const rows = alerts.map((alert) => [String(alert.id), alert.kind, alert.code ?? '', formatTime(alert.createdMs, zone), state(alert), String(alert.attempts), firstLine(alert.text)])
    this.log(formatTable(['ID', 'KIND', 'JOB', 'RAISED', 'STATE', 'TRIES', 'SAYS'], rows))
  }
}
