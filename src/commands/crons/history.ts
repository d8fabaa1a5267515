import {Args, Flags} from '@oclif/core'
import {BaseCommand, jsonFlag} from '../../cli/base-command'
import {formatTime} from '../../cli/output/render'
import {formatDuration, isoTime} from '../../core/time/format'
import {formatTable} from '../../cli/output/table'
import {UsageError} from '../../core/base/errors'
import {isRunStatus, RUN_STATUSES, type RunStatus, type SkippedPeriod} from '../../core/contract/run-types'
import {firstLine} from '../../core/base/text'
import {loadJob} from '../../core/jobs/load-jobs'
import {selectByName} from '../../core/jobs/select-jobs'
import {startedLateNote} from '../../core/schedule/describe'

export default class CronsHistory extends BaseCommand<typeof CronsHistory> {
  static summary = 'Show the run log, newest first, with durations, the version of the code that ran each run and the first line of each message.'

  static description =
    "VERSION is the app's code as the run recorded it: MANAGE_VERSION, else package.json's version plus the git commit (1.4.2+3f9c2ab); the column is left out when no run listed has one. A run a scheduler started late, because every slot of its --concurrency was taken, or that its limit held back, says by how much and why (startedLateMs and lateReason in --json; null when it started on time)."

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> app.heartbeat --limit 5',
    '<%= config.bin %> <%= command.id %> --status failed --full',
    '<%= config.bin %> <%= command.id %> app.report --status skipped',
  ]

  static args = {
    code: Args.string({description: "Only this job's runs: its code (also a job no longer in the settings) or class name."}),
  }

  static flags = {
    status: Flags.string({description: `Only runs with this status (${RUN_STATUSES.join(', ')}), or 'skipped': the periods the ledger records as skipped by a policy, and why.`}),
    limit: Flags.integer({description: 'How many runs.', default: 20, min: 1}),
    full: Flags.boolean({description: 'Print whole messages and stack traces.'}),
    json: jsonFlag('Print JSON instead of a table.'),
  }

  async run(): Promise<void> {
    const {status, limit, full, json} = this.flags
    if (status !== undefined && status !== 'skipped' && !isRunStatus(status)) {
      throw new UsageError(`--status '${status}' is not a run status: use one of ${RUN_STATUSES.join(', ')}, or skipped`)
    }
    const settings = await this.project.settings()
    const zone = settings.timeZone
    const store = this.project.runStore()
    const code = this.args.code === undefined ? undefined : await this.jobCode(this.args.code)
    if (status === 'skipped') return this.skips(await store.listSkips({code, limit}), zone)
    const runs = await store.listRuns({code, status: status as RunStatus | undefined, limit})
    if (json) {
      this.printJson(runs.map((run) => ({id: run.id, code: run.code, status: run.status, startTime: isoTime(run.startMs), endTime: isoTime(run.endMs), durationMs: run.endMs === null ? null : run.endMs - run.startMs, ranAtTime: run.ranAtTime, period: isoTime(run.periodMs ?? null), forced: run.forced ?? false, host: run.host, pid: run.pid, version: run.version, startedLateMs: run.startedLateMs, lateReason: run.lateReason, message: run.message})))
      return
    }
    if (runs.length === 0) {
      this.log('No runs.')
      return
    }
    if (full) {
      for (const run of runs) {
        this.log(`#${run.id} ${run.code} ${run.status} ${formatTime(run.startMs, zone)}${run.endMs === null ? '' : ` (${formatDuration(run.endMs - run.startMs)})`}${run.ranAtTime ? ` slot ${run.ranAtTime}` : ''} on ${run.host ?? '?'} pid ${run.pid ?? '?'}${run.version === null ? '' : ` version ${run.version}`}${run.startedLateMs === null ? '' : `, ${startedLateNote(run.startedLateMs, run.lateReason)}`}`)
        if (run.message) this.log(run.message.replace(/^/gm, '    '))
      }
      return
    }
    const versions = runs.some((run) => run.version !== null)
    const rows = runs.map((run) => [
      String(run.id),
      run.code,
      run.status,
      formatTime(run.startMs, zone),
      run.endMs === null ? '' : formatDuration(run.endMs - run.startMs),
      ...(versions ? [run.version ?? ''] : []),
      [...(run.startedLateMs === null ? [] : [startedLateNote(run.startedLateMs, run.lateReason)]), ...(run.message ? [firstLine(run.message)] : [])].join('; '),
    ])
    this.log(formatTable(['ID', 'CODE', 'STATUS', 'STARTED', 'DURATION', ...(versions ? ['VERSION'] : []), 'MESSAGE'], rows))
  }

  /** The ledger's skips, newest period first: each a period that ended without a run, and why. */
  private skips(skips: readonly SkippedPeriod[], zone: string): void {
    if (this.flags.json) return this.printJson(skips.map((skip) => ({id: skip.id, code: skip.code, period: isoTime(skip.periodMs), reason: skip.reason, recordedAt: isoTime(skip.recordedMs), host: skip.host, pid: skip.pid})))
    if (skips.length === 0) return this.log('No skipped periods.')
    this.log(formatTable(['ID', 'CODE', 'PERIOD', 'RECORDED', 'REASON'], skips.map((skip) => [String(skip.id), skip.code, formatTime(skip.periodMs, zone), `${formatTime(skip.recordedMs, zone)}${skip.host ? ` on ${skip.host}` : ''}`, skip.reason])))
  }

  /**
   * The code to show: one the run log has runs of (a job since removed from the settings too), else
   * a job of the settings by code or class name; an unknown name is a usage error with the nearest
   * names, as every command that takes a job says it.
   */
  private async jobCode(name: string): Promise<string> {
    if ((await this.project.runStore().listRuns({code: name, limit: 1})).length > 0) return name
    const settings = await this.project.settings()
    const [cls] = selectByName([name], settings.crons, settings.cronsDir)
    return loadJob(cls).job?.code ?? name
  }
}
