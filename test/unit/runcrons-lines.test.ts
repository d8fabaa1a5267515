import {expect} from 'chai'
import {outcomeLines, type LineStyle} from '../../src/cli/runcrons/lines'
import {painter} from '../../src/cli/output/render'
import type {Outcome} from '../../src/core/tick/outcome'
import {at} from '../helpers/schedule'

/** What `manage runcrons` prints for one outcome. */
describe("runcrons' lines", () => {
  const style: LineStyle = {verbosity: 1, traceback: false, paint: painter(false), zone: 'UTC'}
  const elsewhere = (fields: {sinceMs: number | null; host: string | null; pid: number | null}): Outcome => ({kind: 'running-elsewhere', code: 'app.job', className: 'AppJob', ...fields})

  it('running elsewhere: since when, where; a claim let go before its holder could be read says so, not "since ?, host ?, pid ?"', () => {
    expect(outcomeLines(elsewhere({sinceMs: at('2026-01-05T00:00:30Z'), host: 'web2', pid: 99}), style)).to.deep.equal(['[~] app.job  still running elsewhere (since 2026-01-05 00:00:30 UTC, host web2, pid 99)'])
    expect(outcomeLines(elsewhere({sinceMs: null, host: null, pid: null}), style)).to.deep.equal(['[~] app.job  claimed at this moment by another process, which runs it'])
    expect(outcomeLines(elsewhere({sinceMs: null, host: null, pid: null}), {...style, verbosity: 0})).to.deep.equal([])
  })
})
