import {expect} from 'chai'
import {auditJobSince} from '../../src/core/schedule/audit'
import type {SkippedPeriod} from '../../src/core/contract/run-types'
import {at, run, schedule} from '../helpers/schedule'

let nextSkip = 1
function skip(period: string, reason: string): SkippedPeriod {
  return {id: nextSkip++, code: 'job', periodMs: at(period), reason, recordedMs: at(period), host: 'h', pid: 1}
}

/** A catch-up job's audit: each period's one record, read off the ledger (runs' period_at, skips). */
describe('auditLedger: every period accounted for by one record', () => {
  const hourly = schedule({cron: '0 * * * *'})
  const shown = (periods: ReturnType<typeof auditJobSince>['periods']) => periods.map((period) => `${new Date(period.dueMs).toISOString().slice(11, 16)} ${period.status}${period.note && period.status === 'skipped' ? ` (${period.note})` : ''}`)

  it('runs and skips, each period once: nothing missed', () => {
    const runs = [run('succeeded', '2026-03-02T10:00:00.2', {period: '2026-03-02T10:00'}), run('succeeded', '2026-03-02T13:30:00', {period: '2026-03-02T13:00'}), run('succeeded', '2026-03-02T14:00:00.1', {period: '2026-03-02T14:00'})]
    const skips = [skip('2026-03-02T11:00', 'catch-up: latest'), skip('2026-03-02T12:00', 'catch-up: latest')]
    const audit = auditJobSince(hourly, runs, at('2026-03-02T09:00'), at('2026-03-02T14:30'), {timeZone: 'UTC', ledger: skips})
    expect(shown(audit.periods)).to.deep.equal(['10:00 ran', '11:00 skipped (catch-up: latest)', '12:00 skipped (catch-up: latest)', '13:00 late', '14:00 ran'])
    expect(audit.counts).to.include({periods: 5, ran: 2, late: 1, skipped: 2, missed: 0, twice: 0})
    expect(audit.bad).to.equal(false)
  })

  it('a period with no record is missed; two records for one period ran twice; within the grace time, pending', () => {
    const runs = [run('succeeded', '2026-03-02T10:00:00.2', {period: '2026-03-02T10:00'}), run('succeeded', '2026-03-02T12:00:00.2', {period: '2026-03-02T12:00'}), run('succeeded', '2026-03-02T12:00:01', {period: '2026-03-02T12:00'})]
    const audit = auditJobSince(hourly, runs, at('2026-03-02T09:00'), at('2026-03-02T13:01'), {timeZone: 'UTC', ledger: []})
    expect(shown(audit.periods)).to.deep.equal(['10:00 ran', '11:00 missed', '12:00 twice', '13:00 pending'])
    expect(audit.bad).to.equal(true)
  })

  it('a skip and a run for one period: twice', () => {
    const runs = [run('succeeded', '2026-03-02T10:00:00.2', {period: '2026-03-02T10:00'}), run('succeeded', '2026-03-02T11:00:00.2', {period: '2026-03-02T11:00'})]
    const audit = auditJobSince(hourly, runs, at('2026-03-02T09:00'), at('2026-03-02T11:30'), {timeZone: 'UTC', ledger: [skip('2026-03-02T11:00', 'catch-up: none')]})
    expect(shown(audit.periods)).to.deep.equal(['10:00 ran', '11:00 twice'])
  })

  it('an interval: its periods follow its records, the gaps between them are missed', () => {
    const every60 = schedule({runEveryMins: 60})
    const runs = [run('succeeded', '2026-03-02T10:00:00.2', {period: '2026-03-02T10:00'}), run('succeeded', '2026-03-02T13:01:00.2', {period: '2026-03-02T13:00'})]
    const audit = auditJobSince(every60, runs, at('2026-03-02T09:00'), at('2026-03-02T13:30'), {timeZone: 'UTC', ledger: [skip('2026-03-02T11:00', 'catch-up: none')]})
    expect(shown(audit.periods)).to.deep.equal(['10:00 ran', '11:00 skipped (catch-up: none)', '12:00 missed', '13:00 ran'])
  })

  it('a run by hand is extra, never a period’s run; a paused job’s periods are skipped as paused', () => {
    const runs = [run('succeeded', '2026-03-02T10:00:00.2', {period: '2026-03-02T10:00'}), run('succeeded', '2026-03-02T10:20:00', {forced: true})]
    const audit = auditJobSince(hourly, runs, at('2026-03-02T09:00'), at('2026-03-02T12:30'), {timeZone: 'UTC', ledger: [], paused: {sinceMs: at('2026-03-02T10:30'), by: 'ops'}})
    expect(shown(audit.periods)).to.deep.equal(['10:00 ran', '10:20 extra', '11:00 skipped (paused)', '12:00 skipped (paused)'])
    expect(audit.bad).to.equal(false)
  })
})
