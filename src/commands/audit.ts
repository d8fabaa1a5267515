import {Args, Flags} from '@oclif/core'
import {BaseCommand, jsonFlag} from '../cli/base-command'
import {formatTime} from '../cli/output/render'
import {formatDuration, isoTime} from '../core/time/format'
import {UsageError} from '../core/base/errors'
import {loadJobs, type LoadedJob} from '../core/jobs/load-jobs'
import {findJob} from '../core/jobs/select-jobs'
import {usesLedger} from '../core/jobs/run-policy'
import {decisionOptions} from '../core/project/settings'
import {auditJobSince, type AuditCounts, type AuditPeriod, type JobAudit} from '../core/schedule/audit'
import {describeSchedule} from '../core/schedule/describe'
import {SLOT_WINDOW_MS} from '../core/schedule/history'
import {DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS} from '../core/time/units'

/** How many of a job's latest runs the audit reads: 70 days of an every-minute job. */
const MAX_RUNS = 100_000
const UNITS: Record<string, number> = {m: MINUTE_MS, h: HOUR_MS, d: DAY_MS, w: WEEK_MS}

export default class Audit extends BaseCommand<typeof Audit> {
  static summary = 'Every period each schedule called for, against the runs recorded: ran, late, missed, ran twice, failed, skipped (by a policy), extra (forced).'

  static description = `For each job (or the one named), runcrons' own decision is asked at every crontab tick since --since, on the run log as it stood then: each time the schedule called for a run is a period, served by the next run (late past 2 minutes), missed when it stopped being due without one (a slot whose day ended), or when an interval job's run came a whole interval late; a second run for one period ran twice, a run nothing called for is extra (forced by hand, or a clock jump). A job is audited from its first run (a job deployed today is not missing yesterday); one with no run at all is said to have never run, and not counted. A job with a catch-up policy is read off its period ledger instead: each period has one record, a run or a skip with its reason; a period with neither is missed (unaccounted). DST days are ticks like the others. Exit 1 when anything was missed or ran twice, so the audit can itself be monitored.`

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> app.fetch_items --since 30d --json']

  static args = {
    name: Args.string({description: 'One job: its code or class name [default: every job in the settings].'}),
  }

  static flags = {
    since: Flags.string({description: 'How far back: a number and m, h, d or w.', default: '7d'}),
    json: jsonFlag(),
  }

