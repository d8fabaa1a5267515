import {expect} from 'chai'
import path from 'node:path'
import {context, ROOT, sandboxOnFreshDatabase} from '../test/helpers/cli'
import {BACKENDS} from '../test/helpers/db'

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'policies-settings.cjs')
const CRONS = 'CatchUpNoneJob,CatchUpLatestJob,CatchUpAllJob,CatchUpAllEveryJob,CatchUpSlotsJob'

/** A week of irregular ticks: a few a day, two servers at some, a day and a half with none at all. */
function weekOfTicks(): string[] {
  const ticks: string[] = []
  for (let day = 2; day <= 8; day++) {
    const date = `2026-03-0${day}`
    if (day === 4) continue // no tick all day: the servers were down
    for (const time of day === 5 ? ['12:00', '18:30'] : ['00:00', '06:00', '06:01', '09:30', '12:00', '13:37', '18:00']) ticks.push(`${date}T${time}:00Z`)
  }
  return ticks
}

/**
 * A mixed week (real processes, each backend): hourly jobs with each catch-up policy, an hourly
 * interval, two daily slots; ticks a few times a day, sometimes two servers at once, a day with none,
 * a pause and a resume, a run by hand. Then `manage audit --json`: every period has exactly one
 * record, a run or a skip: 0 unaccounted, none twice.
 */
for (const dialect of BACKENDS) describe(`a mixed week, audited, on ${dialect}`, function () {
  this.timeout(600_000)
  const on = sandboxOnFreshDatabase(dialect, SETTINGS)

  it('audit --json: 0 unaccounted periods, none twice, the skips counted apart', async () => {
    const env = (now: string) => ({MANAGE_NOW: now, TEST_CRONS: CRONS})
    const ok = (result: {code: number | null}) => expect(result.code, context(result as never)).to.equal(0)
    for (const now of weekOfTicks()) {
      // Two servers at the noon ticks, one otherwise.
      const servers = now.endsWith('T12:00:00Z') ? 2 : 1
      for (const result of await Promise.all(Array.from({length: servers}, () => on.sandbox.spawn(['runcrons'], env(now))))) ok(result)
      if (now === '2026-03-06T09:30:00Z') ok(await on.sandbox.spawn(['crons:pause', 'policy.all', '--note', 'maintenance'], env(now)))
      if (now === '2026-03-06T18:00:00Z') ok(await on.sandbox.spawn(['crons:resume', 'policy.all'], env(now)))
      if (now === '2026-03-07T13:37:00Z') ok(await on.sandbox.spawn(['runcrons', 'CatchUpLatestJob', '--force'], env(now)))
    }
    const audit = await on.sandbox.spawn(['audit', '--since', '8d', '--json'], env('2026-03-08T18:05:00Z'))
    expect(audit.code, context(audit)).to.equal(0)
    const report = JSON.parse(audit.stdout) as {ok: boolean; jobs: Array<{code: string; unaccounted: number; counts: {periods: number; skipped: number; twice: number; extra: number; ran: number; late: number}}>}
    const summary = report.jobs.map((job) => ({code: job.code, unaccounted: job.unaccounted, twice: job.counts.twice}))
    expect(summary).to.deep.equal(report.jobs.map((job) => ({code: job.code, unaccounted: 0, twice: 0})))
    expect(report.ok).to.equal(true)
    for (const job of report.jobs) console.log(`      mixed-week backend=${dialect} ${job.code} periods=${job.counts.periods} ran=${job.counts.ran} late=${job.counts.late} skipped=${job.counts.skipped} extra=${job.counts.extra} unaccounted=${job.unaccounted} twice=${job.counts.twice}`)
    const by = new Map(report.jobs.map((job) => [job.code, job.counts]))
    // Hourly from the first tick to the last: 162 periods; the policies differ in how many ran.
    expect(by.get('policy.all')!.periods).to.equal(163)
    expect(by.get('policy.none')!.skipped).to.be.above(100)
    expect(by.get('policy.latest')!.extra).to.equal(1)
    expect(by.get('policy.slots')!.periods).to.equal(14)
  })
})
