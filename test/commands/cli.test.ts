import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {DateTime} from 'luxon'
import {callManage, expectRun, lines, ROOT, Sandbox, SETTINGS, THROWING_SETTINGS, waitForFile, type Result} from '../helpers/cli'

/**
 * End-to-end tests of the CLI: every command here is `manage …` run in this process by
 * callCommand (the compiled dist/, so run `npm run build` first), as bin/manage would run it,
 * against a fresh sqlite file per test, with the clock frozen by MANAGE_NOW; what needs a process
 * of its own (the pid it records, another process holding a job, --color) starts `node bin/manage`.
 * Time never passes by sleeping: the next command gets a later MANAGE_NOW. Overlap between
 * processes or jobs is shown by marker files, never by timing.
 */

const HOST = os.hostname()

/** The framework's migrations, in the order they apply. */
// The framework's migrations, then the example project's own (migrations/), in timestamp order.
const MIGRATIONS = ['20261123000000_manage_cron_tables', '20261123000100_manage_cron_job_pause', '20261202000000_manage_exact_codes', '20261202000100_manage_lease_overrun', '20261202120000_create_items', '20261203000000_manage_alerts', '20261203000100_manage_actions', '20261204000000_manage_alert_public_id', '20261204000200_manage_forced_runs', '20261205000000_manage_runner_kind', '20261205000100_manage_lateness', '20261206000000_manage_period_ledger', '20261206000200_manage_limits']

