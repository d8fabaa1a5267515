import {expect} from 'chai'
import {MeasuredClock} from '../../src/core/time/measured-clock'

/** The database server's clock followed by an offset, measured again once a minute old (no real time passes). */
describe('MeasuredClock: the server clock measured again, not once for the life of the process', () => {
  let localMs: number
  let serverAheadMs: number
  let measures: number
  const clock = () =>
    new MeasuredClock(
      async () => {
        measures++
        return localMs + serverAheadMs
      },
      () => localMs,
    )
  beforeEach(() => {
    localMs = 1_000_000
    serverAheadMs = 5000
    measures = 0
  })

  it('measures on first use, keeps the offset for a minute, then measures again; a clock handed out earlier follows', async () => {
    const server = clock()
    const now = await server.fresh()
    expect(measures).to.equal(1)
    expect(now()).to.equal(1_005_000)
    localMs += 59_999
    serverAheadMs = 7000 // the server's clock drifted
    expect((await server.fresh())()).to.equal(localMs + 5000)
    expect(measures).to.equal(1)
    localMs += 1
    const later = await server.fresh()
    expect(measures).to.equal(2)
    expect(later()).to.equal(localMs + 7000)
    expect(now()).to.equal(localMs + 7000)
  })

  it('callers at once share one measure; a failed measure is tried again by the next caller', async () => {
    let fail = true
    const server = new MeasuredClock(async () => {
      measures++
      if (fail) throw new Error('database away')
      return localMs + serverAheadMs
    }, () => localMs)
    const both = await Promise.allSettled([server.fresh(), server.fresh()])
    expect(both.map((result) => result.status)).to.deep.equal(['rejected', 'rejected'])
    expect(measures).to.equal(1)
    fail = false
    expect((await server.fresh())()).to.equal(1_005_000)
    expect(measures).to.equal(2)
  })
})
