import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {callCommand} from '../../src/index'
import {PINNED_CLOCK_QUIET, ROOT} from '../helpers/cli'
import {receiver} from '../helpers/receivers'
import {describeClassProblems, INDEX, SettingsBox} from '../helpers/settings-box'

/**
 * What a new user trips on (issue #23), seen from the commands: a mistake in a job's options or in
 * the settings is one line naming it, from `check` and from every tick.
 */

describe('a cron with the wrong number of fields: one line from check and from every tick', function () {
  this.timeout(30_000)
  let box: SettingsBox
  before(async () => {
    box = new SettingsBox(
      `class FourFieldsCronJob extends CronJobBase { code = 'app.four'; cron = '*/15 * * *'; async do() { return 'four' } }\n` +
        `class GoodCronJob extends CronJobBase { code = 'app.good'; runEveryMins = 1; async do() { return 'good' } }\n` +
        `module.exports = {crons: [FourFieldsCronJob, GoodCronJob]}\n`,
    )
    expect((await box.run(['migrate'])).exitCode).to.equal(0)
  })
  after(() => box.remove())

  const LINE =
    "FourFieldsCronJob: cron = '*/15 * * *' has 4 fields, not five or six: use five fields (minute hour day-of-month month day-of-week, e.g. cron = '*/15 * * * *'), or six with seconds first (e.g. cron = '*/10 * * * * *')"

  it('check: the line among its errors, exit 1', async () => {
    const result = await box.run(['check'])
    expect(result.stdout.split('\n').filter((line) => line.includes('FourFieldsCronJob'))).to.deep.equal([LINE])
    expect(result.exitCode).to.equal(1)
  })

  it('runcrons (the crontab tick): the line on stderr, the good job still runs, exit 1', async () => {
    const result = await box.run(['runcrons'])
    expect(result.stderr).to.equal(`[!] ${LINE}\n`)
    expect(result.stdout).to.equal('[✔] app.good\n')
    expect(result.exitCode).to.equal(1)
  })

  it('runcrons NAME: the same line, exit 1', async () => {
    const result = await box.run(['runcrons', 'FourFieldsCronJob', '--force'])
    expect(result.stderr).to.include(`[!] ${LINE}\n`)
    expect(result.exitCode).to.equal(1)
  })
})

/** What check and crons:list say of a sub-minute job while no scheduler has ticked recently. */
const NO_SCHEDULER = 'no scheduler has ticked in the last 2 min, so the crontab tick runs it at most once a minute until `manage scheduler` runs'

