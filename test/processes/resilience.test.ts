import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {lines, ROOT, Sandbox, waitForFile, type Env, type Result, type Running} from '../helpers/cli'
import {BACKENDS, expireLeases, freshDatabase, type TestDatabase} from '../helpers/db'

/**
 * What happens to real `bin/manage` processes when things go wrong, on every backend: a process
 * killed -9 inside do(), SIGTERM / SIGINT, timeouts, clocks that disagree, a claim released by hand,
 * and two processes sharing the due jobs of one tick.
 *
 * Time never passes by sleeping. On sqlite leases follow the process clock, so a later MANAGE_NOW
 * is a later time for them too; on PostgreSQL and MySQL they follow the server's clock whatever
 * MANAGE_NOW says, so expireLeases() moves them into the past instead. What a process is doing is
 * known from marker files its job writes (test/fixtures/resilience-settings.cjs), never from timing;
 * the only real waits are the timeouts and grace periods under test (0.3 s each).
 */

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'resilience-settings.cjs')
const HOST = os.hostname()
const T0 = Date.parse('2026-03-02T10:00:00.000Z')
const MINUTE = 60_000
const iso = (ms: number) => new Date(ms).toISOString()
/** More than leaseSeconds (300) after T0: on sqlite, every lease taken at T0 has run out. */
const AFTER_LEASE = T0 + 6 * MINUTE

function context(result: Result): string {
  return `exit ${result.code}${result.signal ? ` (${result.signal})` : ''}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`
}

