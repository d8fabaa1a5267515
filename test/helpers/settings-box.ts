import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import knex from 'knex'
import {knexSource} from '../../src/core/db/connection-source'
import {SqlServerTicks} from '../../src/core/run-log/server-ticks'
import {callCommand} from '../../src/index'
import {PINNED_CLOCK_QUIET, ROOT} from './cli'

export const INDEX = JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))

/** A folder with a settings module and a sqlite run log, migrated. */
export class SettingsBox {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-load-'))
  readonly settings = path.join(this.dir, 'settings.cjs')

  constructor(body: string) {
    fs.writeFileSync(this.settings, `const {CronJobBase} = require(${INDEX})\n${body}`)
  }

  env(extra: Record<string, string> = {}): Record<string, string | undefined> {
    return {
      DATABASE_URL: `sqlite://${path.join(this.dir, 'db.sqlite3')}`,
      MANAGE_CRONTAB_BIN: path.join(ROOT, 'test', 'fixtures', 'fake-crontab'),
      FAKE_CRONTAB_FILE: path.join(this.dir, 'crontab'),
      MANAGE_NOW: '2026-11-23T12:00:00Z',
      ...PINNED_CLOCK_QUIET,
      NO_COLOR: '1',
      DEBUG: undefined,
      ...extra,
    }
  }

  run(argv: string[], extra: Record<string, string> = {}) {
    return callCommand(argv, {project: ROOT, settings: this.settings, env: this.env(extra), cwd: this.dir})
  }

  /** The box's runners' ticks (cron_tick), on its sqlite file, closed after `fn`. */
  async withTicks<T>(fn: (ticks: SqlServerTicks) => Promise<T>): Promise<T> {
    const db = knex({client: 'sqlite3', connection: {filename: path.join(this.dir, 'db.sqlite3')}, useNullAsDefault: true})
    try {
      return await fn(new SqlServerTicks(knexSource(db, 'sqlite')))
    } finally {
      await db.destroy()
    }
  }

  remove(): void {
    fs.rmSync(this.dir, {recursive: true, force: true})
  }
}

/**
 * A suite for classes that cannot run: `classes` (sources of cron classes, each named in its line
 * of `lines`) beside a good one (app.good). `check` prints each line among its errors and exits 1;
 * a tick prints them on stderr, still runs the good job, and exits 1.
 */
export function describeClassProblems(title: string, classes: readonly string[], lines: readonly string[]): void {
  describe(title, function () {
    this.timeout(30_000)
    let box: SettingsBox
    const names = lines.map((line) => line.slice(0, line.indexOf(':')))
    before(async () => {
      const good = `class GoodCronJob extends CronJobBase { code = 'app.good'; runEveryMins = 1; async do() { return 'good' } }`
      box = new SettingsBox(`${[...classes, good].join('\n')}\nmodule.exports = {crons: [${[...names, 'GoodCronJob'].join(', ')}]}\n`)
      expect((await box.run(['migrate'])).exitCode).to.equal(0)
    })
    after(() => box.remove())

    it('check: the lines among its errors, exit 1', async () => {
      const result = await box.run(['check'])
      expect(result.stdout.split('\n').filter((line) => names.some((name) => line.startsWith(`${name}:`)))).to.deep.equal(lines)
      expect(result.exitCode).to.equal(1)
    })

    it('runcrons: the lines on stderr, the good job still runs, exit 1', async () => {
      const result = await box.run(['runcrons'])
      expect(result.stderr).to.equal(lines.map((line) => `[!] ${line}\n`).join(''))
      expect(result.stdout).to.equal('[✔] app.good\n')
      expect(result.exitCode).to.equal(1)
    })
  })
}
