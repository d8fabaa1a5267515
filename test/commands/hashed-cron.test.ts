import {expect} from 'chai'
import {describeClassProblems, SettingsBox} from '../helpers/settings-box'

/**
 * Jenkins' H seen from the commands (#20 part 4): the written form and the resolved one side by
 * side in check, crons:list, crons:next and why; a tick runs the job at its hashed minute; a bad H
 * is one line from check and from every tick. app.job_0 resolves 'H * * * *' to minute 43 and
 * app.job_1 'H(0-29) 3 * * *' to 03:18 (pinned in test/unit/hashed-cron.test.ts).
 */

describe('cron with H: both forms shown by check, crons:list, crons:next and why; the tick runs it at its hashed minute', function () {
  this.timeout(30_000)
  let box: SettingsBox
  before(async () => {
    box = new SettingsBox(
      `class SpreadCronJob extends CronJobBase { code = 'app.job_0'; cron = 'H * * * *'; async do() { return 'spread' } }\n` +
        `class NightlyCronJob extends CronJobBase { code = 'app.job_1'; cron = 'H(0-29) 3 * * *'; async do() { return 'nightly' } }\n` +
        `class PlainCronJob extends CronJobBase { code = 'app.plain'; cron = '0 9 * * MON,THU'; async do() { return 'plain' } }\n` +
        `module.exports = {crons: [SpreadCronJob, NightlyCronJob, PlainCronJob], timeZone: 'UTC'}\n`,
    )
    expect((await box.run(['migrate'])).exitCode).to.equal(0)
  })
  after(() => box.remove())

  it('check: a note per H job with what it resolved to, no issue, exit 0', async () => {
    const result = await box.run(['check'])
    expect(result.stdout.split('\n').filter((line) => line.includes("(here: '"))).to.deep.equal([
      "SpreadCronJob: runs cron 'H * * * *' (here: '43 * * * *') (At 43 minutes past the hour): each H from the hash of its code 'app.job_0', the same on every server",
      "NightlyCronJob: runs cron 'H(0-29) 3 * * *' (here: '18 3 * * *') (At 03:18): each H from the hash of its code 'app.job_1', the same on every server",
    ])
    expect(result.exitCode, result.stdout + result.stderr).to.equal(0)
  })

  it('crons:list (and so the dashboard, which shows its rows): the schedule with both forms, next due from the resolved one', async () => {
    const json = JSON.parse((await box.run(['crons:list', '--json'])).stdout) as Array<{code: string; schedule: string; nextDue: string}>
    expect(json.map(({code, schedule, nextDue}) => ({code, schedule, nextDue}))).to.deep.equal([
      {code: 'app.job_0', schedule: "cron 'H * * * *' (here: '43 * * * *') (At 43 minutes past the hour)", nextDue: '2026-11-23T12:43:00.000Z'},
      {code: 'app.job_1', schedule: "cron 'H(0-29) 3 * * *' (here: '18 3 * * *') (At 03:18)", nextDue: '2026-11-24T03:18:00.000Z'},
      {code: 'app.plain', schedule: "cron '0 9 * * MON,THU' (At 09:00, only on Monday and Thursday)", nextDue: '2026-11-26T09:00:00.000Z'},
    ])
    expect((await box.run(['crons:list'])).stdout).to.include("cron 'H * * * *' (here: '43 * * * *')")
  })

  it('crons:next: the resolved expression above the times; --json has both', async () => {
    const text = await box.run(['crons:next', 'app.job_0', '--count', '2'])
    expect(text.stdout).to.equal("app.job_0: cron 'H * * * *' (here: '43 * * * *')\nMon 2026-11-23 12:43 UTC\nMon 2026-11-23 13:43 UTC\n")
    const json = JSON.parse((await box.run(['crons:next', 'app.job_0', '--count', '1', '--json'])).stdout) as {cron: string; cronWritten: string | null; times: Array<{time: string}>}
    expect(json).to.deep.include({cron: '43 * * * *', cronWritten: 'H * * * *'})
    expect(json.times.map((time) => time.time)).to.deep.equal(['2026-11-23T12:43:00.000Z'])
    const plain = JSON.parse((await box.run(['crons:next', 'app.plain', '--count', '1', '--json'])).stdout) as {cron: string; cronWritten: string | null}
    expect(plain).to.deep.include({cron: '0 9 * * MON,THU', cronWritten: null})
    expect((await box.run(['crons:next', 'app.plain', '--count', '1'])).stdout).to.equal('Thu 2026-11-26 09:00 UTC\n')
  })

  it('why: the cron rule names both forms', async () => {
    const result = await box.run(['why', 'app.job_0', '--at', '2026-11-23T12:43:10Z'])
    expect(result.stdout).to.include("would run: cron 'H * * * *' (here: '43 * * * *'): slot 2026-11-23 12:43 has not run")
  })

  it('runcrons: not due at 12:42, due at 12:43 (its hashed minute)', async () => {
    const before = await box.run(['runcrons'], {MANAGE_NOW: '2026-11-23T12:42:00Z'})
    expect(before.stdout).to.include('[ ] app.job_0')
    const at = await box.run(['runcrons'], {MANAGE_NOW: '2026-11-23T12:43:00Z'})
    expect(at.stdout).to.include('[✔] app.job_0')
    expect(at.exitCode, at.stdout + at.stderr).to.equal(0)
  })
})

describeClassProblems(
  'a bad H: one line from check and from every tick, the good jobs still run',
  [
    `class BackwardsCronJob extends CronJobBase { code = 'app.backwards'; cron = 'H(30-10) * * * *'; async do() { return 'x' } }`,
    `class ZeroStepCronJob extends CronJobBase { code = 'app.zero'; cron = 'H/0 * * * *'; async do() { return 'x' } }`,
    `class WideCronJob extends CronJobBase { code = 'app.wide'; cron = 'H(0-99) * * * *'; async do() { return 'x' } }`,
  ],
  [
    "BackwardsCronJob: cron = 'H(30-10) * * * *' has H(30-10) in the minute field, a range from high to low: write it low to high, e.g. H(10-30)",
    "ZeroStepCronJob: cron = 'H/0 * * * *' has H/0 in the minute field, a step outside 1-60 (the values of 0-59): use a step from 1 to 60, e.g. H/15",
    "WideCronJob: cron = 'H(0-99) * * * *' has H(0-99) in the minute field, beyond 0-59: keep the range within 0-59, e.g. H(0-59)",
  ],
)
