import {expect} from 'chai'
import type {Knex} from 'knex'
import {knexSource} from '../../src/core/db/connection-source'
import {explainDatabaseError} from '../../src/core/db/database'
import {NotMigratedError, UsageError} from '../../src/core/base/errors'
import type {CronContext} from '../../src/core/contract/cron-job-base'
import {SqlRunStore} from '../../src/core/run-log/run-store'
import {runCrons, type Outcome, type RunCronsOptions} from '../../src/core/tick/run-crons'
import {fixedClock, type Clock} from '../../src/core/time/clock'
import {job, settingsWith} from '../fixtures/jobs'
import {BACKENDS, expireLeases, faultySource, freshDatabase, plain, tableRows, TestLock, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

const kinds = (outcomes: Outcome[]) => outcomes.map((outcome) => `${outcome.kind}:${outcome.code}`)

for (const dialect of BACKENDS) describe(`runCrons on a real ${dialect} database, with a pinned clock`, () => {
  let t: TestDatabase
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())
  beforeEach(async () => {
    await t.db('cron_job_log').delete()
    await t.db('cron_job').delete()
  })

  /** A tick at `now`; the test's clock drives the leases too (on sqlite they follow the caller's lease clock). */
  const tick = (crons: unknown[], now: string | Clock, options: Partial<RunCronsOptions> = {}) => {
    const clock = typeof now === 'string' ? fixedClock(at(now)) : now
    return runCrons({
      db: t.db,
      dialect: t.dialect,
      settings: settingsWith(crons),
      clock,
      leaseClock: clock,
      host: 'test-host',
      pid: 4242,
      ...options,
    })
  }
  const rows = () => tableRows(t.db, 'cron_job_log')

  it("records a run as 'running' before do() and as 'succeeded' with its message after", async () => {
    let seenDuring: Record<string, unknown> | undefined
    const Job = job('a', {runEveryMins: 5}, async (ctx) => {
      seenDuring = plain(await t.db('cron_job_log').where('id', ctx.runId).first())
      return 'fetched 5 ids'
    })
    const report = await tick([Job], '2026-01-05T00:00:00Z')
    expect(report.exitCode).to.equal(0)
    expect(kinds(report.outcomes)).to.deep.equal(['succeeded:a'])
    expect(seenDuring).to.deep.include({status: 'running', host: 'test-host', pid: 4242, start_time: '2026-01-05T00:00:00.000Z', end_time: null})
    // The lease: 300 s from now by the lease clock (the pinned clock on sqlite, the server's elsewhere).
    if (dialect === 'sqlite') expect(seenDuring!.lease_expires_at).to.equal('2026-01-05T00:05:00.000Z')
    else expect(Date.parse(seenDuring!.lease_expires_at as string)).to.be.within(Date.now() + 290_000, Date.now() + 310_000)
    const [row] = await rows()
    expect(row).to.deep.include({code: 'a', status: 'succeeded', message: 'fetched 5 ids', end_time: '2026-01-05T00:00:00.000Z', lease_expires_at: null})
  })

  it('records a failure with its stack, and one failure never stops the others (exit 1)', async () => {
    const order: string[] = []
    const Fails = job('fails', {runEveryMins: 1}, () => {
      order.push('fails')
      throw new TypeError('boom at the bank')
    })
    const Works = job('works', {runEveryMins: 1}, () => {
      order.push('works')
      return 'fine'
    })
    const report = await tick([Fails, Works], '2026-01-05T00:00:00Z')
    expect(order).to.deep.equal(['fails', 'works'])
    expect(report.exitCode).to.equal(1)
    expect(kinds(report.outcomes)).to.deep.equal(['failed:fails', 'succeeded:works'])
    const [failed, ok] = await rows()
    expect(failed.status).to.equal('failed')
    expect(failed.message).to.match(/^TypeError: boom at the bank\n\s+at /)
    expect(failed.message).to.include('run-crons.test.ts')
    expect(ok.status).to.equal('succeeded')
  })

  it('stores non-string return values as text: objects as JSON, numbers as digits, nothing as null', async () => {
    const Obj = job('obj', {runEveryMins: 1}, () => ({fetched: [1, 2], ok: true}))
    const Num = job('num', {runEveryMins: 1}, () => 42)
    const None = job('none', {runEveryMins: 1}, () => undefined)
    const Thrown = job('thrown', {runEveryMins: 1}, () => {
      throw {reason: 'not an Error'}
    })
    await tick([Obj, Num, None, Thrown], '2026-01-05T00:00:00Z')
    const messages = Object.fromEntries((await rows()).map((row) => [row.code, row.message]))
    expect(messages).to.deep.equal({obj: '{"fetched":[1,2],"ok":true}', num: '42', none: null, thrown: 'thrown value (not an Error): {"reason":"not an Error"}'})
  })

  it('gives do() the tick time in the zone, the slot, the previous success, and a logger', async () => {
    const seen: CronContext[] = []
    const logs: string[] = []
    const Job = job('ctx', {runAtTimes: ['09:00']}, (ctx) => {
      seen.push(ctx)
      ctx.logger.info(`hello from ${ctx.code}`)
      return `run at ${ctx.now.toISO()}`
    })
    const settings = settingsWith([Job], {timeZone: 'Asia/Tokyo'})
    const run = (now: string) =>
      runCrons({db: t.db, dialect: t.dialect, settings, clock: fixedClock(at(now)), onLog: (code, level, message) => logs.push(`${code} ${level} ${message}`)})
    await run('2026-01-05T00:00:30Z') // 09:00:30 in Tokyo
    await run('2026-01-06T00:01:00Z')
    expect(seen).to.have.length(2)
    expect(seen[0].now.toISO()).to.equal('2026-01-05T09:00:30.000+09:00')
    expect(seen[0].slot).to.equal('09:00')
    expect(seen[0].previousSuccess).to.equal(null)
    expect(seen[0].forced).to.equal(false)
    expect(seen[1].previousSuccess).to.deep.include({status: 'succeeded', ranAtTime: '09:00', message: 'run at 2026-01-05T09:00:30.000+09:00'})
    expect(seen[1].previousSuccess!.startTime.toISO()).to.equal('2026-01-05T09:00:30.000+09:00')
    expect(logs).to.deep.equal(['ctx info hello from ctx', 'ctx info hello from ctx'])
  })

  it('removeSuccessfulCronLogs keeps only the latest success (failures stay)', async () => {
    let fail = false
    const Job = job('tidy', {runEveryMins: 1, removeSuccessfulCronLogs: true}, () => {
      if (fail) throw new Error('x')
      return 'ok'
    })
    await tick([Job], '2026-01-05T00:00:00Z')
    await tick([Job], '2026-01-05T00:02:00Z')
    fail = true
    await tick([Job], '2026-01-05T00:04:00Z')
    fail = false
    await tick([Job], '2026-01-05T00:06:00Z')
    expect((await rows()).map((row) => `${row.status} ${row.start_time}`)).to.deep.equal(['failed 2026-01-05T00:04:00.000Z', 'succeeded 2026-01-05T00:06:00.000Z'])
  })

  it('--dry-run decides but runs nothing and writes nothing', async () => {
    let calls = 0
    const Due = job('due', {runEveryMins: 1}, () => calls++)
    const NotDue = job('later', {runAtTimes: ['23:00']}, () => calls++)
    const report = await tick([Due, NotDue], '2026-01-05T00:00:00Z', {dryRun: true})
    expect(kinds(report.outcomes)).to.deep.equal(['would-run:due', 'not-due:later'])
    expect(calls).to.equal(0)
    expect(await rows()).to.have.length(0)
    expect(await tableRows(t.db, 'cron_job')).to.have.length(0)
  })

  it('--force runs a job that is not due, serving no slot', async () => {
    const Job = job('forced', {runAtTimes: ['23:00']}, (ctx) => `forced=${ctx.forced} slot=${ctx.slot}`)
    const report = await tick([Job], '2026-01-05T00:00:00Z', {force: true})
    expect(kinds(report.outcomes)).to.deep.equal(['succeeded:forced'])
    expect((await rows())[0]).to.deep.include({message: 'forced=true slot=null', ran_at_time: null})
  })

  it('does not start a job whose claim another process holds, and says who holds it', async () => {
    let calls = 0
    const Job = job('busy', {runEveryMins: 1}, () => calls++)
    const other = new TestLock(t.connect(), t.dialect)
    expect(await other.claim('busy', {token: 'other', host: 'web2', pid: 99}, at('2026-01-05T00:00:00Z'), 300_000)).to.equal(true)
    for (const force of [false, true]) {
      const report = await tick([Job], '2026-01-05T00:01:00Z', {force})
      expect(report.outcomes[0]).to.deep.include({kind: 'running-elsewhere', host: 'web2', pid: 99})
      if (dialect === 'sqlite') expect(report.outcomes[0]).to.deep.include({sinceMs: at('2026-01-05T00:00:00Z')})
      expect(report.exitCode).to.equal(0)
    }
    expect(calls).to.equal(0)
  })

  it('a connection lost while looking up who holds a claimed job is tried again; the next jobs still run; "since" is on the decisions\' clock', async () => {
    let resets = 0
    // The holder's lookup fails once, as a reset connection would.
    const flaky = faultySource(knexSource(t.db, t.dialect), (sql, kind) => (kind === 'all' && sql === 'SELECT * FROM cron_job WHERE code = ?' && resets++ === 0 ? Object.assign(new Error('read ECONNRESET'), {code: 'ECONNRESET'}) : null))
    const other = new TestLock(t.connect(), t.dialect)
    // The other process claimed it 30 s ago by the real clock (the server's, on PostgreSQL and MySQL).
    expect(await other.claim('busy', {token: 'other', host: 'web2', pid: 99}, Date.now() - 30_000, 300_000)).to.equal(true)
    const logs: string[] = []
    const pinned = at('2026-01-05T00:01:00Z')
    const report = await tick([job('busy', {runEveryMins: 1}), job('after', {runEveryMins: 1})], fixedClock(pinned), {source: flaky, leaseClock: Date.now, onLog: (code, level, message) => logs.push(`${code} ${level}: ${message}`)})
    expect(kinds(report.outcomes)).to.deep.equal(['running-elsewhere:busy', 'succeeded:after'])
    expect(report.outcomes[0]).to.deep.include({host: 'web2', pid: 99})
    const since = (report.outcomes[0] as {sinceMs: number}).sinceMs
    expect(since).to.be.within(pinned - 40_000, pinned + 2_000)
    expect(resets).to.equal(2)
    expect(logs.join('\n')).to.match(/busy warn: busy: claiming it and recording its start failed \(read ECONNRESET\); trying again in \d+ ms/)
    expect(report.exitCode).to.equal(0)
  })

  it('a parallel job whose short decision claim another process holds is left to that process', async () => {
    let calls = 0
    const Job = job('par', {runEveryMins: 1, allowParallelRuns: true}, () => calls++)
    const other = new TestLock(t.connect(), t.dialect)
    await other.claim('par', {token: 'other', host: 'web2', pid: 98}, at('2026-01-05T00:00:00Z'), 300_000)
    const report = await tick([Job], '2026-01-05T00:00:00Z')
    expect(report.outcomes[0]).to.deep.include({kind: 'claimed-elsewhere', host: 'web2', pid: 98})
    expect(calls).to.equal(0)
  })

  it('says "running elsewhere" from the run log alone when a live run exists, without claiming', async () => {
    const store = new SqlRunStore(knexSource(t.db, t.dialect))
    // A live lease: 10 minutes on sqlite's pinned clock, 300 s on the server's own clock.
    const lease = dialect === 'sqlite' ? {leaseExpiresMs: at('2026-01-05T00:10:00Z')} : {leaseMs: 300_000}
    await store.insertRun({code: 'long', status: 'running', startMs: at('2026-01-05T00:00:00Z'), ...lease, host: 'web3', pid: 7})
    const report = await tick([job('long', {runEveryMins: 1})], '2026-01-05T00:03:00Z')
    expect(report.outcomes[0]).to.deep.include({kind: 'running-elsewhere', host: 'web3', pid: 7})
  })

  it('after a crash, the next tick past the lease records the run as interrupted and runs the job again', async () => {
    const store = new SqlRunStore(knexSource(t.db, t.dialect))
    const lock = new TestLock(t.db, t.dialect)
    const start = at('2026-01-05T00:00:00Z')
    // What a process killed inside do() leaves behind: its claim and its 'running' row.
    await lock.claim('crashy', {token: 'dead', host: 'web1', pid: 13}, start, 300_000)
    const deadRun = await store.insertRun({code: 'crashy', status: 'running', startMs: start, leaseMs: 300_000, host: 'web1', pid: 13})
    const Job = job('crashy', {runEveryMins: 1})

    const before = await tick([Job], '2026-01-05T00:04:59Z')
    expect(kinds(before.outcomes)).to.deep.equal(['running-elsewhere:crashy'])

    await expireLeases(t) // on sqlite the next tick's pinned clock (00:05:00) is past the lease already
    const logs: string[] = []
    const after = await tick([Job], '2026-01-05T00:05:00Z', {onLog: (_code, level, message) => logs.push(`${level}: ${message}`)})
    expect(kinds(after.outcomes)).to.deep.equal(['succeeded:crashy'])
    const [dead, fresh] = await rows()
    expect(dead).to.deep.include({id: deadRun, status: 'interrupted'})
    if (dialect === 'sqlite') expect(dead.end_time).to.equal('2026-01-05T00:05:00.000Z')
    expect(dead.message).to.match(/process 13 on web1 stopped renewing its lease/)
    expect(fresh.status).to.equal('succeeded')
    expect(logs[0]).to.match(/^warn: run \d+ .* was recorded as interrupted/)
  })

  it('a decider whose clock is a little behind counts the run another process has just made (clockSkewSeconds)', async () => {
    const Job = job('skewed', {runEveryMins: 1})
    const ahead = await tick([Job], '2026-01-05T00:00:00.097Z')
    expect(kinds(ahead.outcomes)).to.deep.equal(['succeeded:skewed'])
    // 97 ms behind: the run started "after now", but within the allowance, so it holds the period.
    const behind = await tick([Job], '2026-01-05T00:00:00.000Z')
    expect(kinds(behind.outcomes)).to.deep.equal(['not-due:skewed'])
    // With no allowance, the same decider ignores it and runs the job a second time (django-cron's rule).
    const strict = await runCrons({db: t.db, dialect: t.dialect, settings: settingsWith([Job], {clockSkewMs: 0}), clock: fixedClock(at('2026-01-05T00:00:00.000Z'))})
    expect(kinds(strict.outcomes)).to.deep.equal(['succeeded:skewed'])
  })

  it('job codes compare byte for byte: codes that differ in case or accents are two jobs, with two claims and two pauses', async () => {
    const codes = ['Report', 'report', 'résumé', 'resume']
    const crons = codes.map((code, i) => job(code, {runEveryMins: 5}, () => code, `Job${i}`))
    const first = await tick(crons, '2026-01-05T00:00:00Z')
    expect(kinds(first.outcomes)).to.deep.equal(codes.map((code) => `succeeded:${code}`))
    expect((await rows()).map((row) => [row.code, row.message])).to.deep.equal(codes.map((code) => [code, code]))
    expect((await tableRows(t.db, 'cron_job')).map((row) => row.code).sort()).to.deep.equal([...codes].sort())
    await new SqlRunStore(knexSource(t.db, t.dialect)).setPaused('report', {sinceMs: at('2026-01-05T00:01:00Z'), by: 'ops'})
    const later = await tick(crons, '2026-01-05T00:10:00Z')
    expect(kinds(later.outcomes)).to.deep.equal(['succeeded:Report', 'paused:report', 'succeeded:résumé', 'succeeded:resume'])
  })

  it('stores any message: a NUL byte becomes U+FFFD, a 4-byte character is kept', async () => {
    await tick([job('odd', {runEveryMins: 1}, () => 'a\u0000b 🚀 done')], '2026-01-05T00:00:00Z')
    expect((await rows()).map((row) => [row.status, row.message])).to.deep.equal([['succeeded', 'a\uFFFDb 🚀 done']])
  })

  it('a run dated far after now (a clock jump) is still ignored', async () => {
    await new SqlRunStore(knexSource(t.db, t.dialect)).insertRun({code: 'jumped', status: 'succeeded', startMs: at('2028-10-01T00:00:00Z')})
    const report = await tick([job('jumped', {runEveryMins: 60})], '2026-01-05T00:00:00Z')
    expect(kinds(report.outcomes)).to.deep.equal(['succeeded:jumped'])
  })

  it('two processes ticking at once run a due job once per period (claim, then decide again on fresh history)', async () => {
    const executions: string[] = []
    const Job = job('once', {runEveryMins: 5}, (ctx) => {
      executions.push(ctx.now.toISO()!)
    })
    const connections = [t.db, t.connect(), t.connect()]
    for (let minute = 0; minute < 30; minute++) {
      const now = at('2026-01-05T00:00:00Z') + minute * 60_000
      await Promise.all(connections.map((db) => runCrons({db, dialect: t.dialect, settings: settingsWith([Job]), clock: fixedClock(now)})))
    }
    // Every 5 minutes with no tolerance: 00:05 is not strictly past 00:00 + 5 min, so 00:06 (django-cron's drift).
    expect(executions).to.deep.equal(['00:00', '06:00', '12:00', '18:00', '24:00'].map((time) => `2026-01-05T00:${time}.000Z`))
  })

  it('sub-minute schedules: three processes deciding at the same instants, four times a second, run each period once', async () => {
    const executions: Record<string, string[]> = {every: [], cron: []}
    const Every = job('every_1s', {runEverySeconds: 1}, (ctx) => {
      executions.every.push(ctx.now.toISO()!.slice(17, 23))
    })
    const Cron = job('cron_1s', {cron: '* * * * * *'}, (ctx) => {
      executions.cron.push(ctx.now.toISO()!.slice(17, 23))
    })
    const connections = [t.db, t.connect(), t.connect()]
    for (let step = 0; step <= 12; step++) {
      const now = at('2026-01-05T00:00:00Z') + step * 250
      await Promise.all(connections.map((db) => runCrons({db, dialect: t.dialect, settings: settingsWith([Every, Cron]), clock: fixedClock(now)})))
    }
    // Every 1 s: due strictly more than 1 s after the last start, so at the next quarter second after it.
    expect(executions.every).to.deep.equal(['00.000', '01.250', '02.500'])
    // Each second's slot once.
    expect(executions.cron).to.deep.equal(['00.000', '01.000', '02.000', '03.000'])
  })

  it('renews the lease while do() runs, so a long job keeps its claim', async () => {
    let now = at('2026-01-05T00:00:00Z')
    const clock: Clock = () => now
    let first: Record<string, unknown> | undefined
    let renewed: Record<string, unknown> | undefined
    const Job = job('slow', {runEveryMins: 1}, async (ctx) => {
      first = plain(await t.db('cron_job_log').where('id', ctx.runId).first())
      now += 200_000 // the job has been running for 200 s (lease: 300 s)
      const deadline = Date.now() + 5000
      while (Date.now() < deadline) {
        const row = plain(await t.db('cron_job_log').where('id', ctx.runId).first())
        if ((row.heartbeat_at as string) > (first!.heartbeat_at as string)) {
          renewed = row
          break
        }
        await new Promise((resolve) => setTimeout(resolve, 5)) // waiting for the renewal event, not for time
      }
    })
    await tick([Job], clock, {renewEveryMs: 10})
    expect(renewed, 'the lease was renewed while do() ran').to.not.equal(undefined)
    expect((renewed!.lease_expires_at as string) > (first!.lease_expires_at as string)).to.equal(true)
    if (dialect === 'sqlite') expect(renewed).to.deep.include({heartbeat_at: '2026-01-05T00:03:20.000Z', lease_expires_at: '2026-01-05T00:08:20.000Z'})
  })

  it('--concurrency 2 runs two due jobs at the same time', async () => {
    let bStarted!: () => void
    const bHasStarted = new Promise<void>((resolve) => (bStarted = resolve))
    const A = job('a', {runEveryMins: 1}, async () => {
      await bHasStarted // would never resolve if B only started after A finished
      return 'a saw b'
    })
    const B = job('b', {runEveryMins: 1}, () => {
      bStarted()
      return 'b'
    })
    const report = await tick([A, B], '2026-01-05T00:00:00Z', {concurrency: 2})
    expect(report.outcomes.map((o) => o.kind)).to.deep.equal(['succeeded', 'succeeded'])
  })

  it('--concurrency 1 (the default) runs jobs one after another, in crons order', async () => {
    let inFlight = 0
    let most = 0
    const order: string[] = []
    const make = (code: string) =>
      job(code, {runEveryMins: 1}, async () => {
        inFlight++
        most = Math.max(most, inFlight)
        order.push(code)
        await new Promise((resolve) => setImmediate(resolve))
        inFlight--
      })
    await tick([make('c'), make('a'), make('b')], '2026-01-05T00:00:00Z')
    expect(most).to.equal(1)
    expect(order).to.deep.equal(['c', 'a', 'b'])
  })

  it('skips a misconfigured class, runs the others, and exits 1', async () => {
    const problems: string[] = []
    const Bad = job('bad', {runEveryMins: -1}, () => 'never', 'BadJob')
    const Good = job('good', {runEveryMins: 1})
    const report = await tick([Bad, Good], '2026-01-05T00:00:00Z', {onProblem: (p) => problems.push(`${p.subject}: ${p.message}`)})
    expect(kinds(report.outcomes)).to.deep.equal(['succeeded:good'])
    expect(problems).to.deep.equal(['BadJob: runEveryMins = -1 is not a whole number of minutes ≥ 0: use e.g. runEveryMins = 5'])
    expect(report.exitCode).to.equal(1)
  })

  it('runs only the named jobs (by class name or code), and refuses an unknown name before running anything', async () => {
    const A = job('app.a', {runEveryMins: 1}, () => 'a', 'ACronJob')
    const B = job('app.b', {runEveryMins: 1}, () => 'b', 'BCronJob')
    const report = await tick([A, B], '2026-01-05T00:00:00Z', {names: ['app.b']})
    expect(kinds(report.outcomes)).to.deep.equal(['succeeded:app.b'])
    const byClass = await tick([A, B], '2026-01-05T00:00:00Z', {names: ['ACronJob']})
    expect(kinds(byClass.outcomes)).to.deep.equal(['succeeded:app.a'])

    let error: unknown
    try {
      await tick([A, B], '2026-01-05T01:00:00Z', {names: ['app.a', 'BCronJbo']})
    } catch (caught) {
      error = caught
    }
    expect(error).to.be.instanceOf(UsageError)
    expect((error as UsageError).exitCode).to.equal(2)
    expect((error as Error).message).to.match(/^unknown cron job 'BCronJbo': did you mean 'BCronJob'/)
    expect(await rows()).to.have.length(2)
  })

  it('deleteLogsOlderThanDays trims the log at the end of each tick, never a running row', async () => {
    const store = new SqlRunStore(knexSource(t.db, t.dialect))
    await store.insertRun({code: 'old', status: 'succeeded', startMs: at('2025-12-01T00:00:00Z')})
    await store.insertRun({code: 'old', status: 'failed', startMs: at('2025-12-04T23:59:59Z')})
    await store.insertRun({code: 'old', status: 'running', startMs: at('2025-12-01T00:00:00Z'), leaseExpiresMs: at('2025-12-01T00:05:00Z')})
    await store.insertRun({code: 'old', status: 'succeeded', startMs: at('2025-12-05T00:00:01Z')})
    const settings = {...settingsWith([job('a', {runEveryMins: 1})]), deleteLogsOlderThanDays: 31}
    const dry = await runCrons({db: t.db, dialect: t.dialect, settings, clock: fixedClock(at('2026-01-05T00:00:00Z')), dryRun: true})
    expect(dry.outcomes).to.have.length(1)
    expect(await rows()).to.have.length(4)
    await runCrons({db: t.db, dialect: t.dialect, settings, clock: fixedClock(at('2026-01-05T00:00:00Z'))})
    expect((await rows()).map((row) => `${row.code} ${row.status}`)).to.deep.equal(['old running', 'old succeeded', 'a succeeded'])
  })

  it('on an unmigrated database, fails with an error that says to run migrate', async () => {
    const bare = await freshDatabase({migrated: false, dialect})
    try {
      let error: unknown
      try {
        await runCrons({db: bare.db, dialect: bare.dialect, settings: settingsWith([job('a', {runEveryMins: 1})]), clock: fixedClock(0)})
      } catch (caught) {
        error = caught
      }
      const explained = explainDatabaseError(error, bare.config)
      expect(explained).to.be.instanceOf(NotMigratedError)
      expect(explained!.message).to.match(/is not migrated .* run `manage migrate` first$/)
    } finally {
      await bare.close()
    }
  })
})

export type {Knex}
