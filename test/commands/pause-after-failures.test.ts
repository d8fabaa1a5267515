import {expect} from 'chai'
import {NO_ALERTS} from '../../src/core/alerts/alert-settings'
import {runCrons} from '../../src/core/tick/run-crons'
import {fixedClock} from '../../src/core/time/clock'
import {job, settingsWith} from '../fixtures/jobs'
import {context, lines, Sandbox} from '../helpers/cli'
import {freshDatabase, plain, tableRows} from '../helpers/db'
import {mailbox, subjectOf} from '../helpers/receivers'
import {at} from '../helpers/schedule'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const SETTINGS = path.join(__dirname, '..', 'fixtures', 'pause-settings.cjs')
/** Who crons:resume records. */
const WHO = `${os.userInfo().username}@${os.hostname()}`

/**
 * pauseAfterFailures through the commands, in this process (callCommand) on a sqlite file with the
 * clock pinned: a job that failed 3 times in a row is skipped by runcrons, `why` shows the pause and
 * its note, and after crons:resume it runs again, with 3 fresh tries.
 */
describe('pauseAfterFailures through runcrons, why and crons:resume', function () {
  this.timeout(30_000)
  let box: Sandbox
  beforeEach(async () => {
    box = new Sandbox({tier: 'in-process', settings: SETTINGS})
    await box.migrate()
  })
  afterEach(() => box.remove())

  const minute = (m: number) => `2026-11-23T12:${String(m).padStart(2, '0')}:00Z`
  const tick = (m: number) => box.run(['runcrons'], {MANAGE_NOW: minute(m)})
  const note = 'paused after 3 failures: Error: the upstream API said 503'
  const failed = '[✘] test.flaky: Error: the upstream API said 503'
  const skipped = `[‖] test.flaky  paused since 2026-11-23 12:02 by manage (pauseAfterFailures): '${note}' (manage crons:resume to resume)`

  it('3 failures in a row pause the job: runcrons skips it, why says so, and crons:resume gives it 3 fresh tries', async () => {
    for (const m of [0, 1]) expect(lines((await tick(m)).stdout)).to.deep.equal([failed])
    const third = await tick(2)
    expect(third.code, context(third)).to.equal(1)
    expect(lines(third.stdout), context(third)).to.deep.equal([failed])
    expect(lines(third.stderr).filter((line) => line.includes('pauseAfterFailures')), context(third)).to.deep.equal([
      `    test.flaky warn: ${note} (pauseAfterFailures); it runs again once resumed: manage crons:resume test.flaky`,
    ])
    for (const m of [3, 4]) {
      const paused = await tick(m)
      expect({code: paused.code, stdout: lines(paused.stdout)}, context(paused)).to.deep.equal({code: 0, stdout: [skipped]})
    }
    expect(box.calls()).to.have.length(3)

    const why = await box.run(['why', 'test.flaky'], {MANAGE_NOW: minute(4)})
    expect(lines(why.stdout)[0], context(why)).to.equal(`test.flaky (FlakyJob) at 2026-11-23 12:04:00 UTC: paused: ${skipped.slice('[‖] test.flaky  '.length)}`)
    const listed = JSON.parse((await box.run(['crons:list', '--json'], {MANAGE_NOW: minute(4)})).stdout) as Array<{schedule: string; paused: unknown}>
    expect(listed[0]).to.deep.include({schedule: 'every 1 min (pauses after 3 failures in a row)', paused: {since: '2026-11-23T12:02:00.000Z', by: 'manage (pauseAfterFailures)', note}})

    expect(lines((await box.run(['crons:resume', 'test.flaky'], {MANAGE_NOW: minute(5)})).stdout)).to.deep.equal(['Resumed test.flaky.'])
    // Two failures after the resume: still running; the third pauses it again.
    for (const m of [6, 7]) expect(lines((await tick(m)).stdout)).to.deep.equal([failed])
    expect(lines((await tick(8)).stdout)).to.deep.equal([failed])
    expect(lines((await tick(9)).stdout)[0]).to.match(/^\[‖\] test\.flaky {2}paused since 2026-11-23 12:08 by manage \(pauseAfterFailures\)/)
    expect(box.calls()).to.have.length(6)

    const actions = await box.withDb((db) => db('cron_action').orderBy('id').select('action', 'by_user', 'note', 'at'))
    expect(actions.map((row) => [row.action, row.by_user, row.note, plain(row).at])).to.deep.equal([
      ['pause', 'manage (pauseAfterFailures)', note, '2026-11-23T12:02:00.000Z'],
      ['resume', WHO, null, '2026-11-23T12:05:00.000Z'],
      ['pause', 'manage (pauseAfterFailures)', note, '2026-11-23T12:08:00.000Z'],
    ])
  })

  it('a success in between starts the count again', async () => {
    for (const m of [0, 1]) await tick(m)
    fs.writeFileSync(box.file('healthy'), '')
    expect(lines((await tick(2)).stdout)).to.deep.equal(['[✔] test.flaky'])
    fs.rmSync(box.file('healthy'))
    // Due again a minute after its success started (12:04), then every minute while it fails.
    for (const m of [4, 5]) expect(lines((await tick(m)).stdout)).to.deep.equal([failed])
    expect(lines((await tick(6)).stdout)).to.deep.equal([failed])
    expect(lines((await tick(7)).stdout)[0]).to.match(/^\[‖\] test\.flaky/)
  })
})

describe('the pause alert by e-mail, once; none for a job whose alerts are off', function () {
  this.timeout(30_000)
  it('two jobs pause after 2 failures each: one e-mail, about the one whose alerts are on; both paused', async () => {
    const mail = await mailbox()
    const t = await freshDatabase()
    try {
      const boom = () => {
        throw new Error('quota exceeded')
      }
      const Mailed = job('app.mailed', {runEveryMins: 1, pauseAfterFailures: 2}, boom)
      const Quiet = job('app.quiet', {runEveryMins: 1, pauseAfterFailures: 2, alerts: false}, boom)
      const email = {host: '127.0.0.1', port: mail.port, secure: false, user: 'alerts', password: 'Sm7p-S3cret', from: 'cron@example.com', to: ['ops@example.com']}
      // A failure threshold of 5: the incidents stay quiet, so the only mail is the pause's.
      const settings = settingsWith([Mailed, Quiet], {alerts: {...NO_ALERTS, failureThreshold: 5, channels: [{kind: 'email', email}]}})
      for (const m of [0, 1, 2, 3]) {
        const clock = fixedClock(at(`2026-01-05T10:0${m}:00Z`))
        await runCrons({db: t.db, dialect: t.dialect, settings, clock, leaseClock: clock, host: 'web1'})
      }
      expect(mail.mails.map((sent) => subjectOf(sent.data))).to.deep.equal(['[manage] app.mailed paused after 2 failures: Error: quota exceeded'])
      // Quoted-printable: long lines come with soft breaks.
      expect(mail.mails[0].data.replace(/=\r\n/g, '')).to.include('it runs again only once resumed: manage crons:resume app.mailed')
      expect((await tableRows(t.db, 'cron_job_log')).map((row) => `${String(row.code)} ${String(row.status)}`)).to.deep.equal(['app.mailed failed', 'app.quiet failed', 'app.mailed failed', 'app.quiet failed'])
      expect((await t.db('cron_job').orderBy('code').select('code', 'paused_by')).map(plain)).to.deep.equal([
        {code: 'app.mailed', paused_by: 'manage (pauseAfterFailures)'},
        {code: 'app.quiet', paused_by: 'manage (pauseAfterFailures)'},
      ])
    } finally {
      await t.close()
      await mail.close()
    }
  })
})
