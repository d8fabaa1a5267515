import {spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {expect} from 'chai'
import {resolveHashedCron} from '../src/core/time/hashed-cron'
import {PINNED_CLOCK_QUIET} from '../test/helpers/cli'
import {BACKENDS, freshDatabase, plain, type TestDatabase} from '../test/helpers/db'

/**
 * Jenkins' H end to end (#20 part 4): 100 jobs on cron = 'H * * * *' (test/fixtures/hashed-spread-settings.cjs)
 * spread over the hour, identically on two servers. For each minute of one hour, two real
 * `bin/manage runcrons` processes start at once with MANAGE_NOW at that minute, on one database
 * (sqlite, PostgreSQL, MariaDB); each loads the classes and resolves the H itself. Then the run log
 * must show each job run exactly once in the hour, at the minute resolveHashedCron gives its code,
 * and at least 45 distinct minutes used. A server that resolved a job to another minute would run
 * it there too (its slot not run yet), so "once, at that minute" is the two servers agreeing; and
 * neither server's output may call a job due ([✔] or [~]) at any other minute.
 *
 * 120 process starts per backend (about a minute each): in test-e2e (`npm run test:e2e`), not in `npm test`.
 */
const ROOT = path.resolve(__dirname, '..')
const BIN = path.join(ROOT, 'bin', 'manage')
const SETTINGS = path.join(ROOT, 'test', 'fixtures', 'hashed-spread-settings.cjs')
const HOUR = Date.parse('2026-03-02T10:00:00.000Z')
const MINUTE = 60_000
const CODES = Array.from({length: 100}, (_, i) => `app.job_${i}`)
/** Each code's minute, as the resolution says (not from the processes). */
const EXPECTED = new Map(CODES.map((code) => [code, Number(resolveHashedCron('H * * * *', code).cron!.split(' ')[0])]))

interface Exit {
  server: string
  code: number | null
  stdout: string
  stderr: string
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1', ...PINNED_CLOCK_QUIET, ...extra}
  for (const key of ['NODE_EXTRA_CA_CERTS', 'MANAGE_SETTINGS', 'FORCE_COLOR', 'DEBUG']) delete env[key]
  return env
}

/** One server's tick: bin/manage runcrons, as the crontab starts it. */
function tick(server: string, t: TestDatabase, nowMs: number): Promise<Exit> {
  const env = childEnv({DATABASE_URL: t.url, MANAGE_NOW: new Date(nowMs).toISOString()})
  const child = spawn(process.execPath, [BIN, 'runcrons', '--settings', SETTINGS], {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({server, code, stdout, stderr})
    })
  })
}

/** The codes a tick's output calls due: run by it ([✔]) or by the other server ([~]). */
function calledDue(exit: Exit): string[] {
  return exit.stdout.split('\n').flatMap((line) => {
    const match = /^\[(✔|~)\] (\S+)/.exec(line)
    return match ? [match[2]] : []
  })
}

describe("100 jobs on cron = 'H * * * *': spread over the hour, identically on two servers", function () {
  this.timeout(10 * 60_000)

  before(function () {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first')
  })

  it('the resolution itself spreads them over at least 45 minutes', () => {
    expect(new Set(EXPECTED.values()).size).to.be.at.least(45)
  })

  for (const dialect of BACKENDS) {
    it(`${dialect}: each job runs once in the hour, at its hashed minute, whichever server claims it`, async () => {
      const t = await freshDatabase({dialect})
      try {
        const started = performance.now()
        const ranBy = new Map<string, number>([['A', 0], ['B', 0]])
        for (let minute = 0; minute < 60; minute++) {
          const nowMs = HOUR + minute * MINUTE
          const exits = await Promise.all([tick('A', t, nowMs), tick('B', t, nowMs)])
          const due = CODES.filter((code) => EXPECTED.get(code) === minute)
          for (const exit of exits) {
            const context = `${dialect}, minute ${minute}, server ${exit.server}:\n${exit.stdout}${exit.stderr}`
            expect(exit.code, context).to.equal(0)
            expect(exit.stderr, context).to.equal('')
            // Neither server ever calls a job due away from its hashed minute.
            expect(calledDue(exit).filter((code) => !due.includes(code)), context).to.deep.equal([])
            ranBy.set(exit.server, ranBy.get(exit.server)! + exit.stdout.split('\n').filter((line) => line.startsWith('[✔]')).length)
          }
        }
        const seconds = (performance.now() - started) / 1000

        const rows = (await t.db('cron_job_log').select('code', 'status', 'start_time', 'pid')).map((row: Record<string, unknown>) => plain(row))
        expect(rows.filter((row) => row.status !== 'succeeded'), 'only succeeded rows').to.deep.equal([])
        const byCode = new Map<string, string[]>()
        for (const row of rows) byCode.set(String(row.code), [...(byCode.get(String(row.code)) ?? []), String(row.start_time)])
        const wrong = CODES.flatMap((code) => {
          const starts = byCode.get(code) ?? []
          const expected = new Date(HOUR + EXPECTED.get(code)! * MINUTE).toISOString()
          return starts.length === 1 && starts[0] === expected ? [] : [`${code}: ran at ${starts.join(', ') || 'no time'}, expected once at ${expected}`]
        })
        expect(wrong, 'every job once, at its hashed minute').to.deep.equal([])
        expect(rows).to.have.length(100)
        const minutes = new Set(rows.map((row) => new Date(String(row.start_time)).getUTCMinutes()))
        expect(minutes.size).to.be.at.least(45)
        console.log(`      hashed-spread ${dialect}: 100 runs in ${minutes.size} distinct minutes; server A ran ${ranBy.get('A')}, B ran ${ranBy.get('B')}; 120 ticks in ${seconds.toFixed(1)} s`)
      } finally {
        await t.close()
      }
    })
  }
})
