import {expect} from 'chai'
import {watchTick, type WatchInput} from '../../src/core/notify/watch'
import type {CronClass, CronJobBase} from '../../src/core/contract/cron-job-base'
import type {LoadedJob} from '../../src/core/jobs/load-jobs'
import type {LastTick} from '../../src/core/run-log/server-ticks'
import {historyFromRuns} from '../../src/core/schedule/history'
import type {Schedule} from '../../src/core/jobs/schedule'
import {at, run, runPolicy, schedule} from '../helpers/schedule'
import type {RunSummary} from '../../src/core/contract/run-types'

const MIN = 60_000
const job = (s: Schedule, code = 'job', policy = runPolicy()): LoadedJob => ({className: 'ReportJob', code, job: {} as CronJobBase, jobClass: class {} as unknown as CronClass, schedule: s, policy, pingUrl: null})
const beat = (host: string, time: string, kind: LastTick['kind'] = 'crontab'): LastTick => ({host, kind, atMs: at(time), sinceMs: at(time), version: '0.1.0'})

/** What a tick at `now` notices, in words: "silent since HH:MM (code×n from HH:MM)", "host web2 silent", "missed code HH:MM", "stuck code (why)". */
function notices(jobs: LoadedJob[], runs: RunSummary[], ticks: LastTick[], now: string, extra: Partial<WatchInput> = {}): string[] {
  const nowMs = at(now)
  const histories = new Map(jobs.map((j) => [j.code, historyFromRuns(runs.filter((r) => r.code === j.code), nowMs)]))
  const watch = watchTick({nowMs, host: 'web1', runner: 'crontab', jobs, histories, paused: new Map(), resumed: new Map(), held: new Map(), ticks, decisions: {timeZone: 'UTC'}, missedAfterMs: 5 * MIN, silentAfterMs: 10 * MIN, graceMs: 10_000, ...extra})
  const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16)
  return [
    ...(watch.silence ? [`silent since ${hhmm(watch.silence.lastTickMs)} (${watch.silence.cost.map((c) => `${c.code}×${c.due} from ${hhmm(c.first)}`).join(', ')})`] : []),
    ...watch.silentHosts.map((b) => `host ${b.host}${b.kind === 'crontab' ? '' : ` (${b.kind})`} silent`),
    ...watch.missed.map((m) => `missed ${m.job.code} ${hhmm(m.dueMs)}`),
    ...watch.stuck.map((s) => `stuck ${s.job.code} (${s.why})`),
  ]
}