describe('sub-minute schedules: check and crons:list say the crontab tick runs them at most once a minute unless a scheduler ticked recently (then which)', function () {
  this.timeout(30_000)
  let box: SettingsBox
  before(async () => {
    box = new SettingsBox(
      `class FiveSecondsCronJob extends CronJobBase { code = 'app.five_s'; runEverySeconds = 5; async do() { return 'five' } }\n` +
        `class TenSecondsCronJob extends CronJobBase { code = 'app.ten_s'; cron = '*/10 * * * * *'; async do() { return 'ten' } }\n` +
        `class FiveMinutesCronJob extends CronJobBase { code = 'app.five_min'; cron = '0 */5 * * * *'; async do() { return 'five min' } }\n` +
        `class MinuteCronJob extends CronJobBase { code = 'app.minute'; runEverySeconds = 60; async do() { return 'minute' } }\n` +
        `module.exports = {crons: [FiveSecondsCronJob, TenSecondsCronJob, FiveMinutesCronJob, MinuteCronJob]}\n`,
    )
    expect((await box.run(['migrate'])).exitCode).to.equal(0)
  })
  after(() => box.remove())

  it('check: one warning per sub-minute job while no scheduler has ticked (none for six fields that fire once a minute, nor for 60 s), exit 0', async () => {
    const result = await box.run(['check'])
    expect(result.stdout.split('\n').filter((line) => line.includes('at most once a minute'))).to.deep.equal([
      'FiveSecondsCronJob: runs every 5 s, but ' + NO_SCHEDULER,
      "TenSecondsCronJob: runs cron '*/10 * * * * *' (Every 10 seconds), but " + NO_SCHEDULER,
    ])
    expect(result.exitCode).to.equal(0)
  })

  it('crons:list: the note in the schedule column and in the JSON', async () => {
    const json = JSON.parse((await box.run(['crons:list', '--json'])).stdout) as Array<{code: string; schedule: string; note: string | null; nextDue: string}>
    expect(json.map(({code, schedule, note}) => ({code, schedule, note}))).to.deep.equal([
      {code: 'app.five_s', schedule: 'every 5 s', note: NO_SCHEDULER},
      {code: 'app.ten_s', schedule: "cron '*/10 * * * * *' (Every 10 seconds)", note: NO_SCHEDULER},
      {code: 'app.five_min', schedule: "cron '0 */5 * * * *' (Every 5 minutes)", note: null},
      {code: 'app.minute', schedule: 'every 1 min', note: null},
    ])
    const plain = (await box.run(['crons:list'])).stdout
    expect(plain).to.include(`every 5 s; ${NO_SCHEDULER}`)
  })

  it("a scheduler that ticked in the last 2 min serves them: check names its host in a note (no warning), crons:list too; an older tick, the warning again", async () => {
    const beat = (time: string, host = 'web1') => box.withTicks((ticks) => ticks.record({kind: 'scheduler', host, pid: 9, version: '0.1.0', atMs: Date.parse(time), sinceMs: Date.parse('2026-11-23T11:00:00Z')}))
    try {
      // MANAGE_NOW is 12:00:00: web2's tick (11:59:40) is the latest of the recent ones; a crontab tick never serves them.
      await beat('2026-11-23T11:59:10Z')
      await beat('2026-11-23T11:59:40Z', 'web2')
      await box.withTicks((ticks) => ticks.record({kind: 'crontab', host: 'web3', pid: 8, version: '0.1.0', atMs: Date.parse('2026-11-23T11:59:59Z'), silentAfterMs: 600_000}))
      const served = await box.run(['check'])
      expect(served.stdout.split('\n').filter((line) => /^(FiveSeconds|TenSeconds)CronJob/.test(line))).to.deep.equal([
        'FiveSecondsCronJob: runs every 5 s, served on time by the scheduler on web2',
        "TenSecondsCronJob: runs cron '*/10 * * * * *' (Every 10 seconds), served on time by the scheduler on web2",
      ])
      expect(served.stdout).not.to.include('at most once a minute')
      expect(served.exitCode).to.equal(0)
      const json = JSON.parse((await box.run(['crons:list', '--json'])).stdout) as Array<{code: string; note: string | null}>
      expect(json.map(({note}) => note)).to.deep.equal(['served on time by the scheduler on web2', 'served on time by the scheduler on web2', null, null])
      // Two minutes after its last tick, a scheduler no longer counts: the warning again.
      const later = await box.run(['check'], {MANAGE_NOW: '2026-11-23T12:01:40Z'})
      expect(later.stdout).to.include(`FiveSecondsCronJob: runs every 5 s, but ${NO_SCHEDULER}`)
    } finally {
      await box.withTicks(async (ticks) => {
        for (const host of ['web1', 'web2', 'web3']) await ticks.forget(host)
      })
    }
  })

  it("a database that cannot be read or is not migrated: check keeps the note that does not depend on the runners", async () => {
    const bare = new SettingsBox(`class FiveSecondsCronJob extends CronJobBase { code = 'app.five_s'; runEverySeconds = 5; async do() { return 'five' } }\nmodule.exports = {crons: [FiveSecondsCronJob]}\n`)
    const unknown = 'FiveSecondsCronJob: runs every 5 s, but the crontab tick runs it at most once a minute; `manage scheduler` serves it on time'
    try {
      const missing = await bare.run(['check'])
      expect(missing.stdout).to.include(unknown)
      expect(missing.stdout).to.match(/database: the sqlite file .* does not exist/)
      fs.writeFileSync(path.join(bare.dir, 'db.sqlite3'), '')
      const empty = await bare.run(['check'])
      expect(empty.stdout).to.include(unknown)
      expect(empty.stdout).to.match(/migration\(s\) not applied/)
    } finally {
      bare.remove()
    }
  })

  it('runcrons: the crontab tick runs each due job once; a second tick in the same second runs none of them again', async () => {
    const first = await box.run(['runcrons'], {MANAGE_NOW: '2026-11-23T12:00:00.200Z'})
    expect(first.stdout).to.equal('[✔] app.five_s\n[✔] app.ten_s\n[✔] app.five_min\n[✔] app.minute\n')
    const again = await box.run(['runcrons'], {MANAGE_NOW: '2026-11-23T12:00:00.900Z'})
    expect(again.stdout).to.equal('[ ] app.five_s\n[ ] app.ten_s\n[ ] app.five_min\n[ ] app.minute\n')
    expect(again.exitCode).to.equal(0)
    // The next crontab tick: the sub-minute jobs run once more (their missed periods do not pile up).
    const next = await box.run(['runcrons'], {MANAGE_NOW: '2026-11-23T12:01:00.100Z'})
    expect(next.stdout).to.equal('[✔] app.five_s\n[✔] app.ten_s\n[ ] app.five_min\n[ ] app.minute\n')
  })
})

