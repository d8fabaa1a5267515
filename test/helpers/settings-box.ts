import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
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
