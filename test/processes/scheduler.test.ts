import fs from 'node:fs'
import path from 'node:path'
import {expect} from 'chai'
import {context, lines, ROOT, type Result, Sandbox, THROWING_SETTINGS, waitForFile, type Env, type Running} from '../helpers/cli'
import {BACKENDS, freshDatabase, type TestDatabase} from '../helpers/db'

/**
 * `manage scheduler` as a real process, in real time: a job that never ran is due at once, so
 * nothing here waits for a minute boundary. What a job is doing is known from its marker files
 * (test/fixtures/resilience-settings.cjs); the run log is polled, with a generous timeout.
 */

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'resilience-settings.cjs')
const SUB_MINUTE_SETTINGS = path.join(ROOT, 'test', 'fixtures', 'subsecond-settings.cjs')

describe('manage scheduler (real processes)', function () {
  this.timeout(40_000)
  this.slow(5_000)

  before(function () {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first')
  })

  for (const dialect of BACKENDS) {
    describe(dialect, () => {
      let t: TestDatabase
      let box: Sandbox
      let children: Running[] = []

      beforeEach(async () => {
        t = await freshDatabase({dialect})
        box = new Sandbox({databaseUrl: t.url, settings: SETTINGS})
      })

      afterEach(async () => {
        for (const child of children) {
          try {
            process.kill(child.pid, 'SIGKILL')
          } catch {
            // already gone
          }
        }
        await Promise.all(children.map((child) => child.done.catch(() => undefined)))
        children = []
        box.remove()
        await t.close()
      })

      function start(crons: string, extra: Env = {}): Running {
        const running = box.start(['scheduler'], {TEST_CRONS: crons, ...extra})
        children.push(running)
        return running
      }

      /** Poll the run log until `done` holds, or fail after `timeoutMs` (never a sleep to a time). */
      async function until(done: (rows: Array<[string, string]>) => boolean, child: Running, timeoutMs = 20_000): Promise<Array<[string, string]>> {
        let exited = false
        void child.done.then(() => (exited = true))
        const deadline = Date.now() + timeoutMs
        for (;;) {
          const rows = (await box.rows()).map((row): [string, string] => [row.code, row.status])
          if (done(rows)) return rows
          if (exited) throw new Error(`the scheduler exited first: ${context(await child.done)}`)
          if (Date.now() > deadline) throw new Error(`the run log never got there: ${JSON.stringify(rows)}`)
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }

      it('runs a job that never ran at once, records its server tick, and exits 0 on SIGTERM', async () => {
        const child = start('AfterJob')
        await until((rows) => rows.some(([code, status]) => code === 'res.after' && status === 'succeeded'), child)
        const ticks = await t.db('cron_tick').select('host', 'kind', 'pid', 'tick_at', 'since')
        expect(ticks.map((row) => [row.kind, Number(row.pid)]), 'the heartbeat: its own runner row').to.deep.equal([['scheduler', child.pid]])
        expect(new Date(ticks[0].since).getTime(), 'since its start').to.be.at.most(new Date(ticks[0].tick_at).getTime())
        const [run] = await t.db('cron_job_log').where({code: 'res.after'}).select('code_version')
        expect(run.code_version, "the code's version (package.json + the commit, when known)").to.match(/^0\.1\.0(\+[0-9a-f]{7})?$/)
        process.kill(child.pid, 'SIGTERM')
        const result = await child.done
        expect(result.code, context(result)).to.equal(0)
        expect(lines(result.stdout)).to.include('[✔] res.after')
        expect(box.calls().map((line) => line.split(' ')[0])).to.deep.equal(['res.after'])
      })

      it('--concurrency 1: the job that waited for the slot runs when it frees, saying how late', async () => {
        const child = box.start(['scheduler', '--concurrency', '1'], {TEST_CRONS: 'SpreadAJob,AfterJob'})
        children.push(child)
        await waitForFile(box.file('spread_a.started'), child.done)
        fs.writeFileSync(box.file('spread.release'), '')
        await until((rows) => rows.some(([code, status]) => code === 'res.after' && status === 'succeeded'), child)
        process.kill(child.pid, 'SIGTERM')
        const result = await child.done
        expect(result.code, context(result)).to.equal(0)
        expect(box.calls().map((line) => line.split(' ')[0])).to.deep.equal(['res.spread_a', 'res.after'])
        expect(result.stderr).to.match(/res\.after warn: run \d+ started \d+ ms late: it waited for a free slot/)
        const late = await t.db('cron_job_log').orderBy('id').select('code', 'started_late_ms')
        expect(late.map((row) => [row.code, row.started_late_ms === null ? null : Number(row.started_late_ms) > 0]), 'the wait, stored (started_late_ms)').to.deep.equal([['res.spread_a', null], ['res.after', true]])
      })

      it('SIGTERM while a job runs: no new claim, the job finishes within the grace period, recorded succeeded, exit 0', async () => {
        const child = start('StubbornJob', {TEST_GRACE: '30'})
        await waitForFile(box.file('stubborn.started'), child.done)
        process.kill(child.pid, 'SIGTERM')
        // It ignores its signal but ends on its own, well within graceSeconds.
        fs.writeFileSync(box.file('stubborn.release'), '')
        const result = await child.done
        expect(result.code, context(result)).to.equal(0)
        expect((await box.rows()).map((row) => [row.code, row.status])).to.deep.equal([['res.stubborn', 'succeeded']])
        expect(await t.db('cron_job').whereNotNull('lock_token').select('code'), 'every claim released').to.deep.equal([])
      })

      it('a job that ignores its signal past graceSeconds: recorded interrupted (abandoned), exit 143', async () => {
        const child = start('StubbornJob', {TEST_GRACE: '1'})
        await waitForFile(box.file('stubborn.started'), child.done)
        process.kill(child.pid, 'SIGTERM')
        const result = await child.done
        expect(result.code, context(result)).to.equal(143)
        const rows = await box.rows()
        expect(rows.map((row) => [row.code, row.status])).to.deep.equal([['res.stubborn', 'interrupted']])
        expect(rows[0]!.message).to.match(/did not stop within the 1 s grace period and was abandoned/)
      })

      it('a second signal exits at once, whatever the grace period', async () => {
        const child = start('StubbornJob', {TEST_GRACE: '60'})
        await waitForFile(box.file('stubborn.started'), child.done)
        const sent = Date.now()
        process.kill(child.pid, 'SIGINT')
        // Two signals sent at once may arrive as one: send the second until the process is gone.
        const again = setInterval(() => {
          try {
            process.kill(child.pid, 'SIGINT')
          } catch {
            // gone
          }
        }, 200)
        const result = await child.done.finally(() => clearInterval(again))
        expect(result.code, context(result)).to.equal(130)
        expect(Date.now() - sent).to.be.below(10_000)
      })
    })
  }

  describe('sub-minute jobs: two schedulers on one database serve each period once, on time', () => {
    const EVERY_MS = 1000 // sub.every_second: runEverySeconds = 1
    const SLOT_MS = 2000 // sub.even_seconds: '*/2 * * * * *'
    const WINDOW_MS = 6000
    // The start delay a run may have (due instant to start) and still count as on time: half an interval, far above the 10-25 ms
    // measured on a loaded 2-core machine, and far below what a lost period or a wake on whole seconds (gaps near 2 s) gives.
    const LATE_MS = 500
    for (const dialect of BACKENDS) {
      it(`${dialect}: every 1 s and every even second, run by two schedulers for ${WINDOW_MS / 1000} s`, async () => {
        const t = await freshDatabase({dialect})
        const box = new Sandbox({databaseUrl: t.url, settings: SUB_MINUTE_SETTINGS})
        const children = [box.start(['scheduler']), box.start(['scheduler'])]
        try {
          const starts = async (code: string) => (await box.rows(code)).map((row) => Date.parse(row.start_time))
          // Until the every-second job's runs span the window (measured on the run log, not assumed).
          const deadline = Date.now() + WINDOW_MS + 15_000
          for (;;) {
            const every = await starts('sub.every_second')
            if (every.length > 0 && every[every.length - 1]! - every[0]! >= WINDOW_MS) break
            if (Date.now() > deadline) throw new Error(`the every-second job never ran for ${WINDOW_MS} ms: ${every.length} run(s)`)
            await new Promise((resolve) => setTimeout(resolve, 100))
          }
          for (const child of children) process.kill(child.pid, 'SIGTERM')
          const results: Result[] = await Promise.all(children.map((child) => child.done))
          for (const result of results) expect(result.code, context(result)).to.equal(0)

          const rows = await box.rows()
          expect(rows.filter((row) => row.status !== 'succeeded'), 'every run succeeded').to.deep.equal([])
          const calls = box.calls().map((line) => line.split(' '))
          const doStarts = (code: string) => calls.filter(([called]) => called === code).map(([, , ms]) => Number(ms))

          // The interval job: never two starts an interval apart or less (exactly once: the rule is strict, and it is decided under
          // the claim on the recorded starts, whichever scheduler's clock made them), and each on time (no period lost).
          const every = await starts('sub.every_second')
          const gaps = every.slice(1).map((start, i) => start - every[i]!)
          expect(doStarts('sub.every_second'), 'one do() per run').to.have.length(every.length)
          expect(Math.min(...gaps), `gaps ${gaps.join(', ')}`).to.be.above(EVERY_MS)
          expect(Math.max(...gaps), `gaps ${gaps.join(', ')}`).to.be.below(EVERY_MS + 1 + LATE_MS)

          // The cron job: one run per even second, and every even second from its first run to its last.
          const even = await starts('sub.even_seconds')
          const slots = even.map((start) => Math.floor(start / SLOT_MS))
          expect(doStarts('sub.even_seconds'), 'one do() per run').to.have.length(even.length)
          expect(even.length).to.be.at.least(3)
          expect(slots, 'one run per slot, none skipped').to.deep.equal(slots.map((_, i) => slots[0]! + i))
          const late = even.slice(1).map((start, i) => start - slots[i + 1]! * SLOT_MS)
          expect(Math.max(...late), `started after their slots by ${late.join(', ')} ms`).to.be.below(LATE_MS)

          // Start delay from the due instant (1 ms after the interval; the slot's second), for the report (MANAGE_TEST_REPORT=1):
          // to the recorded start (the run log's clock), and to do() starting (this machine's clock: the same one on sqlite only).
          if (process.env.MANAGE_TEST_REPORT) {
            const due = [...every.slice(0, -1).map((start) => start + EVERY_MS + 1), ...slots.slice(1).map((slot) => slot * SLOT_MS)]
            const recorded = [...every.slice(1), ...even.slice(1)]
            const called = [...doStarts('sub.every_second').slice(1), ...doStarts('sub.even_seconds').slice(1)]
            const figures = (ms: number[]) => {
              const sorted = ms.map((value, i) => value - due[i]!).sort((x, y) => x - y)
              return `p50 ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms`
            }
            console.log(`      ${dialect}: ${every.length} + ${even.length} runs by pids ${[...new Set(calls.map(([, pid]) => pid))].join(', ')}; due → recorded start ${figures(recorded)}; due → do() ${figures(called)}; every-second gaps ${Math.min(...gaps)}–${Math.max(...gaps)} ms`)
          }
        } finally {
          for (const child of children) {
            try {
              process.kill(child.pid, 'SIGKILL')
            } catch {
              // already gone
            }
          }
          await Promise.all(children.map((child) => child.done.catch(() => undefined)))
          box.remove()
          await t.close()
        }
      })
    }
  })

  describe('start errors: one line and a non-zero exit, never a silent idle process', () => {
    let box: Sandbox
    beforeEach(() => (box = new Sandbox({settings: SETTINGS})))
    afterEach(() => box.remove())

    it('no jobs', async () => {
      await box.migrate()
      const result = await box.spawn(['scheduler'], {TEST_CRONS: ''})
      expect(result.code, context(result)).to.equal(1)
      expect(lines(result.stderr)).to.have.length(1)
      expect(result.stderr).to.match(/^error: no jobs to schedule: the crons of .*resilience-settings\.cjs is empty/)
    })

    it('a settings file that fails to load', async () => {
      const result = await box.spawn(['scheduler'], {MANAGE_SETTINGS: THROWING_SETTINGS})
      expect(result.code, context(result)).to.not.equal(0)
      expect(lines(result.stderr)).to.have.length(1)
      expect(result.stderr).to.match(/^error: /)
    })

    it('a frozen clock (MANAGE_NOW): exit 2', async () => {
      await box.migrate()
      const result = await box.spawn(['scheduler'], {TEST_CRONS: 'AfterJob', MANAGE_NOW: '2026-03-02T10:00:00Z'})
      expect(result.code, context(result)).to.equal(2)
      expect(lines(result.stderr).filter((line) => line.startsWith('error:'))).to.deep.equal(['error: manage scheduler runs in real time, but MANAGE_NOW=2026-03-02T10:00:00Z freezes the clock: unset MANAGE_NOW (runcrons --dry-run answers "what would run at …")'])
      expect(box.calls()).to.deep.equal([])
    })

    it("V8's young generation held first, before the settings load (young-generation.ts); an operator's semi-space flag wins", async () => {
      await box.migrate()
      const spy = `--require=${path.join(ROOT, 'test', 'fixtures', 'v8-flags-spy.cjs')}`
      const held = await box.spawn(['scheduler'], {TEST_CRONS: '', NODE_OPTIONS: spy})
      expect(held.code, context(held)).to.equal(1)
      expect(lines(held.stderr).filter((line) => line.startsWith('v8 flags set:'))).to.deep.equal(['v8 flags set: --semi-space-growth-factor=1'])
      const own = await box.spawn(['scheduler'], {TEST_CRONS: '', NODE_OPTIONS: `${spy} --max-semi-space-size=2`})
      expect(own.code, context(own)).to.equal(1)
      expect(lines(own.stderr).filter((line) => line.startsWith('v8 flags set:'))).to.deep.equal([])
    })

    it('a database that is not migrated', async () => {
      const result = await box.spawn(['scheduler'], {TEST_CRONS: 'AfterJob'})
      expect(result.code, context(result)).to.equal(1)
      expect(lines(result.stderr)).to.have.length(1)
      expect(result.stderr).to.match(/is not migrated .*run `manage migrate` first/)
      expect(box.calls()).to.deep.equal([])
    })
  })
})
