import {expect} from 'chai'
import path from 'node:path'
import {context, lines, Sandbox} from '../test/helpers/cli'
import {BACKENDS, freshDatabase, plain, tableRows, type TestDatabase} from '../test/helpers/db'
import {receiver} from '../test/helpers/receivers'

const SETTINGS = path.join(__dirname, '..', 'test', 'fixtures', 'pause-settings.cjs')

/**
 * pauseAfterFailures end to end, on each backend: real `bin/manage runcrons` processes, one per
 * minute (MANAGE_NOW), over a job that always fails with pauseAfterFailures = 3 and an alerts
 * webhook at a real local HTTP listener. Five ticks: three failed runs, then the job is paused
 * (skipped by the last two), and the webhook received exactly one pause alert.
 */
for (const dialect of BACKENDS) describe(`pauseAfterFailures with real processes, on ${dialect}`, function () {
  this.timeout(60_000)
  let t: TestDatabase
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())

  it('5 ticks: 3 failed runs, then paused with its note; one pause alert delivered', async () => {
    const hook = await receiver()
    const box = new Sandbox({databaseUrl: t.url, settings: SETTINGS})
    try {
      const outputs: string[][] = []
      for (const m of [0, 1, 2, 3, 4]) {
        const result = await box.runcrons('', `2026-11-23T12:0${m}:00Z`, [], {PAUSE_WEBHOOK: hook.url})
        expect(result.code, context(result)).to.equal(m < 3 ? 1 : 0)
        outputs.push(lines(result.stdout))
      }
      const failed = ['[✘] test.flaky: Error: the upstream API said 503']
      const note = 'paused after 3 failures: Error: the upstream API said 503'
      const skipped = [`[‖] test.flaky  paused since 2026-11-23 12:02 by manage (pauseAfterFailures): '${note}' (manage crons:resume to resume)`]
      expect(outputs).to.deep.equal([failed, failed, failed, skipped, skipped])
      expect(box.calls()).to.have.length(3)
      expect((await tableRows(t.db, 'cron_job_log')).map((row) => row.status)).to.deep.equal(['failed', 'failed', 'failed'])
      const [job] = (await t.db('cron_job').select('paused_by')) as Array<{paused_by: string}>
      expect(job.paused_by).to.equal('manage (pauseAfterFailures)')
      const actions = (await tableRows(t.db, 'cron_action')).map(plain)
      expect(actions.map((row) => [row.action, row.by_user, row.note])).to.deep.equal([['pause', 'manage (pauseAfterFailures)', note]])

      // The incident's alert of the first failure (failureThreshold 1, the default), then the pause's: one each.
      expect(hook.got.map((request) => request.body.kind)).to.deep.equal(['failed', 'paused'])
      const pauses = hook.got.filter((request) => request.body.kind === 'paused')
      const [{body}] = pauses
      expect(body).to.deep.include({code: 'test.flaky', className: 'FlakyJob', pauseAfterFailures: 3, note, status: 'failed'})
      expect(body.text.split('\n')[0]).to.equal(`[manage] test.flaky ${note}`)
      expect(body.text).to.include('it runs again only once resumed: manage crons:resume test.flaky')
      const alerts = (await tableRows(t.db, 'cron_alert')).map(plain)
      expect(alerts.filter((alert) => alert.kind === 'paused').map((alert) => alert.status)).to.deep.equal(['delivered'])
    } finally {
      await hook.close()
      box.remove()
    }
  })
})