  async run(): Promise<void> {
    const match = /^(\d+)\s*([mhdw])$/.exec(this.flags.since.trim())
    if (!match || Number(match[1]) === 0) throw new UsageError(`--since '${this.flags.since}' is not a duration: use e.g. --since 7d (m, h, d or w)`)
    const settings = await this.project.settings()
    const jobs: LoadedJob[] = this.args.name ? [findJob(this.args.name, settings.crons, settings.cronsDir)] : loadJobs(settings.crons).jobs
    const toMs = (await this.project.clock())()
    const fromMs = toMs - Number(match[1]) * UNITS[match[2]]
    const store = this.project.runStore()
    const paused = await store.pausedJobs()
    const reports: {job: LoadedJob; audit: JobAudit}[] = []
    for (const job of jobs) {
      // Newest first: the last row up to the window's end is the job's first (unless the log holds more than MAX_RUNS).
      const all = (await store.listRuns({code: job.code, limit: MAX_RUNS})).filter((run) => run.startMs <= toMs)
      const firstRunMs = all.length === 0 ? null : all.length === MAX_RUNS ? fromMs : all[all.length - 1].startMs
      // The runs of the window, and enough before it for the history its first decisions read.
      const runs = all.filter((run) => run.startMs >= fromMs - SLOT_WINDOW_MS)
      // A catch-up job's periods are read off its ledger: its skips beside its runs.
      const ledger = !usesLedger(job.policy) ? undefined : await store.listSkips({code: job.code, sinceMs: fromMs - SLOT_WINDOW_MS, limit: MAX_RUNS})
      const first = ledger?.length ? Math.min(firstRunMs ?? Infinity, ledger[ledger.length - 1].periodMs) : firstRunMs
      reports.push({job, audit: auditJobSince(job.schedule, runs, fromMs, toMs, {...decisionOptions(settings), paused: paused.get(job.code) ?? null, firstRunMs: first, ledger})})
    }
    const bad = reports.some(({audit}) => audit.bad)
    if (this.flags.json) {
      const jobJson = ({job, audit}: {job: LoadedJob; audit: JobAudit}) => ({code: job.code, schedule: describeSchedule(job.schedule, job.policy), from: isoTime(audit.fromMs), neverRan: audit.neverRan, counts: audit.counts, unaccounted: audit.counts.missed, problems: audit.periods.filter((period) => period.status !== 'ran').map(periodJson)})
      this.printJson({from: isoTime(fromMs), to: isoTime(toMs), ok: !bad, jobs: reports.map(jobJson)})
    } else {
      for (const {job, audit} of reports) {
        const zone = job.schedule.timeZone ?? settings.timeZone
        const head = `${job.code} (${describeSchedule(job.schedule, job.policy)})`
        if (audit.neverRan) {
          this.log(`${head}: never ran (no run recorded by ${formatTime(toMs, zone)}; nothing counted as missed)`)
          continue
        }
        this.log(`${head}: ${audit.counts.periods} period(s) since ${formatTime(audit.fromMs, zone)}${audit.fromMs > fromMs ? ' (its first run)' : ''}: ${countsText(audit.counts)}`)
        for (const period of audit.periods.filter((candidate) => candidate.status !== 'ran')) this.log(`  ${period.status.padEnd(7)} ${formatTime(period.dueMs, zone)}${period.slot ? ` slot ${period.slot}` : ''}  ${periodText(period)}`)
      }
    }
    if (bad) this.exit(1)
  }
}

/** The counts in words, each number as the JSON's counts say it. */
function countsText(counts: AuditCounts): string {
  const parts = [
    `${counts.ran} ran`,
    counts.late && `${counts.late} late (at most ${formatDuration(counts.maxLateMs)})`,
    counts.missed && `${counts.missed} missed`,
    counts.twice && `${counts.twice} ran twice`,
    counts.failed && `${counts.failed} failed`,
    counts.pending && `${counts.pending} due now`,
    counts.skipped && `${counts.skipped} skipped`,
    counts.extra && `${counts.extra} extra`,
  ]
  return parts.filter(Boolean).join(', ')
}

function periodText(period: AuditPeriod): string {
  const runs = period.runs.map((run) => `run ${run.id}${run.host ? ` on ${run.host}${run.pid === null ? '' : ` pid ${run.pid}`}` : ''}${run.forced ? ' (forced)' : ''}`).join(', ')
  switch (period.status) {
    case 'late':
      return `by ${formatDuration(period.lateMs ?? 0)} (${runs})${period.missedBefore ? `: ${period.missedBefore} period(s) missed before it` : ''}`
    case 'missed':
      return `no run${period.note ? ` (then: ${period.note})` : ''}`
    case 'skipped':
      return `skipped: ${period.note ?? '?'}`
    case 'failed':
      return `${runs} ${period.runs[0].status}`
    case 'twice':
      return runs
    case 'extra':
      return period.runs[0].forced ? `${runs}: run by hand (--force, run now)` : `${runs}: nothing was due (a clock jump?)`
    default:
      return runs || 'due now, no run yet'
  }
}

function periodJson(period: AuditPeriod) {
  return {due: isoTime(period.dueMs), status: period.status, slot: period.slot, lateMs: period.lateMs, missedBefore: period.missedBefore ?? 0, note: period.note ?? null, runs: period.runs.map((run) => ({id: run.id, status: run.status, start: isoTime(run.startMs), host: run.host, pid: run.pid, forced: run.forced ?? false}))}
}
