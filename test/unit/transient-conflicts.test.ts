import {expect} from 'chai'
import {knexSource} from '../../src/core/db/connection-source'
import {isTransient} from '../../src/core/db/database'
import {runCrons} from '../../src/core/tick/run-crons'
import {fixedClock} from '../../src/core/time/clock'
import {job, settingsWith} from '../fixtures/jobs'
import {BACKENDS, faultySource, freshDatabase, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

describe('isTransient: what is worth another try', () => {
  const cases: Array<[string, Record<string, unknown>, boolean]> = [
    ['a PostgreSQL deadlock (40P01)', {code: '40P01'}, true],
    ['a PostgreSQL serialization failure (40001)', {code: '40001'}, true],
    ['a MySQL deadlock (ER_LOCK_DEADLOCK, 1213)', {code: 'ER_LOCK_DEADLOCK', errno: 1213}, true],
    ['a MySQL lock wait timeout (ER_LOCK_WAIT_TIMEOUT, 1205)', {code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205}, true],
    ['sqlite busy', {code: 'SQLITE_BUSY'}, true],
    ['a reset connection', {code: 'ECONNRESET'}, true],
    ['a unique key violated (PostgreSQL 23505)', {code: '23505'}, false],
    ['a syntax error (MySQL ER_PARSE_ERROR)', {code: 'ER_PARSE_ERROR'}, false],
    ['a missing table', {code: 'SQLITE_ERROR'}, false],
  ]
  for (const [name, fields, expected] of cases) {
    it(`${name}: ${expected ? 'yes' : 'no'}`, () => expect(isTransient(Object.assign(new Error(name), fields))).to.equal(expected))
  }
})

for (const dialect of BACKENDS) describe(`a claim that loses a deadlock is tried again, on ${dialect}`, () => {
  let t: TestDatabase
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())

  it('the server rolls the claim back once as a deadlock victim: tried again, the job runs once and the tick exits 0', async () => {
    let conflicts = 0
    const deadlock = Object.assign(new Error('deadlock detected'), {code: dialect === 'mysql' ? 'ER_LOCK_DEADLOCK' : '40P01'})
    const flaky = faultySource(knexSource(t.db, t.dialect), (sql) => (/^UPDATE cron_job SET lock_token = \?/.test(sql) && conflicts++ === 0 ? deadlock : null))
    let runs = 0
    const logs: string[] = []
    const now = at('2026-01-05T00:01:00Z')
    const report = await runCrons({db: t.db, dialect: t.dialect, settings: settingsWith([job('contended', {runEveryMins: 1}, () => void runs++)]), clock: fixedClock(now), leaseClock: fixedClock(now), host: 'here', pid: 1, source: flaky, onLog: (code, level, message) => logs.push(`${code} ${level}: ${message}`)})
    expect(report.outcomes.map((outcome) => outcome.kind)).to.deep.equal(['succeeded'])
    expect(report.exitCode).to.equal(0)
    expect(runs).to.equal(1)
    expect(conflicts).to.equal(2)
    expect(logs.join('\n')).to.match(/contended warn: contended: claiming it and recording its start failed \(deadlock detected\); trying again in \d+ ms/)
    expect(await t.db('cron_job_log').where({code: 'contended'}).count({n: '*'}).first().then((row) => Number(row?.n))).to.equal(1)
  })
})
