import {expect} from 'chai'
import {healthBody} from '../../src/cli/runcrons/health-server'
import {HEALTH_MARGIN_MS, SchedulerHealth} from '../../src/core/runners/health'
import {LoopLag, type LagTimers} from '../../src/core/runners/loop-lag'

describe('SchedulerHealth: alive while the loop wakes on time and its last wake reached the database', () => {
  const T0 = 1_000_000
  const s = (seconds: number) => T0 + seconds * 1000
  type Step = ['began' | 'reached', number] | ['failed', number, string]
  const cases: Array<{name: string; steps: Step[]; now: number; armed: number | null; healthy: boolean; reason?: RegExp}> = [
    {name: 'starting: the first wake has not planned yet', steps: [], now: s(1), armed: null, healthy: false, reason: /^starting: the first wake has not reached the database yet$/},
    {name: 'planned, the timer armed ahead', steps: [['reached', 0]], now: s(10), armed: s(60), healthy: true},
    {name: 'the armed instant passed, within the margin', steps: [['reached', 0]], now: s(60) + HEALTH_MARGIN_MS, armed: s(60), healthy: true},
    {name: 'the armed instant passed beyond the margin: the loop did not wake', steps: [['reached', 0]], now: s(61) + HEALTH_MARGIN_MS, armed: s(60), healthy: false, reason: /^the loop did not wake: due 31 s ago/},
    {name: 'a wake planning (no timer armed), within the margin', steps: [['reached', 0], ['began', 60]], now: s(70), armed: null, healthy: true},
    {name: 'a wake planning beyond the margin', steps: [['reached', 0], ['began', 60]], now: s(91), armed: null, healthy: false, reason: /^a wake has been planning for 31 s/},
    {name: 'the last wake failed to reach the database', steps: [['reached', 0], ['began', 60], ['failed', 61, 'connect ECONNREFUSED 127.0.0.1:5432']], now: s(65), armed: s(121), healthy: false, reason: /^the database was unreachable at the last wake, 4 s ago: connect ECONNREFUSED 127\.0\.0\.1:5432$/},
    {name: 'a failure, then a wake that reached it: healthy again', steps: [['failed', 1, 'down'], ['began', 61], ['reached', 61]], now: s(62), armed: s(70), healthy: true},
    {name: 'no timer armed and no wake planning: stopping', steps: [['reached', 0]], now: s(1), armed: null, healthy: false, reason: /^the loop has no wake armed/},
  ]
  for (const c of cases) {
    it(c.name, () => {
      const health = new SchedulerHealth(T0, (error) => String(error))
      for (const step of c.steps) {
        if (step[0] === 'failed') health.failed(s(step[1]), step[2])
        else health[step[0]](s(step[1]))
      }
      const answer = health.answer(c.now, c.armed)
      expect(answer.healthy, JSON.stringify(answer)).to.equal(c.healthy)
      if (!answer.healthy) expect(answer.reason).to.match(c.reason!)
    })
  }

  it('the body: one line of JSON, 200 or 503', () => {
    expect(healthBody({healthy: true, lastWakeMs: Date.parse('2026-01-05T10:00:00Z'), nextWakeMs: Date.parse('2026-01-05T10:00:01Z')})).to.deep.equal({status: 200, body: '{"status":"ok","lastWake":"2026-01-05T10:00:00.000Z","nextWake":"2026-01-05T10:00:01.000Z"}'})
    expect(healthBody({healthy: false, reason: 'a "quoted"\nthing'})).to.deep.equal({status: 503, body: '{"status":"unhealthy","reason":"a \\"quoted\\"\\nthing"}'})
  })
})

describe('LoopLag: a lag past a second while jobs run here, named once per job per quiet period', () => {
  /** An interval the test fires by hand, at a clock it sets. */
  class FakeInterval implements LagTimers {
    fn: (() => void) | null = null
    setInterval(fn: () => void): unknown {
      this.fn = fn
      return 1
    }
    clearInterval(): void {
      this.fn = null
    }
  }

  function setup() {
    let nowMs = 0
    const timers = new FakeInterval()
    const told: Array<[number, string[]]> = []
    const lag = new LoopLag({clock: () => nowMs, timers, onLag: (lagMs, codes) => told.push([lagMs, codes]), everyMs: 500, thresholdMs: 1000, quietMs: 600_000})
    const fireAt = (ms: number) => {
      nowMs = ms
      timers.fn!()
    }
    return {lag, timers, told, fireAt}
  }

  it('no job running: no timer at all (an idle scheduler pays nothing)', () => {
    const {lag, timers} = setup()
    lag.running([])
    expect(timers.fn).to.equal(null)
  })

  it('a check 1.5 s late names the job running; on time, nothing', () => {
    const {lag, told, fireAt} = setup()
    lag.running(['block'])
    fireAt(500)
    expect(told).to.deep.equal([])
    fireAt(2500)
    expect(told).to.deep.equal([[1500, ['block']]])
  })

  it('a lag just under the threshold is not told', () => {
    const {lag, told, fireAt} = setup()
    lag.running(['block'])
    fireAt(1499)
    expect(told).to.deep.equal([])
  })

  it('the same job again within the quiet period: not named again; after it, named again', () => {
    const {lag, told, fireAt} = setup()
    lag.running(['block'])
    fireAt(2000)
    fireAt(4000)
    fireAt(600_000 + 1000)
    fireAt(600_000 + 3000)
    expect(told.map(([, codes]) => codes)).to.deep.equal([['block'], ['block']])
  })

  it('a job that blocked and ended before the check is still named; the timer stops one look after the last job', () => {
    const {lag, timers, told, fireAt} = setup()
    lag.running(['block', 'other'])
    lag.running(['other'])
    lag.running([])
    expect(timers.fn).to.not.equal(null)
    fireAt(2000)
    expect(told).to.deep.equal([[1500, ['block', 'other']]])
    expect(timers.fn).to.equal(null)
  })

  it("the heartbeat takes the worst lag since it last took one, with the jobs then (told or not); none measured: null", () => {
    const {lag, told, fireAt} = setup()
    expect(lag.takeWorst()).to.equal(null)
    lag.running(['quick'])
    fireAt(510)
    lag.running(['quick', 'block'])
    fireAt(2510)
    fireAt(3020)
    expect(lag.takeWorst()).to.deep.equal({lagMs: 1500, codes: ['quick', 'block']})
    // Under the threshold it is taken all the same (the runners' LAG column); the quiet period only silences the log.
    fireAt(4320)
    expect(told.map(([, codes]) => codes)).to.deep.equal([['quick', 'block']])
    expect(lag.takeWorst()).to.deep.equal({lagMs: 800, codes: ['quick', 'block']})
    lag.running([])
    fireAt(4830)
    expect(lag.takeWorst()).to.deep.equal({lagMs: 10, codes: ['quick', 'block']})
    expect(lag.takeWorst()).to.equal(null)
  })
})