describeClassProblems(
  'runEverySeconds mistakes: one line from check and from every tick',
  [
    `class ZeroCronJob extends CronJobBase { code = 'app.zero'; runEverySeconds = 0; async do() { return 'zero' } }`,
    `class BothCronJob extends CronJobBase { code = 'app.both'; runEveryMins = 1; runEverySeconds = 30; async do() { return 'both' } }`,
    `class TolerantCronJob extends CronJobBase { code = 'app.tolerant'; runEverySeconds = 2; runToleranceSeconds = 5; async do() { return 'tolerant' } }`,
  ],
  [
    'ZeroCronJob: runEverySeconds = 0 is not a whole number of seconds ≥ 1: use e.g. runEverySeconds = 5',
    'BothCronJob: sets both runEveryMins (1) and runEverySeconds (30): keep one, e.g. runEverySeconds = 60',
    'TolerantCronJob: runToleranceSeconds = 5 is not less than runEverySeconds = 2, so a run would be due again as soon as it starts: use a tolerance below 2 s, e.g. runToleranceSeconds = 0',
  ],
)

describe('a job module that fails to load: check names its file and line, --traceback shows the stack', function () {
  this.timeout(30_000)
  let box: SettingsBox
  let job: string
  before(() => {
    box = new SettingsBox(`const {BadCronJob} = require('./bad-job.cjs')\nmodule.exports = {crons: [BadCronJob]}\n`)
    job = path.join(box.dir, 'bad-job.cjs')
    fs.writeFileSync(job, `'use strict'\nconst config = JSON.parse(process.env.MANAGE_NO_SUCH_VARIABLE)\nexports.BadCronJob = class {}\n`)
  })
  after(() => box.remove())

  it('check: one error line naming the job module and its line, exit 1; the stack with --traceback', async () => {
    const line = `settings: settings module ${box.settings} failed to load: ${job}:2 threw SyntaxError: "undefined" is not valid JSON (run with --traceback for the stack trace)`
    const plain = await box.run(['check'])
    expect(plain.stdout.split('\n').filter((text) => text.startsWith('settings:'))).to.deep.equal([line])
    expect(plain.exitCode).to.equal(1)
    const traced = await box.run(['check', '--traceback'])
    expect(traced.stderr).to.include(`at Object.<anonymous> (${job}:2:`)
    expect(traced.exitCode).to.equal(1)
  })

  it('runcrons: the same line on stderr, exit 1', async () => {
    const result = await box.run(['runcrons'])
    expect(result.stderr).to.equal(`error: settings module ${box.settings} failed to load: ${job}:2 threw SyntaxError: "undefined" is not valid JSON (run with --traceback for the stack trace)\n`)
    expect(result.exitCode).to.equal(1)
  })
})

