import {expect} from 'chai'
import {BACKOFF_CAP_MS, backoffMs, Outage, OUTAGE_REMINDER_MS} from '../../src/core/runners/backoff'

describe('backoffMs: 1 s, 2 s, 4 s … doubling to the cap, up to 20 % shorter at random', () => {
  const cases: Array<[failures: number, random: number, ms: number]> = [
    [1, 0, 1000],
    [2, 0, 2000],
    [3, 0, 4000],
    [4, 0, 8000],
    [5, 0, 16_000],
    [6, 0, 30_000], // 32 s: capped
    [7, 0, 30_000],
    [1000, 0, 30_000], // no overflow however long it lasts
    [0, 0, 1000], // defensive: never shorter than the first wait
    [1, 0.5, 900], // jitter: 10 % off at 0.5
    [1, 0.999_999, 800],
    [6, 0.5, 27_000], // at the cap too: schedulers that lost it together spread out
    [3, -1, 4000], // a random number out of [0, 1) is clamped
    [3, 2, 3200],
  ]
  for (const [failures, random, ms] of cases) it(`failure ${failures}, random ${random}: ${ms} ms`, () => expect(backoffMs(failures, random)).to.equal(ms))

  it('never above the cap, never below 80 % of the doubled wait', () => {
    for (let failures = 1; failures <= 40; failures++) {
      for (const random of [0, 0.25, 0.5, 0.75, 0.99]) {
        const ms = backoffMs(failures, random)
        const full = Math.min(BACKOFF_CAP_MS, 1000 * 2 ** (failures - 1))
        expect(ms).to.be.within(full * 0.8, full)
      }
    }
  })
})

describe('Outage: one line when the database goes, a reminder every 10 min, one when it is back', () => {
  it('down once, quiet retries, then back with how long it was away; the back-off starts over', () => {
    const outage = new Outage(() => 0)
    expect(outage.reached(0)).to.equal(null)
    expect(outage.down).to.equal(false)
    const first = outage.failed(1000, 'ECONNREFUSED')
    expect(first).to.deep.equal({retryInMs: 1000, event: {kind: 'down', error: 'ECONNREFUSED', retryInMs: 1000}})
    expect(outage.down).to.equal(true)
    expect(outage.failed(2000, 'ECONNREFUSED')).to.deep.equal({retryInMs: 2000, event: null})
    expect(outage.failed(4000, 'ECONNREFUSED')).to.deep.equal({retryInMs: 4000, event: null})
    expect(outage.reached(8000)).to.deep.equal({kind: 'back', downMs: 7000})
    expect(outage.down).to.equal(false)
    expect(outage.failed(60_000, 'again').retryInMs, 'starts over at 1 s').to.equal(1000)
  })

  it('a long outage: reminded at most every 10 min, with the last error and how long', () => {
    const outage = new Outage(() => 0)
    const said: string[] = []
    let now = 0
    for (let i = 0; i < 60; i++) {
      const {retryInMs, event} = outage.failed(now, `error ${i}`)
      if (event) said.push(event.kind === 'back' ? 'back' : `${event.kind} ${event.error}${event.kind === 'still' ? ` ${event.downMs / 1000} s` : ''}`)
      now += retryInMs
    }
    // Tries at 0, 1, 3, 7, 15 s, then every 30 s from 31 s: the first at 600 s or more is at 601 s (error 24), the next 600 s later (error 44).
    expect(said).to.deep.equal(['down error 0', 'still error 24 601 s', 'still error 44 1201 s'])
    expect(OUTAGE_REMINDER_MS).to.equal(600_000)
  })
})
