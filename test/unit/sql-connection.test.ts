import {promisify} from 'node:util'
import {expect} from 'chai'
import {knexSource} from '../../src/core/db/connection-source'
import {inTransaction, PreparedStatements, sqlConnection} from '../../src/core/db/sql-connection'
import {timeCodec} from '../../src/core/run-log/time-codec'
import {BACKENDS, freshDatabase, type TestDatabase} from '../helpers/db'

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a rejection')
}

for (const dialect of BACKENDS) describe(`SqlConnection on a real ${dialect} database`, () => {
  let t: TestDatabase
  before(async () => (t = await freshDatabase({dialect})))
  after(() => t.close())
  beforeEach(() => t.db('cron_job').delete())

  it('runs writes (rows changed, the new id) and reads, with ? placeholders, and reports each statement as a knex query', async () => {
    const seen: string[] = []
    const listen = (query: {sql: string}) => seen.push(query.sql)
    t.db.on('query', listen)
    try {
      await knexSource(t.db, dialect).use(async (connection) => {
        expect(await connection.run('INSERT INTO cron_job (code) VALUES (?)', ['a'])).to.deep.include({changes: 1})
        expect((await connection.run('UPDATE cron_job SET lock_host = ? WHERE code = ?', ['h', 'zz'])).changes).to.equal(0)
        expect((await connection.run('UPDATE cron_job SET lock_host = ? WHERE code = ?', ['h', 'a'])).changes).to.equal(1)
        const insert = `INSERT INTO cron_job_log (code, status, start_time) VALUES (?, ?, ?)${dialect === 'postgres' ? ' RETURNING id' : ''}`
        const first = (await connection.run(insert, ['a', 'succeeded', timeCodec(dialect).toDb(0)])).lastId!
        const second = (await connection.run(insert, ['a', 'succeeded', timeCodec(dialect).toDb(0)])).lastId!
        expect(second).to.equal(first + 1)
        const rows = await connection.all('SELECT code, lock_host FROM cron_job WHERE code = ?', ['a'])
        expect(rows).to.deep.equal([{code: 'a', lock_host: 'h'}])
      })
    } finally {
      t.db.removeListener('query', listen)
      await t.db('cron_job_log').delete()
    }
    expect(seen).to.have.length(6)
  })

  it('inTransaction commits what the body asks to commit, and rolls back otherwise or on an error', async () => {
    await knexSource(t.db, dialect).use(async (connection) => {
      await inTransaction(connection, async () => {
        await connection.run('INSERT INTO cron_job (code) VALUES (?)', ['kept'])
        return {commit: true, value: null}
      })
      await inTransaction(connection, async () => {
        await connection.run('INSERT INTO cron_job (code) VALUES (?)', ['undone'])
        return {commit: false, value: null}
      })
      const failing = inTransaction(connection, async () => {
        await connection.run('INSERT INTO cron_job (code) VALUES (?)', ['failed'])
        throw new Error('boom')
      })
      expect((await rejection(failing)).message).to.equal('boom')
      // The connection is usable again afterwards: no transaction was left open.
      await inTransaction(connection, async () => ({commit: true, value: null}))
    })
    expect(await t.db('cron_job').pluck('code')).to.deep.equal(['kept'])
  })

  if (dialect === 'sqlite') {
    it('keeps prepared statements until finalized, which lets the connection close; a bad statement fails instead of hanging', async () => {
      const other = t.connect()
      const raw = await other.client.acquireConnection()
      const prepared = new PreparedStatements()
      const connection = sqlConnection('sqlite', raw, {prepared})
      for (const code of ['p1', 'p2', 'p3']) await connection.run('INSERT INTO cron_job (code) VALUES (?)', [code])
      expect(await connection.all('SELECT count(*) AS n FROM cron_job WHERE code LIKE ?', ['p%'])).to.deep.equal([{n: 3}])
      expect((await rejection(connection.run('INSERT INTO no_such_table VALUES (?)', [1]))).message).to.match(/no such table/)
      const close = promisify((done: (error: Error | null) => void) => raw.close(done))
      expect((await rejection(close())).message).to.match(/unfinalized statements/)
      await prepared.finalize()
      await close()
      await other.client.releaseConnection(raw)
    })
  }
})
