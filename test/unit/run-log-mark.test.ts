import {expect} from 'chai'
import {knexSource} from '../../src/core/db/connection-source'
import {runLogMark, SqlRunStore} from '../../src/core/run-log/run-store'
import {BACKENDS, freshDatabase, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

/**
 * The run log's mark (a scheduler's refresh: run-store's runLogMark): equal while nothing a plan
 * reads has changed, different after each kind of change another server or an operator makes.
 */
for (const dialect of BACKENDS) describe(`the run log's mark on a real ${dialect} database`, () => {
  let t: TestDatabase
  let store: SqlRunStore
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())
  beforeEach(async () => {
    for (const table of ['cron_job_log', 'cron_job']) await t.db(table).delete()
    store = new SqlRunStore(knexSource(t.db, t.dialect))
  })
  const mark = () => runLogMark(knexSource(t.db, t.dialect))
  /** Each change, made as another process would make it: the mark before and after differ; unchanged, it reads the same twice. */
  async function changes(what: string, change: () => Promise<unknown>): Promise<void> {
    const before = await mark()
    expect(await mark(), `${what}: read twice`).to.equal(before)
    await change()
    expect(await mark(), what).to.not.equal(before)
  }
  const status = (id: number, to: string) => t.db('cron_job_log').where({id}).update({status: to})

  it("changes with a run added or trimmed, a run's status set or changed, a pause, a resume; not with a lease renewed or a claim taken", async () => {
    const old = await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-01-01T00:00:00Z'), endMs: at('2026-01-01T00:00:01Z')})
    await store.insertRun({code: 'b', status: 'succeeded', startMs: at('2026-01-05T09:00:00Z'), endMs: at('2026-01-05T09:00:01Z')})
    let running = 0
    await changes('a run started', async () => (running = await store.insertRun({code: 'a', status: 'running', startMs: at('2026-01-05T10:00:00Z'), endMs: null})))
    await changes('the run ended', () => status(running, 'succeeded'))
    await changes('a late failure charged to it', () => status(running, 'failed'))
    await changes('then interrupted', () => status(running, 'interrupted'))
    await changes('finished past its lease', () => status(running, 'succeeded'))
    await changes('timed out', () => status(running, 'timed_out'))
    await changes('a job paused', () => store.setPaused('b', {sinceMs: at('2026-01-05T10:05:00Z'), by: 'ops'}))
    await changes('resumed', () => store.setPaused('b', null, at('2026-01-05T10:06:00Z')))
    await changes('paused again', () => store.setPaused('b', {sinceMs: at('2026-01-05T10:07:00Z'), by: 'ops'}))
    await changes('the oldest run trimmed', () => t.db('cron_job_log').where({id: old}).delete())
    // A lease renewed, a claim taken: nothing a plan reads (a lease's end is a kept instant of its own).
    const before = await mark()
    await t.db('cron_job_log').where({id: running}).update({heartbeat_at: t.db.fn.now()})
    await t.db('cron_job').where({code: 'a'}).update({lock_token: 'x', lock_host: 'h'})
    expect(await mark()).to.equal(before)
  })

  it('reads on an empty log', async () => {
    expect(await mark()).to.be.a('string')
    expect(await mark()).to.equal(await mark())
  })
})