describe('resilience: crashes, signals, timeouts, skewed clocks, unlocking (end to end)', function () {
  this.timeout(30_000)
  this.slow(5_000)

  before(function () {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first')
  })

  for (const dialect of BACKENDS) {
    describe(dialect, () => {
      let t: TestDatabase
      let box: Sandbox
      let children: Array<Running & {finished: boolean}> = []

      beforeEach(async () => {
        t = await freshDatabase({dialect})
        // The ticks are bin/manage processes (start()); crons:unlock runs in this process.
        box = new Sandbox({databaseUrl: t.url, settings: SETTINGS, tier: 'in-process'})
      })

      afterEach(async () => {
        // A job that was meant to block forever must not outlive its test.
        for (const child of children) {
          if (!child.finished) {
            try {
              process.kill(child.pid, 'SIGKILL')
            } catch {
              // already gone
            }
          }
        }
        await Promise.all(children.map((child) => child.done.catch(() => undefined)))
        children = []
        box.remove()
        await t.close()
      })

      /** Start `manage runcrons` with these crons at this MANAGE_NOW; killed after the test if still alive. */
      function start(crons: string, nowMs: number, extra: Env = {}): Running & {finished: boolean} {
        const running = box.start(['runcrons'], {TEST_CRONS: crons, MANAGE_NOW: iso(nowMs), ...extra})
        const tracked = {...running, finished: false}
        running.done.then(
          () => (tracked.finished = true),
          () => (tracked.finished = true),
        )
        children.push(tracked)
        return tracked
      }

      function runcrons(crons: string, nowMs: number, extra: Env = {}): Promise<Result> {
        return start(crons, nowMs, extra).done
      }

      function unlock(args: string[], nowMs: number): Promise<Result> {
        return box.run(['crons:unlock', ...args], {MANAGE_NOW: iso(nowMs)})
      }

      async function kill9(child: Running): Promise<void> {
        process.kill(child.pid, 'SIGKILL')
        const result = await child.done
        expect(result.signal, context(result)).to.equal('SIGKILL')
      }

      async function lockToken(code: string): Promise<string | null> {
        const row = await t.db('cron_job').where({code}).first('lock_token')
        return row?.lock_token ?? null
      }

      /** The run-log rows as [code, status, pid]. */
      async function statuses(): Promise<Array<[string, string, number | null]>> {
        return (await box.rows()).map((row) => [row.code, row.status, row.pid])
      }

      /** calls.log: '<code> <pid>' per do() call. */
      function calls(): Array<[string, number]> {
        return box.calls().map((line) => {
          const [code, pid] = line.split(' ')
          return [code, Number(pid)]
        })
      }

      describe('a process killed -9 inside do()', () => {
        it('holds the job until its lease runs out; the first tick after records it as interrupted and runs the job again', async () => {
          const crashed = start('BlockingJob', T0)
          await waitForFile(box.file('blocking.started'), crashed.done)
          await kill9(crashed)

          // Before the lease runs out (sqlite: MANAGE_NOW 1 min later, lease 300 s; servers: right away).
          const held = await runcrons('BlockingJob', T0 + MINUTE)
          expect(held.code, context(held)).to.equal(0)
          expect(lines(held.stdout), context(held)).to.have.length(1)
          expect(held.stdout, context(held)).to.contain('[~] res.blocking  still running elsewhere').and.contain(`pid ${crashed.pid}`)
          expect(held.stderr, context(held)).to.equal('')
          expect(calls(), 'only the killed process ran it').to.deep.equal([['res.blocking', crashed.pid]])
          expect(await statuses()).to.deep.equal([['res.blocking', 'running', crashed.pid]])

          // The lease runs out.
          await expireLeases(t)
          const next = start('BlockingDoneJob', AFTER_LEASE)
          const after = await next.done
          expect(after.code, context(after)).to.equal(0)
          expect(lines(after.stdout), context(after)).to.deep.equal(['[✔] res.blocking'])
          expect(lines(after.stderr), context(after)).to.have.length(1)
          expect(after.stderr, context(after)).to.match(/res\.blocking warn: run \d+ .* was recorded as interrupted: its lease ran out/)

          const rows = await box.rows()
          expect(rows.map((row) => [row.status, row.pid])).to.deep.equal([
            ['interrupted', crashed.pid],
            ['succeeded', next.pid],
          ])
          expect(rows[0].message).to.contain(`process ${crashed.pid} on ${HOST}`).and.contain('last seen')
          expect(rows[0].end_time, 'the interrupted run has an end').to.not.equal(null)
          expect(rows[0].lease_expires_at).to.equal(null)
          expect(rows[1]).to.include({start_time: iso(AFTER_LEASE), message: 'finished'})
          expect(calls()).to.deep.equal([
            ['res.blocking', crashed.pid],
            ['res.blocking', next.pid],
          ])
          expect(await lockToken('res.blocking')).to.equal(null)
        })
      })

      describe('SIGTERM and SIGINT', () => {
        it('SIGTERM: a job that honours ctx.signal stops; exit 143, its row interrupted, claim released, the next job not started', async () => {
          const child = start('PoliteJob,AfterJob', T0)
          await waitForFile(box.file('polite.started'), child.done)
          process.kill(child.pid, 'SIGTERM')
          const result = await child.done
          expect(result.code, context(result)).to.equal(143)
          expect(lines(result.stderr), context(result)).to.deep.equal([
            '[!] SIGTERM: stopping after the running jobs (grace 10 s; send it again to quit now)',
            '    res.polite warn: interrupted by SIGTERM: asked the job to stop (ctx.signal); waiting up to 10 s',
          ])
          expect(lines(result.stdout), context(result)).to.have.length(1)
          expect(result.stdout, context(result)).to.match(/^\[✘\] res\.polite: interrupted — interrupted by SIGTERM; it stopped with: /)

          const rows = await box.rows()
          expect(rows.map((row) => [row.code, row.status])).to.deep.equal([['res.polite', 'interrupted']])
          expect(rows[0].message).to.match(/^interrupted by SIGTERM; it stopped with: /)
          expect(rows[0].end_time).to.not.equal(null)
          expect(rows[0].lease_expires_at).to.equal(null)
          expect(await lockToken('res.polite'), 'claim released').to.equal(null)
          expect(calls().map(([code]) => code), 'res.after was never started').to.deep.equal(['res.polite'])
        })

        it('SIGTERM: a job that ignores ctx.signal is abandoned after graceSeconds (0.3 s); exit 143, its row interrupted, claim released', async () => {
          const child = start('StubbornJob,AfterJob', T0, {TEST_GRACE: '0.3'})
          await waitForFile(box.file('stubborn.started'), child.done)
          const signalled = performance.now()
          process.kill(child.pid, 'SIGTERM')
          const result = await child.done
          const tookMs = performance.now() - signalled
          expect(result.code, context(result)).to.equal(143)
          expect(tookMs, 'exits soon after the grace period (the job would wait 120 s)').to.be.below(10_000)
          expect(result.stdout, context(result)).to.contain('[✘] res.stubborn: interrupted — interrupted by SIGTERM; it did not stop within the 0.3 s grace period and was abandoned')

          const rows = await box.rows()
          expect(rows.map((row) => [row.code, row.status])).to.deep.equal([['res.stubborn', 'interrupted']])
          expect(rows[0].message).to.equal('interrupted by SIGTERM; it did not stop within the 0.3 s grace period and was abandoned')
          expect(await lockToken('res.stubborn'), 'claim released').to.equal(null)
          expect(calls().map(([code]) => code)).to.deep.equal(['res.stubborn'])
        })

        it('SIGINT: exit 130, the row interrupted by SIGINT, claim released', async () => {
          const child = start('PoliteJob,AfterJob', T0)
          await waitForFile(box.file('polite.started'), child.done)
          process.kill(child.pid, 'SIGINT')
          const result = await child.done
          expect(result.code, context(result)).to.equal(130)
          expect(result.stderr, context(result)).to.contain('[!] SIGINT: stopping after the running jobs')

          const rows = await box.rows()
          expect(rows.map((row) => [row.code, row.status])).to.deep.equal([['res.polite', 'interrupted']])
          expect(rows[0].message).to.match(/^interrupted by SIGINT; it stopped with: /)
          expect(await lockToken('res.polite'), 'claim released').to.equal(null)
          expect(calls().map(([code]) => code)).to.deep.equal(['res.polite'])
        })
      })

      describe('timeoutMins', () => {
        it('a job that ignores its signal is timed_out and abandoned; the next job still runs; exit 1 promptly', async () => {
          const started = performance.now()
          const result = await runcrons('TimeoutStubbornJob,AfterJob', T0, {TEST_GRACE: '0.3'})
          const tookMs = performance.now() - started
          expect(result.code, context(result)).to.equal(1)
          expect(tookMs, 'not held by the abandoned job (which would wait 120 s)').to.be.below(10_000)
          expect(lines(result.stdout), context(result)).to.deep.equal([
            '[✘] res.timeout_stubborn: timed out — timed out after 0.005 min; it did not stop within the 0.3 s grace period and was abandoned',
            '[✔] res.after',
          ])

          const rows = await box.rows()
          expect(rows.map((row) => [row.code, row.status])).to.deep.equal([
            ['res.timeout_stubborn', 'timed_out'],
            ['res.after', 'succeeded'],
          ])
          expect(rows[0].message).to.equal('timed out after 0.005 min; it did not stop within the 0.3 s grace period and was abandoned')
          expect(await lockToken('res.timeout_stubborn'), 'claim released').to.equal(null)
          expect(calls().map(([code]) => code)).to.deep.equal(['res.timeout_stubborn', 'res.after'])
        })

        it('a job that honours its signal is timed_out too (before the grace period ends)', async () => {
          const started = performance.now()
          const result = await runcrons('TimeoutPoliteJob,AfterJob', T0)
          const tookMs = performance.now() - started
          expect(result.code, context(result)).to.equal(1)
          expect(tookMs, 'it stopped when asked, well within the 10 s grace').to.be.below(8_000)
          expect(lines(result.stdout)[0], context(result)).to.match(/^\[✘\] res\.timeout_polite: timed out — timed out after 0\.005 min; it stopped with: /)
          expect(lines(result.stdout)[1], context(result)).to.equal('[✔] res.after')

          const rows = await box.rows()
          expect(rows.map((row) => [row.code, row.status])).to.deep.equal([
            ['res.timeout_polite', 'timed_out'],
            ['res.after', 'succeeded'],
          ])
          expect(rows[0].message).to.match(/^timed out after 0\.005 min; it stopped with: /)
          expect(await lockToken('res.timeout_polite'), 'claim released').to.equal(null)
        })
      })

      if (dialect !== 'sqlite') {
        describe('clock skew', () => {
          it("a process whose clock (MANAGE_NOW) is 10 min ahead cannot take a live claim: leases follow the server's clock", async () => {
            const holder = start('BlockingJob', T0)
            await waitForFile(box.file('blocking.started'), holder.done)

            const ahead = await runcrons('BlockingJob', T0 + 10 * MINUTE)
            expect(ahead.code, context(ahead)).to.equal(0)
            expect(lines(ahead.stdout), context(ahead)).to.have.length(1)
            expect(ahead.stdout, context(ahead)).to.contain('[~] res.blocking  still running elsewhere').and.contain(`pid ${holder.pid}`)
            expect(ahead.stderr, context(ahead)).to.equal('')
            expect(calls(), 'the process ahead did not run it').to.deep.equal([['res.blocking', holder.pid]])

            fs.writeFileSync(box.file('blocking.release'), '')
            const done = await holder.done
            expect(done.code, context(done)).to.equal(0)
            expect(lines(done.stdout), context(done)).to.deep.equal(['[✔] res.blocking'])
            expect(calls(), 'exactly one execution').to.deep.equal([['res.blocking', holder.pid]])
            expect(await statuses()).to.deep.equal([['res.blocking', 'succeeded', holder.pid]])
            expect(await lockToken('res.blocking')).to.equal(null)
          })
        })
      }

      describe('crons:unlock', () => {
        it('refuses a live claim (one line naming --force); --force releases it and records the run as interrupted', async () => {
          const holder = start('BlockingJob', T0)
          await waitForFile(box.file('blocking.started'), holder.done)

          const refused = await unlock(['res.blocking'], T0 + MINUTE)
          expect(refused.code, context(refused)).to.equal(1)
          expect(refused.stdout, context(refused)).to.equal('')
          const [line, ...more] = lines(refused.stderr)
          expect(more, context(refused)).to.deep.equal([])
          expect(line, context(refused)).to.match(/^error: 'res\.blocking' is held by pid \d+ on .* its lease \(until .*\) is still being renewed: .*--force/)
          expect(line).to.contain(`pid ${holder.pid} on ${HOST}`)
          expect(await lockToken('res.blocking'), 'still held').to.not.equal(null)
          expect(await statuses()).to.deep.equal([['res.blocking', 'running', holder.pid]])

          const forced = await unlock(['res.blocking', '--force'], T0 + MINUTE)
          expect(forced.code, context(forced)).to.equal(0)
          expect(lines(forced.stdout), context(forced)).to.deep.equal([
            `Released res.blocking (held by pid ${holder.pid} on ${HOST}, lease still alive: forced); 1 running row(s) recorded as interrupted.`,
          ])
          expect(forced.stderr, context(forced)).to.equal('')
          expect(await lockToken('res.blocking'), 'released').to.equal(null)
          const rows = await box.rows()
          expect(rows.map((row) => [row.status, row.pid])).to.deep.equal([['interrupted', holder.pid]])
          expect(rows[0].message).to.equal(`interrupted: released by hand (manage crons:unlock --force) from pid ${holder.pid} on ${HOST}`)
          expect(holder.finished, 'the holder itself is not touched').to.equal(false)
          await kill9(holder)
        })

        it('after a kill -9: refused while the lease lasts, then plain crons:unlock releases it and records the run as interrupted', async () => {
          const crashed = start('BlockingJob', T0)
          await waitForFile(box.file('blocking.started'), crashed.done)
          await kill9(crashed)

          const early = await unlock(['res.blocking'], T0 + MINUTE)
          expect(early.code, context(early)).to.equal(1)
          expect(lines(early.stderr), context(early)).to.have.length(1)
          expect(early.stderr, context(early)).to.contain('--force')

          await expireLeases(t)
          const result = await unlock(['res.blocking'], AFTER_LEASE)
          expect(result.code, context(result)).to.equal(0)
          expect(lines(result.stdout), context(result)).to.deep.equal([
            `Released res.blocking (held by pid ${crashed.pid} on ${HOST}, lease had run out); 1 running row(s) recorded as interrupted.`,
          ])
          expect(await lockToken('res.blocking')).to.equal(null)
          const rows = await box.rows()
          expect(rows.map((row) => [row.status, row.pid])).to.deep.equal([['interrupted', crashed.pid]])
          expect(rows[0].message).to.contain(`process ${crashed.pid} on ${HOST}`).and.contain('last seen')

          // Nothing left to release.
          const again = await unlock(['res.blocking'], AFTER_LEASE)
          expect(again.code, context(again)).to.equal(0)
          expect(lines(again.stdout), context(again)).to.deep.equal(['res.blocking is not locked.'])
        })

        it('an unknown code: exit 1, one line', async () => {
          const result = await unlock(['nope.missing'], T0)
          expect(result.code, context(result)).to.equal(1)
          expect(result.stdout, context(result)).to.equal('')
          expect(lines(result.stderr), context(result)).to.have.length(1)
          expect(result.stderr, context(result)).to.match(/^error: no job with the code 'nope\.missing' has run on this database/)
        })
      })

      describe('two processes, two due jobs', () => {
        it('each process runs one of them, none runs twice', async () => {
          const first = start('SpreadAJob,SpreadBJob', T0)
          const second = start('SpreadAJob,SpreadBJob', T0)
          const eitherExit = Promise.race([first.done, second.done])
          await waitForFile(box.file('spread_a.started'), eitherExit)
          await waitForFile(box.file('spread_b.started'), eitherExit)
          const pidA = Number(fs.readFileSync(box.file('spread_a.started'), 'utf8'))
          const pidB = Number(fs.readFileSync(box.file('spread_b.started'), 'utf8'))
          expect([pidA, pidB].sort(), 'run by the two processes').to.deep.equal([first.pid, second.pid].sort())

          fs.writeFileSync(box.file('spread.release'), '')
          const results = await Promise.all([first.done, second.done])
          for (const result of results) {
            expect(result.code, context(result)).to.equal(0)
            expect(result.stderr, context(result)).to.equal('')
          }
          expect(calls().sort()).to.deep.equal(
            [
              ['res.spread_a', pidA],
              ['res.spread_b', pidB],
            ].sort(),
          )
          const rows = await box.rows()
          expect(rows.map((row): [string, string, number | null] => [row.code, row.status, row.pid]).sort()).to.deep.equal([
            ['res.spread_a', 'succeeded', pidA],
            ['res.spread_b', 'succeeded', pidB],
          ])
          expect(await lockToken('res.spread_a')).to.equal(null)
          expect(await lockToken('res.spread_b')).to.equal(null)
        })
      })
    })
  }
})
