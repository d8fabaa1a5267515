import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {callManage, context, type Result} from '../helpers/cli'
import {BACKENDS, freshDatabase, type TestDatabase} from '../helpers/db'

/** A JavaScript app whose migrations come after manage's own (2027), the last one with a down() that fails halfway. */
const MIGRATIONS: Record<string, string> = {
  '20270101000000_create_items.js': `exports.up = (knex) => knex.schema.createTable('items', (t) => { t.increments('id') })
exports.down = (knex) => knex.schema.dropTable('items')`,
  '20270102000000_add_price.js': `exports.up = (knex) => knex.schema.alterTable('items', (t) => { t.integer('price') })
exports.down = (knex) => knex.schema.alterTable('items', (t) => { t.dropColumn('price') })`,
  '20270103000000_create_tags.js': `exports.up = (knex) => knex.schema.createTable('tags', (t) => { t.increments('id') })
exports.down = (knex) => knex.schema.dropTable('tags')`,
}

const BROKEN_DOWN = `exports.up = (knex) => knex.schema.createTable('broken', (t) => { t.increments('id') })
exports.down = async (knex) => { await knex.schema.dropTable('broken'); throw new Error('down failed on purpose') }`

function makeApp(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-migrate-to-'))
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({name: 'app', manage: {buildDir: '.', settings: 'settings'}}))
  fs.writeFileSync(path.join(root, 'settings.js'), 'module.exports = {crons: []}\n')
  fs.mkdirSync(path.join(root, 'migrations'))
  for (const [name, source] of Object.entries(MIGRATIONS)) fs.writeFileSync(path.join(root, 'migrations', name), `${source}\n`)
  return root
}

