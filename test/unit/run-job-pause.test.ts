import {expect} from 'chai'
import {CronJobBase} from '../../src/core/contract/cron-job-base'
import {runJob} from '../../src/testing'

/** runJob over the memory run log pauses as the SQL run log does (pauseAfterFailures). */
describe('runJob and pauseAfterFailures', () => {
  class Flaky extends CronJobBase {
    code = 'app.flaky'
    runEveryMins = 1
    pauseAfterFailures = 3
    do(): never {
      throw new Error('the API said 503\nmore detail')
    }
  }
  const failed = (at: string) => ({status: 'failed' as const, at, message: 'Error: earlier'})

  it('the third failure in a row pauses the job, with the note', async () => {
    const result = await runJob(Flaky, {at: '2026-01-05T10:02:00Z', history: [failed('2026-01-05T10:00:00Z'), failed('2026-01-05T10:01:00Z')]})
    expect(result).to.deep.include({ran: true, status: 'failed'})
    expect(result.paused).to.deep.equal({sinceMs: Date.parse('2026-01-05T10:02:00Z'), by: 'manage (pauseAfterFailures)', note: 'paused after 3 failures: Error: the API said 503'})
    expect(result.logged).to.include('warn: paused after 3 failures: Error: the API said 503 (pauseAfterFailures); it runs again once resumed: manage crons:resume app.flaky')
  })

  it('a dead run found by the claim is the third failure: the job pauses there, and the claim starts no run', async () => {
    const dead = {status: 'running' as const, at: '2026-01-05T10:02:00Z'}
    const result = await runJob(Flaky, {at: '2026-01-05T10:30:00Z', history: [failed('2026-01-05T10:00:00Z'), failed('2026-01-05T10:01:00Z'), dead]})
    expect(result).to.deep.include({ran: false, status: 'paused'})
    expect(result.paused).to.deep.include({sinceMs: Date.parse('2026-01-05T10:30:00Z'), by: 'manage (pauseAfterFailures)'})
    expect(result.paused!.note).to.match(/^paused after 3 failures: interrupted: the process \? on \? stopped renewing its lease/)
    expect(result.reason).to.equal(`${result.paused!.note} (pauseAfterFailures); it runs again once resumed: manage crons:resume app.flaky`)
  })

  it('a success in between: not paused', async () => {
    const history = [failed('2026-01-05T10:00:00Z'), {status: 'succeeded' as const, at: '2026-01-05T10:01:00Z'}, failed('2026-01-05T10:02:00Z')]
    expect(await runJob(Flaky, {at: '2026-01-05T10:03:00Z', history})).to.deep.include({status: 'failed', paused: null})
  })
})
