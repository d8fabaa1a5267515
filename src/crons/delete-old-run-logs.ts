import {CronJobBase, type CronContext} from '../core/contract/cron-job-base'

/** Deletes run-log rows older than `keepDays` days, every night; never a run that is still going. */
export class DeleteOldRunLogsCronJob extends CronJobBase {
  code = 'manage.delete_old_run_logs'
  runAtTimes = ['03:30']
  retryAfterFailureMins = 30
  keepDays = 30

  async do(ctx: CronContext): Promise<string> {
    const days = Number(ctx.settings.runLogKeepDays ?? this.keepDays)
    if (!Number.isInteger(days) || days < 1) throw new Error(`runLogKeepDays must be a whole number of days ≥ 1, not ${String(ctx.settings.runLogKeepDays)}`)
    const cutoff = ctx.now.minus({days})
    const deleted = await ctx.runLog.deleteRunsBefore(cutoff.toMillis())
    return `deleted ${deleted} run-log row(s) started before ${cutoff.toISO()}`
  }
}
