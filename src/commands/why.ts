import {Args, Flags} from '@oclif/core'
import {BaseCommand, jsonFlag} from '../cli/base-command'
import {formatTime} from '../cli/output/render'
import {isoTime} from '../core/time/format'
import {findJob} from '../core/jobs/select-jobs'
import {usesLedger} from '../core/jobs/run-policy'
import {decisionOptions} from '../core/project/settings'
import {explainJob, type Explanation} from '../core/schedule/explain'
import {EMPTY_HISTORY} from '../core/schedule/history'
import {startedLateNote} from '../core/schedule/describe'
import {parseInstant} from '../core/time/clock'
import type {RunRow} from '../core/contract/run-types'

const ANSWERS: Record<Explanation['verdict'], string> = {
  due: 'would run',
  'not-due': 'not due',
  paused: 'paused',
  'running-elsewhere': 'running elsewhere',
  skip: 'would record skipped periods',
}

export default class Why extends BaseCommand<typeof Why> {
  static summary = 'Why a job would or would not run at a time: the decision rule by rule, with the run-log rows it used.'

  static description = `The decision is the one runcrons makes (the same code, traced): each rule in the order it is checked (paused, days of the month, weekdays, the retry wait after a failure, the interval, the cron expression, the times of day) up to the one that answers, the rows of the run log it read, and when the job is next due. --at asks about another time (ISO 8601; without an offset, in the settings' zone); rows after it are not seen, as a tick then would not have seen them.`

  static examples = ['<%= config.bin %> <%= command.id %> app.fetch_items', '<%= config.bin %> <%= command.id %> FetchItemsCronJob --at 2026-12-24T06:00 --json']

  static args = {
    name: Args.string({description: 'The job: its code or class name.', required: true}),
  }

  static flags = {
    at: Flags.string({description: 'The time to decide at [default: now; MANAGE_NOW].'}),
    json: jsonFlag(),
  }

  async run(): Promise<void> {
    const settings = await this.project.settings()
    const job = findJob(this.args.name, settings.crons, settings.cronsDir)
    const zone = job.schedule.timeZone ?? settings.timeZone
    const atMs = this.flags.at === undefined ? (await this.project.clock())() : parseInstant(this.flags.at, zone, '--at')
    // Asked about another time, leases are read as of then too; asked about now, by the real clock.
    const leaseNowMs = this.flags.at === undefined ? Date.now() : atMs
    const store = this.project.runStore()
    const read = (await store.histories(atMs, {codes: [job.code], leaseNowMs, skewMs: settings.clockSkewMs})).get(job.code) ?? EMPTY_HISTORY
    // A policy job decides on its ledger's hold too.
    const history = usesLedger(job.policy) ? {...read, ...(await store.jobHold(job.code))} : read
    const paused = (await store.pausedJobs()).get(job.code) ?? null
    const explained = explainJob(job, history, paused, atMs, decisionOptions(settings))
    // How late each of them started, and why (a whole row's; the history reads only what the decision needs).
    const lateness = new Map((explained.rows.length === 0 ? [] : await store.getRuns(explained.rows.map((row) => row.id))).map((row) => [row.id, row] as const))
    if (this.flags.json) {
      this.printJson(toJson(explained, job.className, lateness))
      return
    }
    const when = (ms: number) => formatTime(ms, zone)
    this.log(`${job.code} (${job.className}) at ${when(atMs)}: ${this.paint.bold(ANSWERS[explained.verdict])}: ${explained.reason}`)
    if (explained.running === null) {
      for (const step of explained.steps) this.log(`  ${mark(step.outcome)} ${step.rule.padEnd(11)} ${step.text}`)
    }
    if (explained.nextDueMs !== null) this.log(`Next due: ${when(explained.nextDueMs)}`)
    this.log(explained.rows.length === 0 ? 'Run-log rows used: none (it has never run)' : 'Run-log rows used:')
    for (const row of explained.rows) {
      const where = row.host ? ` on ${row.host}${row.pid === null ? '' : `, pid ${row.pid}`}` : ''
      const whole = lateness.get(row.id)
      this.log(`  run ${row.id}  ${row.status.padEnd(11)} ${when(row.startMs)}${row.ranAtTime ? `  slot ${row.ranAtTime}` : ''}${where}${row.status === 'running' && row.leaseExpiresMs !== null ? `, lease until ${when(row.leaseExpiresMs)}` : ''}${whole === undefined || whole.startedLateMs === null ? '' : `, ${startedLateNote(whole.startedLateMs, whole.lateReason)}`}`)
    }
  }
}

function mark(outcome: Explanation['steps'][number]['outcome']): string {
  return {'not-set': '-', passes: '✓', blocks: '✗', due: '→'}[outcome]
}

function toJson(explained: Explanation, className: string, lateness: ReadonlyMap<number, Pick<RunRow, 'startedLateMs' | 'lateReason'>>) {
  return {
    code: explained.code,
    className,
    at: isoTime(explained.atMs),
    verdict: explained.verdict,
    reason: explained.reason,
    steps: explained.steps,
    nextDue: isoTime(explained.nextDueMs),
    paused: explained.paused && {since: isoTime(explained.paused.sinceMs), by: explained.paused.by, note: explained.paused.note ?? null},
    running: explained.running && {runId: explained.running.id, host: explained.running.host, pid: explained.running.pid, leaseUntil: isoTime(explained.running.leaseExpiresMs)},
    rows: explained.rows.map((row) => ({id: row.id, status: row.status, start: isoTime(row.startMs), slot: row.ranAtTime, host: row.host, pid: row.pid, leaseUntil: isoTime(row.leaseExpiresMs), startedLateMs: lateness.get(row.id)?.startedLateMs ?? null, lateReason: lateness.get(row.id)?.lateReason ?? null})),
  }
}