describe('watchTick: what a tick notices, as a table of (schedule, runs, heartbeats, time) → notices', () => {
  const every5 = job(schedule({runEveryMins: 5}), 'every5')
  const at0600 = job(schedule({runAtTimes: ['06:00']}), 'at0600')

  it('nothing when every server ticks and every job runs on time', () => {
    expect(notices([every5], [run('succeeded', '2026-01-05T10:00:00', {code: 'every5'})], [beat('web1', '2026-01-05T10:04:00')], '2026-01-05T10:05:00')).to.deep.equal([])
  })

  it('nothing on the very first tick (no heartbeat yet), even for a job long overdue', () => {
    expect(notices([every5], [run('succeeded', '2026-01-01T10:00:00', {code: 'every5'})], [], '2026-01-05T10:05:00')).to.deep.equal([])
  })

  it('missed: due from 10:06 (the first tick after 10:05), servers kept ticking, no run by 10:12', () => {
    const runs = [run('succeeded', '2026-01-05T10:00:00', {code: 'every5'})]
    expect(notices([every5], runs, [beat('web2', '2026-01-05T10:11:00')], '2026-01-05T10:12:00')).to.deep.equal(['missed every5 10:06'])
    // Within the grace time: not yet.
    expect(notices([every5], runs, [beat('web2', '2026-01-05T10:08:00')], '2026-01-05T10:09:00')).to.deep.equal([])
  })

  it('a policy job: the periods its ledger accounts for (skipped) are not missed; its next period is, once overdue', () => {
    const none = job({...schedule({cron: '0 * * * *'})}, 'none', runPolicy({catchUp: 'none'}))
    const runs = [run('succeeded', '2026-01-05T10:00:00', {code: 'none', period: '2026-01-05T10:00'})]
    const ticks = [beat('web2', '2026-01-05T13:35:00')]
    // 11:00–13:00 recorded skipped (held to 13:00): nothing missed at 13:36…
    expect(notices([none], runs, ticks, '2026-01-05T13:36:00', {held: new Map([['none', at('2026-01-05T13:00')]])})).to.deep.equal([])
    // …which the job's runs alone (no hold) would have said.
    expect(notices([none], runs, ticks, '2026-01-05T13:36:00', {held: new Map()})).to.have.length(1)
    // 14:00 not run by 14:07, the servers ticking: missed.
    expect(notices([none], runs, [beat('web2', '2026-01-05T14:06:00')], '2026-01-05T14:07:00', {held: new Map([['none', at('2026-01-05T13:00')]])})).to.deep.equal(['missed none 14:00'])
  })

  it('a gap in ticks shorter than silentAfter that swallowed the due time: late, not missed', () => {
    const runs = [run('succeeded', '2026-01-05T10:00:00', {code: 'every5'})]
    expect(notices([every5], runs, [beat('web1', '2026-01-05T10:04:00')], '2026-01-05T10:12:00')).to.deep.equal([])
  })

  it('runner_silent: no tick on any server for 10 min or more, with the runs the gap cost', () => {
    const runs = [run('succeeded', '2026-01-05T05:50:00', {code: 'every5'}), run('succeeded', '2026-01-04T06:00:00', {code: 'at0600', slot: '06:00'})]
    expect(notices([every5, at0600], runs, [beat('web1', '2026-01-05T05:52:00'), beat('web2', '2026-01-05T05:51:00')], '2026-01-05T06:30:00')).to.deep.equal([
      'silent since 05:52 (every5×6 from 05:56, at0600×1 from 06:00)',
    ])
  })

  it('one of several servers stops ticking: reported while the others tick, forgotten after a week', () => {
    expect(notices([], [], [beat('web1', '2026-01-05T10:04:00'), beat('web2', '2026-01-05T09:30:00')], '2026-01-05T10:05:00')).to.deep.equal(['host web2 silent'])
    expect(notices([], [], [beat('web1', '2026-01-05T10:04:00'), beat('web2', '2025-12-01T09:30:00')], '2026-01-05T10:05:00')).to.deep.equal([])
  })

  it("runners are rows of (host, kind): a server's scheduler that stopped is reported by its crontab tick, and the reverse; a runner never reports its own row", () => {
    const ticks = [beat('web1', '2026-01-05T10:04:00'), beat('web1', '2026-01-05T09:30:00', 'scheduler'), beat('web2', '2026-01-05T10:04:30', 'scheduler')]
    expect(notices([], [], ticks, '2026-01-05T10:05:00')).to.deep.equal(['host web1 (scheduler) silent'])
    // The scheduler back on web1 (its own row is the old one): not itself silent.
    expect(notices([], [], ticks, '2026-01-05T10:05:00', {runner: 'scheduler'})).to.deep.equal([])
    // web1's crontab stopped while its scheduler ticks: the scheduler reports it.
    const switched = [beat('web1', '2026-01-05T09:30:00'), beat('web1', '2026-01-05T10:04:30', 'scheduler')]
    expect(notices([], [], switched, '2026-01-05T10:05:00', {runner: 'scheduler'})).to.deep.equal(['host web1 silent'])
    // No runner at all for 10 min: one silence, whatever the kinds.
    expect(notices([], [], [beat('web1', '2026-01-05T09:50:00'), beat('web1', '2026-01-05T09:54:00', 'scheduler')], '2026-01-05T10:05:00')).to.deep.equal(['silent since 09:54 ()'])
  })

  it('a failed run is not a missed period; nor is the retry wait after it', () => {
    const retrying = job(schedule({runEveryMins: 5, retryAfterFailureMins: 30}), 'retrying')
    const runs = [run('succeeded', '2026-01-05T09:00:00', {code: 'retrying'}), run('failed', '2026-01-05T09:40:00', {code: 'retrying'})]
    expect(notices([retrying], runs, [beat('web1', '2026-01-05T10:10:00')], '2026-01-05T10:11:00')).to.deep.equal([])
  })

  it('a job held by its own run still going is not missed (stuck judges it)', () => {
    const runs = [run('succeeded', '2026-01-05T09:00:00', {code: 'every5'}), run('running', '2026-01-05T09:30:00', {code: 'every5', leaseUntil: '2026-01-05T11:00:00'})]
    expect(notices([every5], runs, [beat('web1', '2026-01-05T10:11:00')], '2026-01-05T10:12:00')).to.deep.equal([])
  })

  it('a slot: due at 06:00, ticks at 06:01–06:07 did not run it (another server without the job), missed', () => {
    expect(notices([at0600], [], [beat('web2', '2026-01-05T06:07:00')], '2026-01-05T06:08:00')).to.deep.equal(['missed at0600 06:00'])
  })

  it('a job resumed at 10:30 after a pause is not missed for the time it was paused', () => {
    const runs = [run('succeeded', '2026-01-05T09:00:00', {code: 'every5'})]
    const ticks = [beat('web1', '2026-01-05T10:31:00')]
    expect(notices([every5], runs, ticks, '2026-01-05T10:32:00', {resumed: new Map([['every5', at('2026-01-05T10:30:00')]])})).to.deep.equal([])
    expect(notices([every5], runs, ticks, '2026-01-05T10:36:00', {resumed: new Map([['every5', at('2026-01-05T10:30:00')]])})).to.deep.equal(['missed every5 10:30'])
    expect(notices([every5], runs, ticks, '2026-01-05T10:36:00', {paused: new Map([['every5', {sinceMs: null, by: null}]])})).to.deep.equal([])
  })

  it('stuck: past its timeout (which should have stopped it), or far past its last success\'s duration', () => {
    const timed = job(schedule({runEveryMins: 60}), 'timed', runPolicy({timeoutMins: 10}))
    const usual = job(schedule({runEveryMins: 60}), 'usual')
    const last = {...run('succeeded', '2026-01-05T08:00:00', {code: 'usual'}), endMs: at('2026-01-05T08:02:00')}
    const runs = [
      run('running', '2026-01-05T09:00:00', {code: 'timed', leaseUntil: '2026-01-05T10:00:00'}),
      last,
      run('running', '2026-01-05T09:00:00', {code: 'usual', leaseUntil: '2026-01-05T10:00:00'}),
    ]
    const ticks = [beat('web1', '2026-01-05T09:10:00')]
    // The usual one: 3 × 2 min, at least 2 + 10 min; the timed one: 10 min + the grace period + missedAfter.
    expect(notices([timed, usual], runs, ticks, '2026-01-05T09:11:00')).to.deep.equal([])
    expect(notices([timed, usual], runs, ticks, '2026-01-05T09:13:00')).to.deep.equal(['stuck usual (its last successful run took 120 s)'])
    expect(notices([timed, usual], runs, ticks, '2026-01-05T09:16:00')).to.deep.equal(['stuck timed (past its 10 min timeout, which should have stopped it)', 'stuck usual (its last successful run took 120 s)'])
  })

  it('DST days: a slot in the skipped hour is due from 03:00; in the repeated hour, from its later 02:30 (never a false alarm)', () => {
    const night = job(schedule({runAtTimes: ['02:30'], timeZone: 'Europe/Paris'}), 'night')
    // 2026-03-29, Paris: 02:00 → 03:00 (01:00 UTC); 02:30 does not exist, the slot falls due at 03:00.
    expect(notices([night], [], [beat('web2', '2026-03-29T01:09:00Z')], '2026-03-29T01:10:00Z')).to.deep.equal(['missed night 01:00'])
    expect(notices([night], [], [beat('web2', '2026-03-29T01:03:00Z')], '2026-03-29T01:04:00Z')).to.deep.equal([])
    // 2026-10-25, Paris: 03:00 → 02:00 (01:00 UTC); 02:30 comes twice (00:30 and 01:30 UTC): reported after the later one only.
    expect(notices([night], [], [beat('web2', '2026-10-25T00:39:00Z')], '2026-10-25T00:40:00Z')).to.deep.equal([])
    expect(notices([night], [], [beat('web2', '2026-10-25T01:39:00Z')], '2026-10-25T01:40:00Z')).to.deep.equal(['missed night 01:30'])
  })
})
