import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {context, type Result, ROOT, sandboxOnFreshDatabase} from '../test/helpers/cli'
import {BACKENDS} from '../test/helpers/db'

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'limits-settings.cjs')
const JOBS = [1, 2, 3, 4, 5, 6].map((n) => `report.${n}`)
/** How long each run sleeps (test/fixtures/limits-settings.cjs). */
const RUN_MS = 1000

/**
 * The most intervals open at once: an end at the same instant as a start counts first. `slackMs`:
 * a start that comes less than this before an end does not count against it (see the test).
 */
function mostAtOnce(intervals: ReadonlyArray<{start: number; end: number}>, slackMs = 0): number {
  const events = intervals.flatMap(({start, end}) => [
    {at: start + slackMs, step: 1},
    {at: end, step: -1},
  ])
  events.sort((a, b) => a.at - b.at || a.step - b.step)
  let open = 0
  let most = 0
  for (const event of events) most = Math.max(most, (open += event.step))
  return most
}

/**
 * A limit shared by every process, end to end: six jobs of the group 'reports' (limits: {reports: 2}),
 * three `manage runcrons --concurrency 6` processes started together, round after round, until
 * every job has run once. Never more than two runs of the group at once, by do()'s own start and end
 * times (one clock) and, on sqlite, by the run log's; and two at once at some point (the limit is
 * used, not a lock of one).
 */
for (const dialect of BACKENDS) describe(`a limit of 2 over 6 jobs and 3 processes on ${dialect}`, function () {
  this.timeout(120_000)
  const on = sandboxOnFreshDatabase(dialect, SETTINGS)

  it('is never exceeded, and is used', async () => {
    const outputs: string[] = []
    for (let round = 0; round < 10; round++) {
      const results: Result[] = await Promise.all([1, 2, 3].map(() => on.sandbox.spawn(['runcrons', '--concurrency', '6'], {LIMIT_SLEEP_MS: String(RUN_MS)})))
      for (const result of results) {
        expect(result.code, context(result)).to.equal(0)
        expect(result.stderr, context(result)).to.not.match(/deadlock|SQLITE_BUSY|locked/i)
        outputs.push(result.stdout)
      }
      const ran = await on.sandbox.withDb((db) => db('cron_job_log').where({status: 'succeeded'}).count({n: '*'}))
      if (Number(ran[0].n) === JOBS.length) break
    }
    const rows = await on.sandbox.withDb((db) => db('cron_job_log').select('code', 'status', 'start_time', 'end_time', 'late_reason', 'started_late_ms'))
    expect(rows.map((row) => `${row.code} ${row.status}`).sort()).to.deep.equal(JOBS.map((code) => `${code} succeeded`))
    const ms = (value: unknown) => new Date(value instanceof Date ? value : String(value)).getTime()
    // do()'s own times, on this machine's one clock: never more than 2 at once, and 2 at some point.
    const measured = JOBS.map((code) => JSON.parse(fs.readFileSync(path.join(on.sandbox.dir, `run-${code}.json`), 'utf8')) as {started: number; ended: number})
    expect(mostAtOnce(measured.map(({started, ended}) => ({start: started, end: ended})))).to.equal(2)
    // The run log's start and end times. A run's start_time is its decision's time, read before the
    // transaction that claims it and takes its slot, which may wait for the database (sqlite's write
    // lock, behind the other processes' transactions): a run that took the slot another had just freed
    // can be dated before that run's end_time by as long as that wait, a few ms on an idle machine,
    // over 400 ms seen under the parallel suite. Each run takes 1 s, so 700 ms of slack still shows a
    // third run at once. On PostgreSQL and MySQL each process dates its runs by its own measure of the
    // server's clock (one round trip, its connection's setup included): off by a few hundred ms
    // between processes under load. There each run's log dates must hold its do(), to within that.
    const logged = rows.map((row) => ({start: ms(row.start_time), end: ms(row.end_time)}))
    if (dialect === 'sqlite') expect(mostAtOnce(logged, 700)).to.equal(2)
    else for (const [index, row] of rows.entries()) expect(Math.abs(logged[index].start - measured[JOBS.indexOf(row.code as string)].started)).to.be.below(2000)
    // The held-back ones said so, and started late for their limit.
    expect(outputs.join('')).to.match(/\[~\] report\.\d {2}held back: limit: reports \(2 running\)/)
    expect(rows.filter((row) => row.late_reason === 'limit: reports').length).to.be.at.least(1)
  })
})
