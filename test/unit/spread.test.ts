import {expect} from 'chai'
import {loadJob} from '../../src/core/jobs/load-jobs'
import {historyFromRuns} from '../../src/core/schedule/history'
import {isDue} from '../../src/core/schedule/is-due'
import {nextDue} from '../../src/core/schedule/next-due'
import {codeHash} from '../../src/core/time/hashed-cron'
import {CronJobBase} from '../../src/core/contract/cron-job-base'
import {at, run, schedule} from '../helpers/schedule'

function spreadJob(code: string, options: {runEveryMins?: number; runEverySeconds?: number; spreadSeconds?: unknown}) {
  return class extends CronJobBase {
    code = code
    runEveryMins = options.runEveryMins
    runEverySeconds = options.runEverySeconds
    spreadSeconds = options.spreadSeconds as number
    async do() {}
  }
}

describe('spreadSeconds: an interval job spread inside its interval by the hash of its code', () => {
  it('the offset is the code’s hash modulo spreadSeconds, in whole seconds, the same every time', () => {
    const {job} = loadJob(spreadJob('app.report', {runEveryMins: 60, spreadSeconds: 3600}))
    expect(job!.schedule.spreadMs).to.equal((codeHash('app.report', 7) % 3600) * 1000)
    expect(loadJob(spreadJob('app.report', {runEveryMins: 60, spreadSeconds: 3600})).job!.schedule.spreadMs).to.equal(job!.schedule.spreadMs)
    // 100 jobs on the same hour spread over it.
    const offsets = new Set(Array.from({length: 100}, (_, i) => loadJob(spreadJob(`app.job_${i}`, {runEveryMins: 60, spreadSeconds: 3600})).job!.schedule.spreadMs))
    expect(offsets.size).to.be.at.least(95)
  })

  it('bad values: one line each, naming the value and the fix', () => {
    const problems = (options: Parameters<typeof spreadJob>[1]) => loadJob(spreadJob('app.x', options)).problems.map((problem) => problem.message)
    expect(problems({runEveryMins: 5, spreadSeconds: 0})).to.deep.equal(['spreadSeconds = 0 is not a whole number of seconds ≥ 1: use e.g. spreadSeconds = 60'])
    expect(problems({runEveryMins: 5, spreadSeconds: 301})).to.deep.equal(['spreadSeconds = 301 is longer than the interval (300 s): use at most spreadSeconds = 300'])
    expect(problems({spreadSeconds: 30})[0]).to.match(/^spreadSeconds = 30 needs an interval to spread inside/)
  })

  const hourly = {...schedule({runEveryMins: 60}), spreadMs: 754_000} // 12 min 34 s into each hour
  it('a crontab tick: due at the minute its interval calls for, counted from the period its last run served', () => {
    const ran = [run('succeeded', '2026-03-02T10:00:00.300', {period: '2026-03-02T10:00'})]
    const tick = (iso: string) => isDue(hourly, historyFromRuns(ran, at(iso)), at(iso), {timeZone: 'UTC'})
    expect(tick('2026-03-02T10:59').due).to.equal(false)
    // No "every N + 1 minutes" drift: the period is exact.
    expect(tick('2026-03-02T11:00').due).to.equal(true)
    expect(tick('2026-03-02T11:00').dueSinceMs).to.equal(at('2026-03-02T11:00'))
  })

  it('a resident scheduler: due its offset into the period, not before, whatever its start was', () => {
    const ran = [run('succeeded', '2026-03-02T10:12:34.002', {period: '2026-03-02T10:00'})]
    const wake = (iso: string) => isDue(hourly, historyFromRuns(ran, at(iso)), at(iso), {timeZone: 'UTC', spread: true})
    expect(wake('2026-03-02T11:00:00').due).to.equal(false)
    expect(wake('2026-03-02T11:12:33').reason).to.equal('every 60 min; last period 2026-03-02 10:00:00, next started 754 s into its period, at 2026-03-02 11:12:34')
    expect(wake('2026-03-02T11:12:34').due).to.equal(true)
    expect(wake('2026-03-02T11:12:34').dueSinceMs).to.equal(at('2026-03-02T11:00'))
    const next = nextDue(hourly, historyFromRuns(ran, at('2026-03-02T10:13')), at('2026-03-02T10:13'), {timeZone: 'UTC', spread: true, inclusive: false, tickMs: 1})
    expect(new Date(next!.atMs).toISOString()).to.equal('2026-03-02T11:12:34.000Z')
  })

  it('a sub-minute interval: its period exactly, then its offset', () => {
    const every10 = {...schedule({runEverySeconds: 10}), spreadMs: 7000}
    const ran = [run('succeeded', '2026-03-02T10:00:07.001', {period: '2026-03-02T10:00:00'})]
    const wake = (iso: string) => isDue(every10, historyFromRuns(ran, at(iso)), at(iso), {timeZone: 'UTC', spread: true})
    expect(wake('2026-03-02T10:00:16.999').due).to.equal(false)
    expect(wake('2026-03-02T10:00:17').due).to.equal(true)
  })
})