describe("a mistake in the alerts never stops the jobs: the tick warns and runs them, check fails", function () {
  this.timeout(30_000)
  let box: SettingsBox
  let hook: Awaited<ReturnType<typeof receiver>>
  before(async () => {
    hook = await receiver()
    // The README's example with SLACK_WEBHOOK_URL unset, beside a webhook that works.
    box = new SettingsBox(
      `class GoodCronJob extends CronJobBase { code = 'app.good'; runEveryMins = 1; async do() { return 'good' } }\n` +
        `class FailCronJob extends CronJobBase { code = 'app.fail'; runEveryMins = 1; async do() { throw new Error('boom') } }\n` +
        `module.exports = {\n  crons: process.env.TEST_FAIL ? [GoodCronJob, FailCronJob] : [GoodCronJob],\n` +
        `  alerts: {webhooks: [process.env.MANAGE_TEST_UNSET_WEBHOOK, ${JSON.stringify(`${hook.url}/hooks/T0/s3cret`)}]},\n}\n`,
    )
    expect((await box.run(['migrate'])).exitCode).to.equal(0)
  })
  after(async () => {
    box.remove()
    await hook.close()
  })

  const PROBLEM = 'alerts.webhooks[0] is undefined: set the environment variable it is read from, or use an http:// or https:// URL'

  it('check: an error naming the setting and the fix, exit 1', async () => {
    const result = await box.run(['check'])
    expect(result.stdout.split('\n').filter((line) => line.includes('alerts'))).to.deep.equal([`settings: ${PROBLEM}`])
    expect(result.exitCode).to.equal(1)
  })

  it('runcrons: one line on stderr, the jobs run (exit 0 when they succeed), and the webhook that works still gets the alerts', async () => {
    const quiet = await box.run(['runcrons'])
    expect(quiet.stderr).to.equal(`[!] settings: ${PROBLEM} (the jobs run without these alerts until then)\n`)
    expect(quiet.stdout).to.equal('[✔] app.good\n')
    expect(quiet.exitCode).to.equal(0)

    const failing = await box.run(['runcrons'], {TEST_FAIL: '1', MANAGE_NOW: '2026-11-23T12:02:00Z'})
    expect(failing.stderr).to.equal(`[!] settings: ${PROBLEM} (the jobs run without these alerts until then)\n`)
    expect(failing.stdout).to.equal('[✔] app.good\n[✘] app.fail: Error: boom\n')
    expect(failing.exitCode).to.equal(1)
    expect(hook.got.map((request) => [request.path, request.body.kind, request.body.code])).to.deep.equal([['/hooks/T0/s3cret', 'failed', 'app.fail']])
  })

  it('the quick path of a no-op tick hands over, so the line is said on every tick', async () => {
    const result = await box.run(['runcrons'], {MANAGE_NOW: '2026-11-23T12:02:30Z'})
    expect(result.stderr).to.equal(`[!] settings: ${PROBLEM} (the jobs run without these alerts until then)\n`)
    expect(result.exitCode).to.equal(0)
  })
})

