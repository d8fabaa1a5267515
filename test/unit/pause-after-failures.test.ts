import {expect} from 'chai'
import type {RunStatus} from '../../src/core/contract/run-types'
import {pauseNote, pausesAfterFailures} from '../../src/core/schedule/pause-after-failures'

describe('pauseAfterFailures: the rule (N, the latest runs newest first, the last resume → pause or not)', () => {
  const T = Date.parse('2026-01-05T10:00:00Z')
  /** Runs a minute apart, the newest at T. */
  const runs = (...statuses: RunStatus[]) => statuses.map((status, i) => ({status, startMs: T - i * 60_000}))
  const cases: Array<[string, number, RunStatus[], number | null, boolean]> = [
    ['no runs', 3, [], null, false],
    ['N − 1 failures', 3, ['failed', 'failed'], null, false],
    ['N failures', 3, ['failed', 'failed', 'failed'], null, true],
    ['N failures of each failed status', 3, ['timed_out', 'interrupted', 'failed'], null, true],
    ['N failures after a success', 3, ['failed', 'failed', 'failed', 'succeeded'], null, true],
    ['a success among the last N', 3, ['failed', 'succeeded', 'failed', 'failed'], null, false],
    ['the newest a success', 3, ['succeeded', 'failed', 'failed', 'failed'], null, false],
    ['N = 1, one failure', 1, ['failed'], null, true],
    ['N = 1, the newest a success', 1, ['succeeded', 'failed'], null, false],
    ['a row still running is passed over', 2, ['running', 'failed', 'failed'], null, true],
    ['a running row is no failure', 3, ['running', 'failed', 'failed'], null, false],
    ['N failures, all after the resume', 3, ['failed', 'failed', 'failed'], T - 3 * 60_000, true],
    ['N failures, the oldest before the resume', 3, ['failed', 'failed', 'failed', 'failed'], T - 90_000, false],
    ['N failures, the oldest started at the resume', 3, ['failed', 'failed', 'failed'], T - 2 * 60_000, false],
    ['resumed after every run', 1, ['failed'], T + 1, false],
  ]
  for (const [what, after, statuses, resumedMs, pauses] of cases) {
    it(`${what} (N = ${after}): ${pauses ? 'pause' : 'no pause'}`, () => expect(pausesAfterFailures(after, runs(...statuses), resumedMs)).to.equal(pauses))
  }

  it("the note quotes the last error's first line, its status when it left no message, and cuts a long one", () => {
    expect(pauseNote(3, {status: 'failed', message: 'Error: connect ECONNREFUSED 10.0.0.5:5432\n    at TCPConnectWrap…'})).to.equal('paused after 3 failures: Error: connect ECONNREFUSED 10.0.0.5:5432')
    expect(pauseNote(2, {status: 'timed_out', message: null})).to.equal('paused after 2 failures: timed_out')
    expect(pauseNote(2, {status: 'failed', message: '  \n'})).to.equal('paused after 2 failures: failed')
    const long = pauseNote(1, {status: 'failed', message: 'é'.repeat(400)})
    expect(long).to.equal(`paused after 1 failure: ${'é'.repeat(300)}…`)
  })
})
