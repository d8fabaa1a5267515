import {hostname} from 'node:os'
import {BaseCommand, jsonFlag} from '../../cli/base-command'
import {describeChannel} from '../../core/alerts/channels/registry'
import {sendTestAlert} from '../../core/notify/send-alert'
import {CommandError} from '../../core/base/errors'

export default class NotifyTest extends BaseCommand<typeof NotifyTest> {
  static writes = true

  static summary = 'Send a sample alert to every channel in the settings (alerts.webhooks, alerts.email) and report each result.'

  static description = 'Each channel gets the same alert (kind "test"); a channel that fails is reported with the reason, without its secrets (a webhook is shown by its origin only). Exit 1 when a channel failed or none is configured.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  static flags = {
    json: jsonFlag(),
  }

  async run(): Promise<void> {
    const settings = await this.project.settings()
    const {channels} = settings.alerts
    // The tick runs the jobs past a mistake in the alerts; a test of them stops at it.
    if (settings.alertProblems.length > 0) throw new CommandError(settings.alertProblems.map((problem) => `settings ${settings.file}: ${problem}`).join('\n'))
    if (channels.length === 0) throw new CommandError('no alert channels in the settings: add alerts: {webhooks: [...]} or alerts: {email: {...}} (see README, "Alerts and monitoring")')
    const deliveries = await sendTestAlert(channels, hostname(), new Date((await this.project.clock())()).toISOString())
    if (this.flags.json) {
      this.printJson(deliveries.map((delivery) => ({channel: describeChannel(delivery.channel), ok: delivery.ok, detail: delivery.detail, ms: delivery.ms})))
    } else {
      for (const delivery of deliveries) {
        const mark = delivery.ok ? this.paint.ok('✔') : this.paint.error('✗')
        this.log(`${mark} ${describeChannel(delivery.channel)}: ${delivery.detail} (${delivery.ms} ms)`)
      }
    }
    if (deliveries.some((delivery) => !delivery.ok)) this.exit(1)
  }
}