for (const dialect of BACKENDS) describe(`manage migrate TARGET, on ${dialect}`, function () {
  this.timeout(60_000)
  let t: TestDatabase
  let root: string
  const manage = (...args: string[]): Promise<Result> => callManage(args, {MANAGE_PROJECT: root, DATABASE_URL: t.url, MANAGE_NOW: '2026-12-04T12:00:00Z'})
  const ok = async (...args: string[]): Promise<Result> => {
    const result = await manage(...args)
    expect(result.code, context(result)).to.equal(0)
    return result
  }
  const applied = async () => (await t.db('knex_migrations').orderBy('name').pluck('name')).filter((name: string) => name.startsWith('2027'))
  const hasPrice = () => t.db.schema.hasColumn('items', 'price')

  beforeEach(async () => {
    t = await freshDatabase({dialect, migrated: false})
    root = makeApp()
    await ok('migrate')
  })
  afterEach(async () => {
    await t.close()
    fs.rmSync(root, {recursive: true, force: true})
  })

  it('back to a prefix: says what it matched, runs the down() of each later migration of the project, newest first; forward again applies them', async () => {
    const back = await ok('migrate', '20270101')
    expect(back.stdout).to.include('Target 20270101 is 20270101000000_create_items.')
    expect(back.stdout).to.match(/✔ unapplied 20270103000000_create_tags\n.*✔ unapplied 20270102000000_add_price\n/)
    expect(await applied()).to.deep.equal(['20270101000000_create_items'])
    expect(await t.db.schema.hasTable('tags')).to.equal(false)
    expect(await hasPrice()).to.equal(false)
    const forward = await ok('migrate', '20270102000000_add_price')
    expect(forward.stdout).to.include('✔ applied 20270102000000_add_price').and.not.include('create_tags')
    expect(await hasPrice()).to.equal(true)
    expect(await applied()).to.deep.equal(['20270101000000_create_items', '20270102000000_add_price'])
    expect((await ok('migrate', '20270102')).stdout).to.include('No migrations to apply or unapply')
  })

  it("a migration makemigration wrote: migrate TARGET runs its down()", async () => {
    const made = await callManage(['makemigration', 'create_things'], {MANAGE_PROJECT: root, DATABASE_URL: t.url, MANAGE_NOW: '2027-01-05T09:30:00Z'})
    expect(made.code, context(made)).to.equal(0)
    const file = path.join(root, 'migrations', '20270105093000_create_things.js')
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace("// Undo up(), e.g. await knex.schema.dropTable('items')", "await knex.schema.dropTable('things')").replace(/\/\/ TODO[\s\S]*?\/\/ \}\)/, "await knex.schema.createTable('things', (table) => { table.increments('id') })"))
    await ok('migrate')
    expect(await t.db.schema.hasTable('things')).to.equal(true)
    expect((await ok('migrate', '20270103')).stdout).to.include('✔ unapplied 20270105093000_create_things')
    expect(await t.db.schema.hasTable('things')).to.equal(false)
  })

  it('zero unapplies every migration of the project and none of manage\'s own', async () => {
    const zero = await ok('migrate', 'zero')
    expect(zero.stdout).not.to.match(/unapplied \d+_manage_/)
    expect(await applied()).to.deep.equal([])
    expect(await t.db.schema.hasTable('items')).to.equal(false)
    expect(await t.db.schema.hasTable('cron_job_log')).to.equal(true)
    expect(await t.db('knex_migrations').where('name', 'like', '%_manage_%').count({n: '*'}).first()).to.satisfy((row: {n: number | string}) => Number(row.n) === 12)
  })

  it('--plan says what would be done and changes nothing; showmigrations TARGET marks the target and each change', async () => {
    const plan = await ok('migrate', '20270101', '--plan')
    expect(plan.stdout).to.include('  unapply 20270103000000_create_tags\n  unapply 20270102000000_add_price\n')
    expect(await applied()).to.have.length(3)
    const shown = await ok('showmigrations', '20270101')
    expect(shown.stdout).to.include(' [X] 20270101000000_create_items (target)\n [X] 20270102000000_add_price (would be unapplied)\n [X] 20270103000000_create_tags (would be unapplied)\n')
    await ok('migrate', 'zero')
    expect((await ok('showmigrations', '20270102')).stdout).to.include(' [ ] 20270101000000_create_items (would be applied)\n [ ] 20270102000000_add_price (target, would be applied)\n [ ] 20270103000000_create_tags\n')
  })

  it('--fake records without running up() or down()', async () => {
    await ok('migrate', 'zero', '--fake')
    expect(await applied()).to.deep.equal([])
    expect(await t.db.schema.hasTable('tags'), 'down() did not run').to.equal(true)
    const fake = await ok('migrate', '--fake')
    expect(fake.stdout).to.include('Recorded (--fake, nothing run)')
    expect(await applied()).to.have.length(3)
  })

  it('an unknown or ambiguous target: one line, exit 2, with what to type', async () => {
    const typo = await manage('migrate', '20270102000000_add_prize')
    expect(typo.code).to.equal(2)
    expect(typo.stderr).to.equal("error: unknown migration target '20270102000000_add_prize': did you mean 20270102000000_add_price? (give a migration's name, a unique prefix of it, or zero)\n")
    const vague = await manage('showmigrations', '2027')
    expect(vague.code).to.equal(2)
    expect(vague.stderr).to.equal("error: migration target '2027' matches 3 migrations (20270101000000_create_items, 20270102000000_add_price, 20270103000000_create_tags): give more of the name\n")
  })

  it("unapplies manage's own migrations only when the target names one in full, and says what is dropped", async () => {
    const prefix = await manage('migrate', '20261203000100')
    expect(prefix.code, context(prefix)).to.equal(2)
    expect(prefix.stderr).to.equal(
      "error: migrate '20261203000100' would unapply manage's own migrations (20261206000200_manage_limits, 20261206000000_manage_period_ledger, 20261205000100_manage_lateness, 20261205000000_manage_runner_kind, 20261204000200_manage_forced_runs, 20261204000000_manage_alert_public_id), dropping run log tables or columns with their rows: name the target in full (manage migrate 20261203000100_manage_actions) to do it (nothing was changed)\n",
    )
    expect(await applied()).to.have.length(3)
    const full = await ok('migrate', '20261203000100_manage_actions')
    expect(full.stdout).to.include("Unapplying manage's own migrations 20261206000200_manage_limits, 20261206000000_manage_period_ledger, 20261205000100_manage_lateness, 20261205000000_manage_runner_kind, 20261204000200_manage_forced_runs, 20261204000000_manage_alert_public_id: the run log tables and columns they made are dropped, with their rows.")
    expect(full.stdout).to.match(/unapplied 20270103000000_create_tags\n[\s\S]*unapplied 20270101000000_create_items\n.*unapplied 20261206000200_manage_limits\n.*unapplied 20261206000000_manage_period_ledger\n.*unapplied 20261205000100_manage_lateness\n.*unapplied 20261205000000_manage_runner_kind\n.*unapplied 20261204000200_manage_forced_runs\n.*unapplied 20261204000000_manage_alert_public_id\n/)
    expect(await applied()).to.deep.equal([])
    await ok('migrate')
    expect(await applied()).to.have.length(3)
  })

  it(`a down() that fails: one line naming it and what was done before; it stays recorded as applied${dialect === 'mysql' ? ', and its DDL before the error stays (MySQL DDL is not transactional)' : ', its DDL rolled back'}`, async () => {
    fs.writeFileSync(path.join(root, 'migrations', '20270102500000_broken.js'), `${BROKEN_DOWN}\n`)
    await ok('migrate')
    const failed = await manage('migrate', '20270102000000')
    expect(failed.code, context(failed)).to.equal(1)
    const mysql = dialect === 'mysql' ? ' (MySQL/MariaDB commits each schema change at once: what its down() did before the error stays)' : ''
    expect(failed.stderr).to.equal(`error: unapplying 20270102500000_broken failed: down failed on purpose; it is still recorded as applied${mysql}; done before it: unapplied 20270103000000_create_tags\n`)
    expect(await applied()).to.deep.equal(['20270101000000_create_items', '20270102000000_add_price', '20270102500000_broken'])
    expect(await t.db.schema.hasTable('broken')).to.equal(dialect !== 'mysql')
  })
})
