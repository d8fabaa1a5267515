import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {expect} from 'chai'
import {up as createItems} from '../../migrations/20261202120000_create_items'
import {FetchItemsCronJob} from '../../src/crons/fetch-items'
import {runJob} from '../../src/testing'
import {BACKENDS, freshDatabase, type TestDatabase} from '../helpers/db'

/**
 * The tutorial job (src/crons/fetch-items.ts) against a real local HTTP API and the app's own table
 * on each backend, through runJob: what a project's own test of its job looks like.
 */
for (const dialect of BACKENDS) {
  describe(`FetchItemsCronJob, the tutorial job (${dialect})`, function () {
    this.timeout(30_000)
    let t: TestDatabase
    let server: http.Server
    let answer: {status: number; body: unknown}
    let url: string
    beforeEach(async () => {
      t = await freshDatabase({dialect})
      await createItems(t.db)
      answer = {status: 200, body: []}
      server = http.createServer((_request, response) => {
        response.writeHead(answer.status, {'content-type': 'application/json'})
        response.end(JSON.stringify(answer.body))
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/items`
    })
    afterEach(async () => {
      await new Promise((resolve) => server.close(resolve))
      await t.close()
    })
    const titles = async () => ((await t.db('items').orderBy('id').pluck('title')) as string[])

    it('stores the new items, and only those, every 5 minutes', async () => {
      answer.body = [{id: 1, title: 'one'}, {id: 2, title: 'two'}]
      const first = await runJob(FetchItemsCronJob, {at: '2026-01-05T10:00:00Z', db: t.db, settings: {itemsUrl: url}})
      expect(first).to.deep.include({ran: true, status: 'succeeded', message: '{"fetched":2,"stored":2}'})

      answer.body = [{id: 1, title: 'one'}, {id: 2, title: 'two'}, {id: 3, title: 'three'}]
      const history = [{status: 'succeeded' as const, at: '2026-01-05T10:00:00Z'}]
      expect(await runJob(FetchItemsCronJob, {at: '2026-01-05T10:03:00Z', db: t.db, settings: {itemsUrl: url}, history})).to.deep.include({ran: false, status: 'not-due'})
      const later = await runJob(FetchItemsCronJob, {at: '2026-01-05T10:05:00Z', db: t.db, settings: {itemsUrl: url}, history})
      expect(later).to.deep.include({ran: true, status: 'succeeded', message: '{"fetched":3,"stored":1}'})
      expect(await titles()).to.deep.equal(['one', 'two', 'three'])
    })

    it('the API down: a failed run whose message keeps the cause (ECONNREFUSED); nothing stored', async () => {
      await new Promise((resolve) => server.close(resolve))
      const down = await runJob(FetchItemsCronJob, {at: '2026-01-05T10:00:00Z', db: t.db, settings: {itemsUrl: url}})
      expect(down).to.deep.include({ran: true, status: 'failed'})
      expect(down.message!.split('\n')[0]).to.match(/^TypeError: fetch failed \(caused by Error: connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/)
      expect(await titles()).to.deep.equal([])
      server = http.createServer().listen(0) // for afterEach
    })

    it('the API failing: the status in the message; retried a minute later, not five', async () => {
      answer = {status: 503, body: {error: 'maintenance'}}
      const failed = await runJob(FetchItemsCronJob, {at: '2026-01-05T10:00:00Z', db: t.db, settings: {itemsUrl: url}})
      expect(failed.message).to.match(/^Error: GET http:\/\/127\.0\.0\.1:\d+\/items answered 503 Service Unavailable\n/)
      answer = {status: 200, body: [{id: 'a', title: 'back'}]}
      const history = [{status: 'failed' as const, at: '2026-01-05T10:00:00Z'}]
      expect(await runJob(FetchItemsCronJob, {at: '2026-01-05T10:01:00Z', db: t.db, settings: {itemsUrl: url}, history})).to.deep.include({status: 'succeeded', message: '{"fetched":1,"stored":1}'})
    })
  })
}