describe('manage CLI (end to end)', function () {
  this.timeout(30_000)
  this.slow(3_000)

  let box: Sandbox

  beforeEach(() => {
    box = new Sandbox({tier: 'in-process'})
  })

  afterEach(() => {
    box.remove()
  })

  describe('runcrons: outcomes', () => {
    it('records a success: [✔], exit 0, a succeeded row whose message is the return value', async () => {
      await box.migrate()
      // In a process of its own: the row records that process's pid.
      const result = await box.spawn(['runcrons'], {TEST_CRONS: 'SuccessJob', MANAGE_NOW: '2026-11-23T12:00:00Z'})
      expectRun(result, 0, ['[✔] test.success'])

      const rows = await box.rows()
      expect(rows).to.have.length(1)
      const [row] = rows
      expect(row).to.include({
        code: 'test.success',
        status: 'succeeded',
        start_time: '2026-11-23T12:00:00.000Z',
        end_time: '2026-11-23T12:00:00.000Z',
        message: 'hello from test.success',
        ran_at_time: null,
        host: HOST,
        lease_expires_at: null,
      })
      expect(row.pid).to.be.a('number').and.not.equal(process.pid)
      expect(box.calls()).to.deep.equal(['test.success'])
    })

    it('records a failure: [✘] with the first line, exit 1, the stack in the row, and the next job still runs', async () => {
      await box.migrate()
      const result = await box.runcrons('FailJob,SuccessJob', '2026-11-23T12:00:00Z')
      expectRun(result, 1, ['[✘] test.fail: Error: boom from test.fail', '[✔] test.success'])

      const rows = await box.rows()
      expect(rows.map((row) => [row.code, row.status])).to.deep.equal([
        ['test.fail', 'failed'],
        ['test.success', 'succeeded'],
      ])
      const failed = rows[0]
      expect(failed.message).to.match(/^Error: boom from test\.fail\n\s+at /)
      expect(failed.message).to.include('cli-settings.cjs')
      expect(failed.end_time).to.equal('2026-11-23T12:00:00.000Z')
      expect(failed.lease_expires_at).to.equal(null)
      expect(box.calls()).to.deep.equal(['test.fail', 'test.success'])
    })

    it('stores a non-string return value as JSON', async () => {
      await box.migrate()
      expectRun(await box.runcrons('JsonJob', '2026-11-23T12:00:00Z'), 0, ['[✔] test.json'])
      const [row] = await box.rows()
      expect(row.status).to.equal('succeeded')
      expect(row.message).to.equal('{"count":3,"tags":["a","b"],"nested":{"ok":true}}')
      expect(JSON.parse(row.message!)).to.deep.equal({count: 3, tags: ['a', 'b'], nested: {ok: true}})
    })

    it('skips a class with no code with a [!] line on stderr, exits 1, and still runs the good classes', async () => {
      await box.migrate()
      const result = await box.runcrons('NoCodeJob,SuccessJob', '2026-11-23T12:00:00Z')
      expect(lines(result.stderr)).to.have.length(1)
      expect(lines(result.stderr)[0]).to.match(/^\[!\] NoCodeJob: has no code/)
      expect(lines(result.stdout)).to.deep.equal(['[✔] test.success'])
      expect(result.code).to.equal(1)
      expect((await box.rows()).map((row) => [row.code, row.status])).to.deep.equal([['test.success', 'succeeded']])
      expect(box.calls()).to.deep.equal(['test.success'])
    })

    it('rejects an unknown job name with exit 2 and a suggestion, before anything runs', async () => {
      await box.migrate()
      // SuccessJob is named first: it must not run, because the whole command line is checked first.
      const result = await box.runcrons('SuccessJob,FailJob', '2026-11-23T12:00:00Z', ['SuccessJob', 'SucessJob'])
      expect(result.code).to.equal(2)
      expect(result.stdout).to.equal('')
      const errors = lines(result.stderr)
      expect(errors).to.have.length(1)
      expect(errors[0]).to.match(/^error: unknown cron job 'SucessJob': did you mean .*'SuccessJob'/)
      expect(await box.rows()).to.deep.equal([])
      expect(box.calls()).to.deep.equal([])
    })

    it('runs only the named jobs, by class name or code, including a class found only in the crons directory', async () => {
      await box.migrate()
      const heartbeatFile = box.file('heartbeat.log')
      // HeartbeatCronJob (dist/src/crons) is not in these settings' crons; FailJob is, and is not named.
      const byClass = await box.runcrons('SuccessJob,FailJob', '2026-11-23T12:00:00Z', ['HeartbeatCronJob'], {HEARTBEAT_FILE: heartbeatFile})
      const unlisted = `is in ${path.join(ROOT, 'dist', 'src', 'crons', 'heartbeat.js')} but not listed in the settings' crons, so no tick runs it by itself: add it to crons in the settings if it should run on its schedule`
      expectRun(byClass, 0, ['[✔] app.heartbeat'], [`    HeartbeatCronJob warn: ${unlisted}`])
      expect(fs.readFileSync(heartbeatFile, 'utf8')).to.match(/^23\/11\/2026-12:00:00 .* is alive\n$/)

      const byCode = await box.runcrons('SuccessJob,FailJob', '2026-11-23T12:00:00Z', ['test.success'])
      expectRun(byCode, 0, ['[✔] test.success'])

      expect((await box.rows()).map((row) => [row.code, row.status])).to.deep.equal([
        ['app.heartbeat', 'succeeded'],
        ['test.success', 'succeeded'],
      ])
      expect(box.calls()).to.deep.equal(['test.success'])
    })

    it('--dry-run prints what would run and why, and writes nothing', async () => {
      await box.migrate()
      const result = await box.runcrons('SuccessJob,FailJob', '2026-11-23T12:00:00Z', ['--dry-run'])
      expectRun(result, 0, ['[→] test.success  would run: every 5 min; no successful run yet', '[→] test.fail  would run: every 5 min; no successful run yet'])
      expect(await box.rows()).to.deep.equal([])
      expect(await box.withDb((db) => db('cron_job').select())).to.deep.equal([])
      expect(box.calls()).to.deep.equal([])
    })

    it('--force runs a job that is not due', async () => {
      await box.migrate()
      expectRun(await box.runcrons('SuccessJob', '2026-11-23T12:00:00Z'), 0, ['[✔] test.success'])
      expectRun(await box.runcrons('SuccessJob', '2026-11-23T12:01:00Z'), 0, ['[ ] test.success'])
      expectRun(await box.runcrons('SuccessJob', '2026-11-23T12:01:00Z', ['--force']), 0, ['[✔] test.success'])
      expect((await box.rows()).map((row) => [row.status, row.start_time])).to.deep.equal([
        ['succeeded', '2026-11-23T12:00:00.000Z'],
        ['succeeded', '2026-11-23T12:01:00.000Z'],
      ])
    })

    it('-v 2 gives the reason a job is not due and a summary line', async () => {
      await box.migrate()
      await box.runcrons('SuccessJob', '2026-11-23T12:00:00Z')
      const result = await box.runcrons('SuccessJob', '2026-11-23T12:01:00Z', ['-v', '2'])
      expect(result.code).to.equal(0)
      const out = lines(result.stdout)
      expect(out[0]).to.equal('[ ] test.success  every 5 min; last successful start 2026-11-23 12:00:00, due after 2026-11-23 12:05:00')
      expect(out[1]).to.match(/^1 job\(s\): 0 ran, 0 failed, 1 not due, 0 running elsewhere \(.+, now = 2026-11-23 12:01:00 UTC\)$/)
      expect(out).to.have.length(2)
    })
  })

  describe('runcrons --silent', () => {
    it('prints nothing for a success (exit 0)', async () => {
      await box.migrate()
      expectRun(await box.runcrons('SuccessJob', '2026-11-23T12:00:00Z', ['--silent']), 0, [])
      expect((await box.rows()).map((row) => row.status)).to.deep.equal(['succeeded'])
    })

    it('prints nothing for a job that is not due (exit 0)', async () => {
      await box.migrate()
      await box.runcrons('SuccessJob', '2026-11-23T12:00:00Z')
      expectRun(await box.runcrons('SuccessJob', '2026-11-23T12:01:00Z', ['--silent']), 0, [])
      expect(await box.rows()).to.have.length(1)
    })

    it('prints nothing for a failure, but exits 1', async () => {
      await box.migrate()
      expectRun(await box.runcrons('FailJob', '2026-11-23T12:00:00Z', ['--silent']), 1, [])
      expect((await box.rows()).map((row) => row.status)).to.deep.equal(['failed'])
    })
  })

  describe('runcrons: schedules', () => {
    /** Run `crons` at each time and return the stdout lines of each tick (each must exit 0). */
    async function ticks(crons: string, times: string[], extra: Record<string, string> = {}): Promise<string[]> {
      const out: string[] = []
      for (const now of times) {
        const result = await box.runcrons(crons, now, [], extra)
        expect(result.code, `${now}: ${result.stdout}${result.stderr}`).to.equal(0)
        expect(lines(result.stderr), now).to.deep.equal([])
        out.push(lines(result.stdout).join(' | '))
      }
      return out
    }

    it('runEveryMins 5: runs at 00:00:00, not at 00:04:59, again at 00:05:01', async () => {
      await box.migrate()
      const out = await ticks('SuccessJob', ['2026-11-23T00:00:00Z', '2026-11-23T00:04:59Z', '2026-11-23T00:05:01Z'])
      expect(out).to.deep.equal(['[✔] test.success', '[ ] test.success', '[✔] test.success'])
      expect((await box.rows()).map((row) => [row.status, row.start_time])).to.deep.equal([
        ['succeeded', '2026-11-23T00:00:00.000Z'],
        ['succeeded', '2026-11-23T00:05:01.000Z'],
      ])
    })

    it('runEveryMins 5 with runToleranceSeconds 5: 00:04:59 runs, 00:09:54 not, 00:09:55 runs', async () => {
      await box.migrate()
      const out = await ticks('ToleranceJob', ['2026-11-23T00:00:00Z', '2026-11-23T00:04:59Z', '2026-11-23T00:09:54Z', '2026-11-23T00:09:55Z'])
      expect(out).to.deep.equal(['[✔] test.tolerance', '[✔] test.tolerance', '[ ] test.tolerance', '[✔] test.tolerance'])
      expect((await box.rows()).map((row) => row.start_time)).to.deep.equal([
        '2026-11-23T00:00:00.000Z',
        '2026-11-23T00:04:59.000Z',
        '2026-11-23T00:09:55.000Z',
      ])
    })

    it("runAtTimes ['0:00', '0:05']: 00:00:01 runs slot 00:00, 00:04:50 not, 00:05:01 runs slot 00:05, 00:06 not", async () => {
      await box.migrate()
      const out = await ticks('AtTimesJob', ['2026-11-23T00:00:01Z', '2026-11-23T00:04:50Z', '2026-11-23T00:05:01Z', '2026-11-23T00:06:00Z'])
      expect(out).to.deep.equal(['[✔] test.at_times', '[ ] test.at_times', '[✔] test.at_times', '[ ] test.at_times'])
      expect((await box.rows()).map((row) => [row.status, row.start_time, row.ran_at_time, row.message])).to.deep.equal([
        ['succeeded', '2026-11-23T00:00:01.000Z', '00:00', 'slot 00:00'],
        ['succeeded', '2026-11-23T00:05:01.000Z', '00:05', 'slot 00:05'],
      ])
    })

    it('runAtTimes catches up missed slots one per tick', async () => {
      await box.migrate()
      const out = await ticks('AtTimesJob', ['2026-11-23T00:10:00Z', '2026-11-23T00:10:00Z', '2026-11-23T00:10:00Z'])
      expect(out).to.deep.equal(['[✔] test.at_times', '[✔] test.at_times', '[ ] test.at_times'])
      expect((await box.rows()).map((row) => row.ran_at_time)).to.deep.equal(['00:00', '00:05'])
    })

    it('retryAfterFailureMins 10: after a failure, not due before start + 10 min, due after', async () => {
      await box.migrate()
      fs.writeFileSync(box.file('fail'), '')
      const failed = await box.runcrons('RetryJob', '2026-11-23T00:00:00Z')
      expectRun(failed, 1, ['[✘] test.retry: Error: failing on purpose'])
      fs.rmSync(box.file('fail'))
      const out = await ticks('RetryJob', ['2026-11-23T00:10:00Z', '2026-11-23T00:10:01Z'])
      expect(out).to.deep.equal(['[ ] test.retry', '[✔] test.retry'])
      expect((await box.rows()).map((row) => [row.status, row.start_time])).to.deep.equal([
        ['failed', '2026-11-23T00:00:00.000Z'],
        ['succeeded', '2026-11-23T00:10:01.000Z'],
      ])
    })

    it('a weekend job (runWeeklyOnDays [5, 6], 0:00) ticked once a day for a week runs on Saturday and Sunday only', async () => {
      await box.migrate()
      // 2026-11-23 is a Monday.
      const days = ['23', '24', '25', '26', '27', '28', '29']
      const out = await ticks(
        'WeekendJob',
        days.map((day) => `2026-11-${day}T00:00:30Z`),
      )
      expect(out).to.deep.equal([
        '[ ] test.weekend', // Mon
        '[ ] test.weekend',
        '[ ] test.weekend',
        '[ ] test.weekend',
        '[ ] test.weekend', // Fri
        '[✔] test.weekend', // Sat
        '[✔] test.weekend', // Sun
      ])
      expect((await box.rows()).map((row) => [row.status, row.start_time, row.ran_at_time])).to.deep.equal([
        ['succeeded', '2026-11-28T00:00:30.000Z', '00:00'],
        ['succeeded', '2026-11-29T00:00:30.000Z', '00:00'],
      ])
    })

    it('a month-days job ([1, 15], 0:00) ticked once a day for a whole month runs on the 1st and 15th (in the settings time zone)', async () => {
      await box.migrate()
      // America/New_York, at 23:50 local: already the next day in UTC, so a job that looked at UTC
      // days would run on the wrong dates. March 2026 also crosses the DST change of March 8.
      const zone = 'America/New_York'
      const times = Array.from({length: 31}, (_, i) => `2026-03-${String(i + 1).padStart(2, '0')}T23:50`)
      const out = await ticks('MonthDaysJob', times, {TEST_TZ: zone})
      const expected = times.map((_, i) => (i + 1 === 1 || i + 1 === 15 ? '[✔] test.month_days' : '[ ] test.month_days'))
      expect(out).to.deep.equal(expected)
      const utc = (local: string) => DateTime.fromISO(local, {zone}).toUTC().toISO()
      expect((await box.rows()).map((row) => [row.status, row.start_time, row.ran_at_time])).to.deep.equal([
        ['succeeded', utc('2026-03-01T23:50'), '00:00'],
        ['succeeded', utc('2026-03-15T23:50'), '00:00'],
      ])
      expect(utc('2026-03-01T23:50')).to.equal('2026-03-02T04:50:00.000Z')
    })

    it("removeSuccessfulCronLogs: a success deletes the job's older successful rows (and keeps failed ones)", async () => {
      await box.migrate()
      expectRun(await box.runcrons('CleanJob,SuccessJob', '2026-11-23T00:00:00Z'), 0, ['[✔] test.clean', '[✔] test.success'])
      // A failed run of the job, and a run of another job: neither may be removed.
      await box.withDb((db) =>
        db('cron_job_log').insert({code: 'test.clean', status: 'failed', start_time: '2026-11-23T00:01:00.000Z', end_time: '2026-11-23T00:01:00.000Z', message: 'old failure'}),
      )
      expectRun(await box.runcrons('CleanJob', '2026-11-23T00:05:01Z'), 0, ['[✔] test.clean'])
      expectRun(await box.runcrons('CleanJob', '2026-11-23T00:10:02Z'), 0, ['[✔] test.clean'])
      expect((await box.rows()).map((row) => [row.code, row.status, row.start_time])).to.deep.equal([
        ['test.success', 'succeeded', '2026-11-23T00:00:00.000Z'],
        ['test.clean', 'failed', '2026-11-23T00:01:00.000Z'],
        ['test.clean', 'succeeded', '2026-11-23T00:10:02.000Z'],
      ])
    })

    it('ignores a row dated in the future: a success dated tomorrow does not stop a 5-minute job now', async () => {
      await box.migrate()
      await box.withDb(async (db) => {
        await db('cron_job').insert({code: 'test.success'})
        await db('cron_job_log').insert({
          code: 'test.success',
          status: 'succeeded',
          start_time: '2026-11-24T12:00:00.000Z',
          end_time: '2026-11-24T12:00:01.000Z',
          message: 'from the future',
        })
      })
      expectRun(await box.runcrons('SuccessJob', '2026-11-23T12:00:00Z'), 0, ['[✔] test.success'])
      // The run it just made does count: a minute later it is not due.
      expectRun(await box.runcrons('SuccessJob', '2026-11-23T12:01:00Z'), 0, ['[ ] test.success'])
      expect((await box.rows()).map((row) => [row.status, row.start_time, row.message])).to.deep.equal([
        ['succeeded', '2026-11-24T12:00:00.000Z', 'from the future'],
        ['succeeded', '2026-11-23T12:00:00.000Z', 'hello from test.success'],
      ])
    })
  })

  describe('runcrons: processes and concurrency', () => {
    it('a job running in one process is not started by a second one (even with --force)', async () => {
      await box.migrate()
      const now = '2026-11-23T12:00:00Z'
      const a = box.start(['runcrons'], {TEST_CRONS: 'BlockingJob', MANAGE_NOW: now})
      try {
        await waitForFile(box.file('blocking.started'), a.done)
        const elsewhere = `[~] test.blocking  still running elsewhere (since 2026-11-23 12:00:00 UTC, host ${HOST}, pid ${a.pid})`
        expectRun(await box.runcrons('BlockingJob', now), 0, [elsewhere])
        expectRun(await box.runcrons('BlockingJob', now, ['--force']), 0, [elsewhere])
        // While A runs, its row is 'running' with a live lease: five minutes by the real clock, whatever MANAGE_NOW says.
        const running = await box.rows()
        expect(running.map((row) => [row.status, row.pid])).to.deep.equal([['running', a.pid]])
        expect(Date.parse(running[0].lease_expires_at!) - Date.now()).to.be.within(240_000, 300_000)
      } finally {
        fs.writeFileSync(box.file('blocking.release'), '')
      }
      expectRun(await a.done, 0, ['[✔] test.blocking'])
      const rows = await box.rows()
      expect(rows.map((row) => [row.code, row.status, row.pid, row.message])).to.deep.equal([['test.blocking', 'succeeded', a.pid, 'released']])
      expect(box.calls()).to.deep.equal(['test.blocking'])
    })

    it('MANAGE_NOW pins the decision, never the lease: a tick "a year later" still sees the live run', async () => {
      await box.migrate()
      const a = box.start(['runcrons'], {TEST_CRONS: 'BlockingJob', MANAGE_NOW: '2026-11-23T12:00:00Z'})
      try {
        await waitForFile(box.file('blocking.started'), a.done)
        const later = await box.runcrons('BlockingJob', '2027-06-01T00:00:00Z')
        expect(later.code, later.stderr).to.equal(0)
        expect(lines(later.stdout)).to.have.length(1)
        expect(lines(later.stdout)[0]).to.match(new RegExp(`^\\[~\\] test\\.blocking  still running elsewhere \\(since 2026-11-23 12:00:00 UTC, host .*, pid ${a.pid}\\)$`))
      } finally {
        fs.writeFileSync(box.file('blocking.release'), '')
      }
      expectRun(await a.done, 0, ['[✔] test.blocking'])
      expect(box.calls()).to.deep.equal(['test.blocking'])
      expect((await box.rows()).map((row) => row.status)).to.deep.equal(['succeeded'])
    })

    it('--concurrency 2 runs two jobs at once (each waits for the other to start)', async () => {
      await box.migrate()
      // With one job at a time the first would wait for the second forever (until its safety
      // timeout, TEST_WAIT_MS) and fail.
      const result = await box.runcrons('PairAJob,PairBJob', '2026-11-23T12:00:00Z', ['--concurrency', '2'], {TEST_WAIT_MS: '10000'})
      expect(lines(result.stderr)).to.deep.equal([])
      expect(lines(result.stdout).sort()).to.deep.equal(['[✔] test.pair_a', '[✔] test.pair_b'])
      expect(result.code).to.equal(0)
      expect((await box.rows()).map((row) => [row.code, row.status, row.message]).sort()).to.deep.equal([
        ['test.pair_a', 'succeeded', 'saw pair_b'],
        ['test.pair_b', 'succeeded', 'saw pair_a'],
      ])
    })
  })

  describe('errors', () => {
    it('an unmigrated database: exit 1 and one line that says to run manage migrate', async () => {
      const result = await box.runcrons('SuccessJob', '2026-11-23T12:00:00Z')
      expect(result.code).to.equal(1)
      expect(result.stdout).to.equal('')
      const errors = lines(result.stderr)
      expect(errors).to.have.length(1)
      expect(errors[0]).to.match(/^error: .*manage migrate/)
      expect(box.calls()).to.deep.equal([])
    })

    it('a bad MANAGE_NOW: exit 2 and one line', async () => {
      await box.migrate()
      const result = await box.runcrons('SuccessJob', 'yesterday')
      expect(result.code).to.equal(2)
      expect(result.stdout).to.equal('')
      const errors = lines(result.stderr)
      expect(errors).to.have.length(1)
      expect(errors[0]).to.match(/^error: MANAGE_NOW='yesterday' is not an ISO-8601 time/)
      expect(await box.rows()).to.deep.equal([])
    })

    it('a bad flag: exit 2, one line with the nearest flag (not the whole usage), nothing run', async () => {
      await box.migrate()
      const result = await box.runcrons('SuccessJob', '2026-11-23T12:00:00Z', ['--no-such-flag'])
      expectRun(result, 2, [], ["error: manage runcrons has no flag '--no-such-flag': see `manage runcrons --help` for its flags"])
      expect(await box.rows()).to.deep.equal([])
      const cases: Array<[string[], string]> = [
        [['runcrons', '--forse'], "error: manage runcrons has no flag '--forse': did you mean --force?"],
        [['crons:history', '--limt=3'], "error: manage crons:history has no flag '--limt=3': did you mean --limit?"],
        [['crons:list', '--no-colr'], "error: manage crons:list has no flag '--no-colr': did you mean --no-color?"],
        [['crons:list', '-x'], "error: manage crons:list has no flag '-x': see `manage crons:list --help` for its flags"],
      ]
      for (const [args, line] of cases) expectRun(await box.run(args), 2, [], [line])
    })

    it('a settings module that throws: one line without --traceback, the stack with it', async () => {
      const plain = await box.run(['runcrons', '--settings', THROWING_SETTINGS], {MANAGE_NOW: '2026-11-23T12:00:00Z'})
      expect(plain.code).to.equal(1)
      expect(plain.stdout).to.equal('')
      // The line names the file and line that threw, and where the rest is.
      expect(lines(plain.stderr)).to.deep.equal([`error: settings module ${THROWING_SETTINGS} failed to load: ${THROWING_SETTINGS}:4 threw Error: settings exploded on purpose (run with --traceback for the stack trace)`])

      const traced = await box.run(['runcrons', '--settings', THROWING_SETTINGS, '--traceback'], {MANAGE_NOW: '2026-11-23T12:00:00Z'})
      expect(traced.code).to.equal(1)
      const errors = lines(traced.stderr)
      expect(errors[0]).to.equal(`error: settings module ${THROWING_SETTINGS} failed to load: ${THROWING_SETTINGS}:4 threw Error: settings exploded on purpose`)
      expect(errors.length).to.be.greaterThan(3)
      expect(traced.stderr).to.match(/^\s+at /m)
      // The stack reaches the line of the settings module that threw.
      expect(traced.stderr).to.match(/at readProjectConfig \(.*cli-settings-throws\.cjs:\d+:\d+\)/)
    })
  })

  describe('other commands', () => {
    it('manage --help lists runcrons, migrate, showmigrations, check and the project command about', async () => {
      const result = await callManage(['--help'], {})
      expect(result.code).to.equal(0)
      const commands = lines(result.stdout)
        .map((line) => /^ {2}(\S+)\s{2,}/.exec(line)?.[1])
        .filter((name): name is string => Boolean(name))
      expect(commands).to.include.members(['runcrons', 'migrate', 'showmigrations', 'check', 'about'])
    })

    it('manage help runcrons explains the flags', async () => {
      const result = await callManage(['help', 'runcrons'], {})
      expect(result.code).to.equal(0)
      for (const flag of ['--force', '--silent', '--dry-run', '--concurrency', '--settings', '--traceback', '--verbosity']) {
        expect(result.stdout).to.include(flag)
      }
      expect(result.stdout).to.match(/--dry-run\s+Decide and print what would run/)
      expect(result.stdout).to.include('NAMES')
    })

    it('manage showmigrations: [ ] before migrate, [X] after', async () => {
      const before = await box.run(['showmigrations'])
      expect(before.code).to.equal(0)
      expect(lines(before.stdout).slice(1)).to.deep.equal(MIGRATIONS.map((name) => ` [ ] ${name}`))

      const migrated = await box.run(['migrate'])
      expect(migrated.code).to.equal(0)
      for (const name of MIGRATIONS) expect(migrated.stdout).to.include(name)

      const after = await box.run(['showmigrations'])
      expect(after.code).to.equal(0)
      expect(lines(after.stdout)).to.deep.equal([`sqlite file ${box.dbFile}`, ...MIGRATIONS.map((name) => ` [X] ${name}`)])

      const again = await box.run(['migrate'])
      expectRun(again, 0, [`No migrations to apply (sqlite file ${box.dbFile}).`])
    })

    it('manage check reports each misconfigured class on one line and exits 1', async () => {
      await box.migrate()
      const crontab = {MANAGE_CRONTAB_BIN: path.join(ROOT, 'test', 'fixtures', 'fake-crontab'), FAKE_CRONTAB_FILE: box.file('crontab')}
      expect((await box.run(['crontab', '--install'], crontab)).code).to.equal(0)
      // A crons folder with nothing the settings do not list (check warns about such a class).
      const result = await box.run(['check', '--settings', SETTINGS], {...crontab, TEST_CRONS_DIR: box.dir, TEST_CRONS: 'NegativeEveryJob,BadTimeJob,BadWeekdayJob,DupAJob,DupBJob,SuccessJob'})
      expect(result.code).to.equal(1)
      const problems = lines(result.stdout).filter((line) => /^[A-Z][A-Za-z]+(, [A-Z][A-Za-z]+)*: /.test(line) && !/^(ERRORS|WARNINGS):/.test(line))
      expect(problems).to.have.length(4)
      expect(problems[0]).to.match(/^NegativeEveryJob: runEveryMins = -1 /)
      expect(problems[1]).to.match(/^BadTimeJob: runAtTimes has '25:00'/)
      expect(problems[2]).to.match(/^BadWeekdayJob: runWeeklyOnDays has 7/)
      expect(problems[3]).to.match(/^DupAJob, DupBJob: share the code 'test\.dup'/)
      expect(result.stdout).to.include('System check identified 4 issue(s).')
      expect(result.stdout).not.to.include('SuccessJob')
    })

    it('--color paints the status marks, --no-color and NO_COLOR do not', async () => {
      await box.migrate()
      // In a process of its own: the colour library looks at the command line once, when it loads.
      const colored = await box.spawn(['runcrons', '--color'], {TEST_CRONS: 'SuccessJob,FailJob', MANAGE_NOW: '2026-11-23T12:00:00Z', NO_COLOR: undefined})
      expect(colored.stdout).to.include('\u001b[32m[✔]\u001b[39m test.success')
      expect(colored.stdout).to.include('\u001b[31m[✘]\u001b[39m test.fail')
      const plain = await box.runcrons('SuccessJob,FailJob', '2026-11-23T12:10:00Z', ['--no-color'])
      expect(plain.stdout).to.not.include('\u001b[')
      expect(lines(plain.stdout)[0]).to.equal('[✔] test.success')
    })

    it('MANAGE_SETTINGS selects a settings module (here an ES module), as DJANGO_SETTINGS_MODULE does', async () => {
      await box.migrate()
      const index = JSON.stringify(require.resolve('../../dist/src/index.js'))
      const file = box.file('settings.mjs')
      fs.writeFileSync(
        file,
        `import manage from ${index}\nclass EsmJob extends manage.CronJobBase { code = 'test.esm'; runEveryMins = 1; async do() { return 'from an ES module' } }\nexport default {crons: [EsmJob], timeZone: 'UTC'}\n`,
      )
      const result = await box.run(['runcrons'], {MANAGE_SETTINGS: file, MANAGE_NOW: '2026-11-23T12:00:00Z'})
      expectRun(result, 0, ['[✔] test.esm'])
      expect((await box.rows()).map((row) => row.message)).to.deep.equal(['from an ES module'])
    })

    it('manage check exits 0 on good settings; it warns until the crontab line is installed', async () => {
      await box.migrate()
      // A crons folder with nothing the settings do not list (check warns about such a class).
      const crontab = {TEST_CRONS: 'SuccessJob,FailJob,AtTimesJob', TEST_CRONS_DIR: box.dir, MANAGE_CRONTAB_BIN: path.join(ROOT, 'test', 'fixtures', 'fake-crontab'), FAKE_CRONTAB_FILE: box.file('crontab')}
      const before = await box.run(['check'], crontab)
      expect(before.code).to.equal(0)
      expect(before.stdout).to.include('crontab: has no entry for this project, so no job runs by itself: run `manage crontab --install`')
      expect((await box.run(['crontab', '--install'], crontab)).code).to.equal(0)
      const result = await box.run(['check'], crontab)
      expectRun(result, 0, ['System check identified no issues (3 cron job(s)).'])
    })
  })
})
