import {expect} from 'chai'
import path from 'node:path'
import {codeHash} from '../src/core/time/hashed-cron'
import {ROOT, sandboxOnFreshDatabase, schedulersUntil} from '../test/helpers/cli'
import {BACKENDS} from '../test/helpers/db'

const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'policies-settings.cjs')
const LETTERS = ['a', 'b', 'c', 'd', 'e', 'f']

/**
 * spreadSeconds under two resident schedulers (real time): six jobs every 4 s, each spread inside
 * its 4 s by the hash of its code. Each run starts its offset after its period (the same offset
 * whichever server starts it), the periods follow each other exactly (no drift), each once.
 */
for (const dialect of BACKENDS) describe(`spreadSeconds under two schedulers, on ${dialect}`, function () {
  this.timeout(90_000)
  const on = sandboxOnFreshDatabase(dialect, SETTINGS)

  it('each job starts its own offset into each period, on either server, every period once', async () => {
    const env = {TEST_CRONS: LETTERS.map((letter) => `Spread${letter.toUpperCase()}Job`).join(',')}
    const rows = () => on.sandbox.withDb(async (db) => (await db('cron_job_log').whereIn('code', LETTERS.map((letter) => `spread.${letter}`)).select('code', 'status', 'start_time', 'period_at', 'pid')).map((row) => ({code: String(row.code), status: String(row.status), startMs: new Date(row.start_time instanceof Date ? row.start_time : String(row.start_time)).getTime(), periodMs: new Date(row.period_at instanceof Date ? row.period_at : String(row.period_at)).getTime(), pid: Number(row.pid)})))
    await schedulersUntil(on.sandbox, 2, env, async () => (await rows()).filter((row) => row.status === 'succeeded').length >= 6 * 4, 40_000)

    const all = await rows()
    const pids = new Set<number>()
    const offsets = new Set<number>()
    const medians: number[] = []
    for (const letter of LETTERS) {
      const code = `spread.${letter}`
      const offsetMs = (codeHash(code, 7) % 4) * 1000
      offsets.add(offsetMs)
      const runs = all.filter((row) => row.code === code).sort((a, b) => a.periodMs - b.periodMs)
      expect(new Set(runs.map((run) => run.periodMs)).size, `${code}: a period twice`).to.equal(runs.length)
      // After the first run (at once, when the scheduler starts), every 4 s, each its offset into its period:
      // never before it, and as a rule within half a second after it (a loaded machine starts some late; a
      // late start never makes the next one later: the scheduler holds a job to the end of the period it served).
      const lateness: number[] = []
      for (let i = 1; i < runs.length; i++) {
        expect(runs[i].periodMs - runs[i - 1].periodMs, `${code}: its periods`).to.equal(4000)
        expect(runs[i].startMs - runs[i].periodMs, `${code}: never before its offset`).to.be.at.least(offsetMs)
        lateness.push(runs[i].startMs - runs[i].periodMs - offsetMs)
        pids.add(runs[i].pid)
      }
      medians.push(lateness.sort((a, b) => a - b)[Math.floor(lateness.length / 2)])
      expect(medians[medians.length - 1], `${code}: its median lateness after its offset`).to.be.below(500)
    }
    // The six jobs do not all start at the same instant of the period.
    expect(offsets.size).to.be.at.least(2)
    console.log(`      spread backend=${dialect} offsets=${[...offsets].sort().join(',')} ms servers=${pids.size} median lateness=${medians.join(',')} ms`)
  })
})