describe('a job not built, not exported or not listed: each says so, with what to do', function () {
  this.timeout(30_000)
  let root: string
  const file = (name: string) => path.join(root, name)
  const run = (argv: string[]) =>
    callCommand(argv, {project: root, cwd: root, env: {DATABASE_URL: `sqlite://${file('db.sqlite3')}`, MANAGE_SETTINGS: undefined, MANAGE_NOW: '2026-11-23T12:00:00Z', ...PINNED_CLOCK_QUIET, NO_COLOR: '1', DEBUG: undefined, MANAGE_CRONTAB_BIN: path.join(ROOT, 'test', 'fixtures', 'fake-crontab'), FAKE_CRONTAB_FILE: file('crontab')}})
  const job = (name: string, code: string, exported = true) => `${exported ? 'export ' : ''}class ${name} extends CronJobBase {\n  code = '${code}'\n  runEveryMins = 5\n  async do() { return '${code}' }\n}\n`
  const compiled = (name: string, code: string, exported = true) =>
    `"use strict"\nconst {CronJobBase} = require(${INDEX})\nclass ${name} extends CronJobBase { code = '${code}'; runEveryMins = 5; async do() { return '${code}' } }\n${exported ? `exports.${name} = ${name}\n` : ''}`
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-unlisted-'))
    const files: Record<string, string> = {
      'package.json': JSON.stringify({name: 'unlisted-app', manage: {sourceDir: 'src', buildDir: 'dist', settings: 'settings', crons: 'crons'}}),
      'tsconfig.json': '{}',
      'src/settings.ts': '',
      'src/crons/example.ts': job('ExampleCronJob', 'app.example'),
      // Made by startcron, not built yet.
      'src/crons/another.ts': job('AnotherCronJob', 'app.another'),
      'src/crons/another.test.ts': '',
      'src/crons/hidden.ts': job('HiddenCronJob', 'app.hidden', false),
      'src/crons/spare.ts': job('SpareCronJob', 'app.spare'),
      'dist/settings.js': `const {ExampleCronJob} = require('./crons/example')\nmodule.exports = {crons: [ExampleCronJob], timeZone: 'UTC'}\n`,
      'dist/crons/example.js': compiled('ExampleCronJob', 'app.example'),
      'dist/crons/hidden.js': compiled('HiddenCronJob', 'app.hidden', false),
      'dist/crons/spare.js': compiled('SpareCronJob', 'app.spare'),
    }
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(file(name)), {recursive: true})
      fs.writeFileSync(file(name), text)
    }
    expect((await run(['migrate'])).exitCode).to.equal(0)
  })
  after(() => fs.rmSync(root, {recursive: true, force: true}))

  it('runcrons NAME of a job not built: says it is not built, names its source (not its test), exit 2', async () => {
    const result = await run(['runcrons', 'AnotherCronJob'])
    expect(result.stderr).to.equal(
      'warning: src/crons/another.ts is not built (no dist/crons/another.js): run `npm run build`\n' +
        `error: cron job 'AnotherCronJob' cannot run: ${file('src/crons/another.ts')} declares it, but is not built (no ${file('dist/crons/another.js')}): run \`npm run build\`\n`,
    )
    expect(result.exitCode).to.equal(2)
  })

  it('runcrons NAME of a class not exported: says to export it, exit 2', async () => {
    const result = await run(['runcrons', 'HiddenCronJob'])
    expect(result.stderr).to.include(`error: cron job 'HiddenCronJob' cannot run: ${file('src/crons/hidden.ts')} declares it without \`export\`, so manage cannot see it: write \`export class HiddenCronJob\`, then \`npm run build\`\n`)
    expect(result.exitCode).to.equal(2)
  })

  it('runcrons NAME of an exported class not listed: runs it, and says no tick would', async () => {
    const result = await run(['runcrons', 'SpareCronJob'])
    expect(result.stdout).to.equal('[✔] app.spare\n')
    expect(result.stderr).to.include(`    SpareCronJob warn: is in ${file('dist/crons/spare.js')} but not listed in the settings' crons, so no tick runs it by itself: add it to crons in the settings if it should run on its schedule\n`)
    expect(result.exitCode).to.equal(0)
  })

  it('a name nothing declares is still unknown, with the names near it', async () => {
    const result = await run(['runcrons', 'ExampelCronJob'])
    expect(result.stderr).to.include("error: unknown cron job 'ExampelCronJob': did you mean 'ExampleCronJob'")
    expect(result.exitCode).to.equal(2)
  })

  it('check: lists the exported class no setting lists', async () => {
    const result = await run(['check'])
    expect(result.stdout.split('\n').filter((line) => line.startsWith('SpareCronJob'))).to.deep.equal([
      "SpareCronJob: is in dist/crons/spare.js but not listed in the settings' crons, so no tick runs it by itself: add it to crons in the settings, or run it by name (`manage runcrons SpareCronJob`) if that is what you meant",
    ])
    expect(result.stdout).not.to.match(/^(ExampleCronJob|HiddenCronJob):/m)
  })
})
