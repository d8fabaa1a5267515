import {expect} from 'chai'
import {knexSource} from '../../src/core/db/connection-source'
import {setPausedRecorded} from '../../src/core/operate/action-log'
import {SqlRunStore} from '../../src/core/run-log/run-store'
import {SqlServerTicks} from '../../src/core/run-log/server-ticks'
import {freshDatabase, itOn, type TestDatabase} from '../helpers/db'

const at = (iso: string) => Date.parse(iso)

describe("a pause's note, read with the pause (the tick's state, pausedJobs)", function () {
  this.timeout(30_000)
  for (const dialect of ['sqlite', 'postgres', 'mysql'] as const) {
    itOn(dialect)(`${dialect}: the note of the pause that paused the job; none for a pause without one, or after a resume`, async () => {
      const test: TestDatabase = await freshDatabase({dialect})
      try {
        const source = knexSource(test.db, dialect)
        const pause = (code: string, note: string | null, atMs: number) => setPausedRecorded(source, {code, pause: true, by: 'ops', note, atMs}, String)
        await pause('noted', 'until the API key is renewed', at('2026-01-05T10:00:00Z'))
        await pause('noted', 'a later pause changes nothing', at('2026-01-05T11:00:00Z'))
        await pause('plain', null, at('2026-01-05T10:00:00Z'))
        // Paused, resumed and paused again: the note is the new pause's, not the old one's.
        await pause('again', 'the first time', at('2026-01-04T10:00:00Z'))
        await setPausedRecorded(source, {code: 'again', pause: false, by: 'ops', note: null, atMs: at('2026-01-04T12:00:00Z')}, String)
        await pause('again', null, at('2026-01-05T09:00:00Z'))

        const expected = {
          again: {sinceMs: at('2026-01-05T09:00:00Z'), by: 'ops'},
          noted: {sinceMs: at('2026-01-05T10:00:00Z'), by: 'ops', note: 'until the API key is renewed'},
          plain: {sinceMs: at('2026-01-05T10:00:00Z'), by: 'ops'},
        }
        const sorted = (map: ReadonlyMap<string, unknown>) => Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)))
        expect(sorted(await new SqlRunStore(source).pausedJobs())).to.deep.equal(expected)
        expect(sorted((await new SqlServerTicks(source).tickState()).paused)).to.deep.equal(expected)
      } finally {
        await test.close()
      }
    })
  }
})
