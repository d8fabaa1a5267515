import {Flags} from '@oclif/core'
import {BaseCommand, jsonFlag} from '../../cli/base-command'
import {formatTime} from '../../cli/output/render'
import {UsageError} from '../../core/base/errors'
import {SqlAlertOutbox} from '../../core/run-log/alert-outbox'
import {DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS} from '../../core/time/units'

export default class CronsClean extends BaseCommand<typeof CronsClean> {
  static writesDatabase = true
  static writes = true

  static summary = 'Delete run-log rows older than an age, the alerts done with (delivered or abandoned) raised before it, and the period ledger\'s skips of periods before it; a run that is still going, or an alert still to deliver, is never deleted.'

  static description = 'The settings\' deleteLogsOlderThanDays does the same for the run log at the end of every tick (django-cron\'s DJANGO_CRON_DELETE_LOGS_OLDER_THAN).'

  static examples = ['<%= config.bin %> <%= command.id %> --older-than 30d', '<%= config.bin %> <%= command.id %> --older-than 12h --keep-failed --dry-run']

  static flags = {
    'older-than': Flags.string({description: 'Age: a number and a unit, m, h, d or w (30d, 12h, 2w).', required: true}),
    'keep-failed': Flags.boolean({description: 'Keep failed, interrupted and timed-out runs.'}),
    'dry-run': Flags.boolean({description: 'Count what would be deleted; delete nothing.'}),
    json: jsonFlag(),
  }

  async run(): Promise<void> {
    const age = parseAge(this.flags['older-than'])
    if (age === null) throw new UsageError(`--older-than '${this.flags['older-than']}' is not an age: use a number and a unit, e.g. 30d, 12h, 90m or 2w`)
    const settings = await this.project.settings()
    const cutoff = (await this.project.clock())() - age
    const store = this.project.runStore()
    const dryRun = this.flags['dry-run']
    const count = await store.deleteRunsBefore(cutoff, {keepFailed: this.flags['keep-failed'], dryRun})
    const alerts = await new SqlAlertOutbox(this.project.runLogSource()).deleteBefore(cutoff, {dryRun})
    const skips = await store.deleteSkipsBefore(cutoff, {dryRun})
    if (this.flags.json) {
      this.printJson({deleted: dryRun ? 0 : count, wouldDelete: dryRun ? count : undefined, alertsDeleted: dryRun ? 0 : alerts, alertsWouldDelete: dryRun ? alerts : undefined, skipsDeleted: dryRun ? 0 : skips, skipsWouldDelete: dryRun ? skips : undefined, before: new Date(cutoff).toISOString()}, {compact: true})
      return
    }
    this.log(`${dryRun ? 'Would delete' : 'Deleted'} ${count} run(s) started before ${formatTime(cutoff, settings.timeZone)}${this.flags['keep-failed'] ? ' (failures kept)' : ''}.`)
    if (alerts > 0) this.log(`${dryRun ? 'Would delete' : 'Deleted'} ${alerts} alert(s) delivered or abandoned, raised before then.`)
    if (skips > 0) this.log(`${dryRun ? 'Would delete' : 'Deleted'} ${skips} skipped period(s) of the ledger, before then.`)
  }
}

const UNITS: Record<string, number> = {m: MINUTE_MS, h: HOUR_MS, d: DAY_MS, w: WEEK_MS}

/** '30d', '12h', '90m', '2w' → ms; null when malformed. */
function parseAge(text: string): number | null {
  const match = /^(\d+)\s*([mhdw])$/i.exec(text.trim())
  if (!match || Number(match[1]) <= 0) return null
  return Number(match[1]) * UNITS[match[2].toLowerCase()]
}
