import {execFileSync, spawnSync} from 'node:child_process'
import {closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {fastRuncrons} from '../../src/cli/runcrons/fast-tick'
import {plainRuncrons} from '../../src/cli/runcrons/plain-args'
import {knexSource} from '../../src/core/db/connection-source'
import {SqlRunStore} from '../../src/core/run-log/run-store'
import {BACKENDS, freshDatabase, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

const ROOT = path.resolve(__dirname, '..', '..')
const INDEX = JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))

describe('plainRuncrons: which command lines skip oclif', () => {
  it('takes the crontab forms (--silent, -v 0–3, --color, --settings, --traceback, --timestamps, --concurrency N) and nothing else', () => {
    expect(plainRuncrons([])).to.deep.equal({silent: false, verbosity: 1, traceback: false, timestamps: false, concurrency: 1})
    expect(plainRuncrons(['--silent', '-v', '3', '--no-color', '--settings', 'x.js', '--traceback', '--timestamps', '--concurrency', '4'])).to.deep.equal({
      silent: true,
      verbosity: 3,
      traceback: true,
      timestamps: true,
      color: false,
      concurrency: 4,
      settings: 'x.js',
    })
    expect(plainRuncrons(['--verbosity=0', '--color', '--settings=y.cjs', '--concurrency=12'])).to.deep.equal({silent: false, verbosity: 0, traceback: false, timestamps: false, color: true, concurrency: 12, settings: 'y.cjs'})
    // A --concurrency that is not a whole number ≥ 1 is oclif's to refuse, with its message.
    for (const args of [['Job0'], ['--force'], ['--dry-run'], ['--concurrency', '0'], ['--concurrency', 'x'], ['--concurrency=-1'], ['--concurrency'], ['-v', '4'], ['-v'], ['--settings'], ['--help'], ['-h']]) {
      expect(plainRuncrons(args), args.join(' ')).to.equal(null)
    }
  })
})

for (const dialect of BACKENDS) {
  describe(`fast path of runcrons (${dialect}): answers only when nothing is due, else hands over`, () => {
    let t: TestDatabase
    let dir: string
    let store: SqlRunStore
    before(async () => (t = await freshDatabase({dialect})))
    after(() => t.close())
    beforeEach(async () => {
      await t.db('cron_job_log').delete()
      await t.db('cron_job').delete()
      store = new SqlRunStore(knexSource(t.db, t.dialect))
      dir = mkdtempSync(path.join(tmpdir(), 'manage-fast-'))
    })
    afterEach(() => rmSync(dir, {recursive: true, force: true}))

    let counter = 0
    /** A settings module with these job bodies (class fields), in a fresh file (require caches by path). */
    const settings = (jobs: string[]): string => {
      const file = path.join(dir, `settings-${counter++}.cjs`)
      const classes = jobs.map((body, i) => `class Job${i} extends CronJobBase { ${body}; async do() { return 'ran' } }`)
      writeFileSync(file, `const {CronJobBase} = require(${INDEX})\n${classes.join('\n')}\nmodule.exports = {timeZone: 'UTC', crons: [${jobs.map((_, i) => `Job${i}`).join(', ')}]}\n`)
      return file
    }
    /** The fast path for these arguments; null for a form it does not take (bin/manage hands those to oclif), or when the tick must run (the project it hands over is closed). */
    const fast = async (file: string, now: string | null, args: string[] = []) => {
      const plain = plainRuncrons(args)
      if (plain === null) return null
      const answer = await fastRuncrons(plain, {DATABASE_URL: t.url, MANAGE_SETTINGS: file, ...(now ? {MANAGE_NOW: now} : {})}, ROOT)
      if (!('mustRun' in answer)) return answer
      await answer.mustRun?.close()
      return null
    }

    it("prints the not-due lines, reads the log in two statements (three on a server without MANAGE_NOW: the server's clock) and records its heartbeat in one", async () => {
      await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z')})
      await store.insertRun({code: 'b', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z'), ranAtTime: '00:00'})
      const file = settings([`code = 'a'; runEveryMins = 5`, `code = 'b'; runAtTimes = ['00:00']`])
      const result = await fast(file, '2026-01-05T00:03:00Z')
      expect(result).to.deep.equal({exitCode: 0, output: '[ ] a\n[ ] b\n', statements: 3, tickPingUrl: null})
      expect(await fast(file, '2026-01-05T00:03:00Z', ['--silent'])).to.deep.include({output: ''})
      if (dialect !== 'sqlite') {
        await store.insertRun({code: 'a', status: 'succeeded', startMs: Date.now()})
        expect(await fast(settings([`code = 'a'; runEveryMins = 5`]), null)).to.deep.equal({exitCode: 0, output: '[ ] a\n', statements: 4, tickPingUrl: null})
      }
    })

    it('hands over when a job is paused, so the full command prints it as paused', async () => {
      await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z')})
      const file = settings([`code = 'a'; runEveryMins = 5`])
      expect(await fast(file, '2026-01-05T00:03:00Z')).to.not.equal(null)
      await store.setPaused('a', {sinceMs: at('2026-01-05T00:01:00Z'), by: 'ops'})
      expect(await fast(file, '2026-01-05T00:03:00Z')).to.equal(null)
    })

    it('hands over (null) as soon as one job is due', async () => {
      await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z')})
      const file = settings([`code = 'a'; runEveryMins = 5`, `code = 'never'; runEveryMins = 5`])
      expect(await fast(file, '2026-01-05T00:03:00Z')).to.equal(null)
    })

    it('hands the tick its plan when it got that far (a job due), and none when a class has an error: the tick plans again and reports it', async () => {
      await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z')})
      const handed = async (file: string) => {
        const answer = await fastRuncrons(plainRuncrons([])!, {DATABASE_URL: t.url, MANAGE_SETTINGS: file, MANAGE_NOW: '2026-01-05T00:05:00Z'}, ROOT)
        if (!('mustRun' in answer)) throw new Error('the fast path answered')
        await answer.mustRun?.close()
        return answer.plan && [...answer.plan.verdicts].map(([code, verdict]) => `${code}:${verdict.kind}`)
      }
      expect(await handed(settings([`code = 'a'; runEveryMins = 5`, `code = 'b'; runEveryMins = 60`]))).to.deep.equal(['a:not-due', 'b:due'])
      expect(await handed(settings([`code = 'a'; runEveryMins = 5`, `code = 'bad'; runEveryMins = -1`]))).to.equal(null)
    })

    it('hands over when a job is running elsewhere, so the full command prints who holds it', async () => {
      await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z')})
      // A live lease by the real clock (leases never follow MANAGE_NOW).
      const lease = dialect === 'sqlite' ? {leaseExpiresMs: Date.now() + 300_000} : {leaseMs: 300_000}
      await store.insertRun({code: 'a', status: 'running', startMs: at('2026-01-05T00:01:00Z'), ...lease})
      expect(await fast(settings([`code = 'a'; runEveryMins = 5`]), '2026-01-05T00:03:00Z')).to.equal(null)
    })

    it('hands over for a misconfigured class, names, other flags or verbosity', async () => {
      await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z')})
      const good = settings([`code = 'a'; runEveryMins = 5`])
      expect(await fast(settings([`code = 'a'; runEveryMins = 5`, `code = 'bad'; runEveryMins = -1`]), '2026-01-05T00:03:00Z')).to.equal(null)
      for (const args of [['Job0'], ['--force'], ['--dry-run'], ['-v', '2'], ['--concurrency', '0'], ['--help']]) {
        expect(await fast(good, '2026-01-05T00:03:00Z', args), args.join(' ')).to.equal(null)
      }
      expect(await fast(good, '2026-01-05T00:03:00Z', ['-v', '1', '--no-color'])).to.deep.include({output: '[ ] a\n'})
    })

    if (dialect === 'sqlite') {
      /**
       * bin/manage runcrons in a fresh process, as cron starts it: what it printed, the packages it
       * loaded, its bundle's files (dist/entry), and which of Node's heavier builtins it loaded
       * (node:crypto, node:child_process, node:perf_hooks, and node:net, which process.stdout loads
       * for a pipe: a few ms each, and a tick needs none).
       */
      const tickInFreshProcess = (file: string, now: string, args: string[] = []): {printed: string; packages: string[]; entries: string[]; builtins: string[]} => {
        const script =
          `process.argv = [process.argv[0], ${JSON.stringify(path.join(ROOT, 'bin', 'manage'))}, 'runcrons', ...${JSON.stringify(args)}];` +
          `process.on('exit', () => require('node:fs').writeSync(1, 'modules: ' + JSON.stringify([Object.keys(require.cache), process.moduleLoadList])));` +
          `require(process.argv[1])`
        const output = execFileSync(process.execPath, ['-e', script], {
          env: {PATH: process.env.PATH, DATABASE_URL: t.url, MANAGE_SETTINGS: file, MANAGE_NOW: now},
          encoding: 'utf8',
        })
        const [printed, modules] = output.split('modules: ')
        const [loaded, natives] = JSON.parse(modules) as [string[], string[]]
        const builtins = ['crypto', 'child_process', 'perf_hooks', 'net'].filter((name) => natives.includes(`NativeModule ${name}`))
        const packages = new Set(loaded.map((module) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(module)?.[1]).filter(Boolean))
        const entries = loaded.filter((module) => module.startsWith(path.join(ROOT, 'dist', 'entry') + path.sep)).map((module) => path.basename(module))
        return {printed, packages: [...packages].sort() as string[], entries: entries.sort(), builtins}
      }

      it("compiles its bundles with V8's code cache: a tick leaves one in dist/.code-cache for this build's main.js, and runs the same under --traceback", () => {
        // dist/.code-cache is shared with every test process that runs bin/manage at the same time: only what holds whoever else writes is checked here (code-cache.test has the rest).
        const stat = statSync(path.join(ROOT, 'dist', 'entry', 'main.js'))
        const build = `main.js.${stat.size}-${Math.round(stat.mtimeMs * 1000)}-${process.versions.v8}.cache`
        const file = settings([`code = 'a'; runEveryMins = 5`])
        const tick = (args: string[] = []) =>
          execFileSync(process.execPath, [path.join(ROOT, 'bin', 'manage'), 'runcrons', ...args], {env: {PATH: process.env.PATH, DATABASE_URL: t.url, MANAGE_SETTINGS: file, MANAGE_NOW: '2026-01-05T00:03:00Z', MANAGE_NOW_QUIET: '1'}, encoding: 'utf8'})
        expect(tick()).to.equal('[✔] a\n')
        expect(readdirSync(path.join(ROOT, 'dist', '.code-cache'))).to.include(build)
        expect(tick(['--traceback'])).to.equal('[ ] a\n')
        expect(tick()).to.equal('[ ] a\n')
      })

      it('loads only what the tick needs: no oclif, knex, luxon or cron-parser for UTC interval jobs, and sqlite3 without its addon search (bindings)', async () => {
        await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z')})
        const file = settings([`code = 'a'; runEveryMins = 5; retryAfterFailureMins = 1; runToleranceSeconds = 5`])
        expect(tickInFreshProcess(file, '2026-01-05T00:03:00Z')).to.deep.equal({printed: '[ ] a\n', packages: ['sqlite3'], entries: ['main.js'], builtins: []})
      })

      it("loads the policies' checks and decisions only for a job that sets one (scripts/bundle-entry.js keeps them apart)", async () => {
        await store.insertRun({code: 'a', status: 'succeeded', startMs: at('2026-01-05T00:00:00Z')})
        const plain = tickInFreshProcess(settings([`code = 'a'; runEveryMins = 5; allowParallelRuns = true; timeoutMins = 3`]), '2026-01-05T00:03:00Z')
        expect(plain).to.deep.include({printed: '[ ] a\n', entries: ['main.js']})
        // Its hold (cron_job.held_to) at 00:00, as its run there left it: nothing unaccounted at 00:03.
        await t.db('cron_job').where({code: 'a'}).update({held_to: '2026-01-05T00:00:00.000Z'})
        const policy = tickInFreshProcess(settings([`code = 'a'; runEveryMins = 5; catchUp = 'none'; overlap = 'skip'; pauseAfterFailures = 3`]), '2026-01-05T00:03:00Z')
        expect(policy).to.deep.equal({printed: '[ ] a\n', packages: plain.packages, entries: ['ledger-verdict.js', 'main.js', 'policy-options.js'], builtins: []})
      })

      it("a job with cron = 'H * * * *' loads what any cron job loads, and nothing more (node:crypto is a builtin)", async () => {
        // app.job_0 resolves 'H * * * *' to minute 43 (test/unit/hashed-cron.test.ts): not due at 00:03.
        const plainCron = tickInFreshProcess(settings([`code = 'app.job_0'; cron = '43 * * * *'`]), '2026-01-05T00:03:00Z')
        expect(plainCron.printed).to.equal('[ ] app.job_0\n')
        expect(plainCron.entries).to.deep.equal(['main.js'])
        expect(tickInFreshProcess(settings([`code = 'app.job_0'; cron = 'H * * * *'`]), '2026-01-05T00:03:00Z')).to.deep.equal({...plainCron, entries: ['hashed-cron.js', 'main.js'], builtins: ['crypto']})
      })

      it('--concurrency 2 on the crontab line: two due jobs at the same time, still without oclif', async () => {
        const file = path.join(dir, 'settings-concurrent.cjs')
        // a finishes only once b has started beside it (or fails after 5 s): one at a time, a would fail.
        writeFileSync(
          file,
          `const {CronJobBase} = require(${INDEX})\n` +
            `let started; const bStarted = new Promise((resolve) => (started = resolve))\n` +
            `class A extends CronJobBase { code = 'a'; runEveryMins = 5; async do() { let timer; try { await Promise.race([bStarted, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('b never started beside a')), 5000)))]) } finally { clearTimeout(timer) } return 'a' } }\n` +
            `class B extends CronJobBase { code = 'b'; runEveryMins = 5; async do() { started(); return 'b' } }\n` +
            `module.exports = {timeZone: 'UTC', crons: [A, B]}\n`,
        )
        const {printed, ...loaded} = tickInFreshProcess(file, '2026-01-05T00:03:00Z', ['--concurrency', '2'])
        // Each line as its job ends (b first, as a waits for it to start).
        expect(printed.split('\n').filter(Boolean).sort()).to.deep.equal(['[✔] a', '[✔] b'])
        expect(loaded).to.deep.equal({packages: ['sqlite3'], entries: ['direct-tick.js', 'main.js'], builtins: []})
      })

      it("keeps a job's console output and the tick's lines in order: fd 1 until something makes process.stdout, the stream after", async () => {
        const file = path.join(dir, 'settings-log.cjs')
        writeFileSync(
          file,
          `const {CronJobBase} = require(${INDEX})\n` +
            `class A extends CronJobBase { code = 'a'; runEveryMins = 5; async do() { return 'quiet' } }\n` +
            `class B extends CronJobBase { code = 'b'; runEveryMins = 5; async do() { console.log('b says hello'); return 'b' } }\n` +
            `class C extends CronJobBase { code = 'c'; runEveryMins = 5; async do() { return 'c' } }\n` +
            `module.exports = {timeZone: 'UTC', crons: [A, B, C]}\n`,
        )
        const {printed, builtins} = tickInFreshProcess(file, '2026-01-05T00:03:00Z')
        expect(printed).to.equal('[✔] a\nb says hello\n[✔] b\n[✔] c\n')
        expect(builtins, 'console.log made process.stdout').to.include('net')
      })

      it("writes a turn's lines at once (30 jobs not due and one run: a few writes, not 32), and keeps stdout and stderr in order in one file", async () => {
        for (let i = 0; i < 30; i++) await store.insertRun({code: `n${i}`, status: 'succeeded', startMs: at('2026-01-05T00:00:00Z')})
        const file = path.join(dir, 'settings-lines.cjs')
        const quiet = Array.from({length: 30}, (_, i) => `class N${i} extends CronJobBase { code = 'n${i}'; runEveryMins = 5; async do() { return 'n' } }`)
        writeFileSync(
          file,
          `const {CronJobBase} = require(${INDEX})\n${quiet.join('\n')}\n` +
            `class W extends CronJobBase { code = 'w'; runEveryMins = 5; async do(ctx) { ctx.logger.warn('careful'); return 'w' } }\n` +
            `module.exports = {timeZone: 'UTC', crons: [${quiet.map((_, i) => `N${i}`).join(', ')}, W]}\n`,
        )
        // fd 1 and fd 2 are one file, as in cron's mail or `>> log 2>&1`; each write to them is counted.
        const log = path.join(dir, 'lines.log')
        const counts = path.join(dir, 'writes.json')
        const script =
          `const fs = require('node:fs'); const write = fs.writeSync; const writes = {1: 0, 2: 0};` +
          `fs.writeSync = function (fd, ...rest) { if (fd === 1 || fd === 2) writes[fd]++; return write.call(this, fd, ...rest) };` +
          `process.on('exit', () => fs.writeFileSync(${JSON.stringify(counts)}, JSON.stringify(writes)));` +
          `process.argv = [process.argv[0], ${JSON.stringify(path.join(ROOT, 'bin', 'manage'))}, 'runcrons'];` +
          `require(process.argv[1])`
        const out = openSync(log, 'w')
        try {
          const run = spawnSync(process.execPath, ['-e', script], {env: {PATH: process.env.PATH, DATABASE_URL: t.url, MANAGE_SETTINGS: file, MANAGE_NOW: '2026-01-05T00:03:00Z', MANAGE_NOW_QUIET: '1'}, stdio: ['ignore', out, out]})
          expect(run.status).to.equal(0)
        } finally {
          closeSync(out)
        }
        const lines = readFileSync(log, 'utf8').split('\n')
        expect(lines.slice(0, 30)).to.deep.equal(quiet.map((_, i) => `[ ] n${i}`))
        expect(lines.slice(30)).to.deep.equal(['    w warn: careful', '[✔] w', ''])
        const writes = JSON.parse(readFileSync(counts, 'utf8')) as {1: number; 2: number}
        expect(writes[1], 'writes to fd 1').to.be.at.most(3)
        expect(writes[2], 'writes to fd 2').to.equal(1)
      })

      it("hands the fast path's project and plan to the tick when it must run: one connection, one snapshot, each job made once", () => {
        const made = path.join(dir, 'made.log')
        const file = path.join(dir, 'settings-made.cjs')
        writeFileSync(
          file,
          `const {CronJobBase} = require(${INDEX})\n` +
            `class A extends CronJobBase { constructor() { super(); require('node:fs').appendFileSync(${JSON.stringify(made)}, 'a\\n') } code = 'a'; runEveryMins = 5; async do() { return 'a' } }\n` +
            `module.exports = {timeZone: 'UTC', crons: [A]}\n`,
        )
        const run = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'manage'), 'runcrons'], {
          env: {PATH: process.env.PATH, DATABASE_URL: t.url, MANAGE_SETTINGS: file, MANAGE_NOW: '2026-01-05T00:03:00Z', MANAGE_NOW_QUIET: '1', MANAGE_SQL_COUNT: '1'},
          encoding: 'utf8',
        })
        expect(run.stdout).to.equal('[✔] a\n')
        // The fast path's snapshot (2), then the tick on its plan: the claim rows, the run's two transactions, its heartbeat and the trim (11).
        // A tick that planned again counted 15; one that made a project of its own, 13.
        expect(run.stderr).to.equal('manage: 13 SQL statement(s)\n')
        expect(readFileSync(made, 'utf8'), 'the job made by the fast path alone').to.equal('a\n')
      })

      it('runs a due job without oclif, and without knex unless the job reads ctx.db', async () => {
        const plain = settings([`code = 'a'; runEveryMins = 5`])
        expect(tickInFreshProcess(plain, '2026-01-05T00:03:00Z')).to.deep.equal({printed: '[✔] a\n', packages: ['sqlite3'], entries: ['direct-tick.js', 'main.js'], builtins: []})
        const file = path.join(dir, 'settings-db.cjs')
        writeFileSync(
          file,
          `const {CronJobBase} = require(${INDEX})\n` +
            `class DbJob extends CronJobBase { code = 'b'; runEveryMins = 5; async do(ctx) { return (await ctx.db('cron_job').count({n: '*'}))[0].n } }\n` +
            `module.exports = {timeZone: 'UTC', crons: [DbJob]}\n`,
        )
        const withDb = tickInFreshProcess(file, '2026-01-05T00:03:00Z')
        expect(withDb.printed).to.equal('[✔] b\n')
        expect(withDb.packages).to.include('knex').and.not.include('@oclif/core')
        expect((await store.listRuns({code: 'b', limit: 1}))[0]).to.deep.include({status: 'succeeded', message: '2'})
      })
    }
  })
}
