import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {checkProject} from '../../src/core/project/check'
import {Project} from '../../src/core/project/project'
import {freshDatabase, type TestDatabase} from '../helpers/db'

const ROOT = path.resolve(__dirname, '..', '..')
const INDEX = JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))

describe('checkProject', () => {
  let t: TestDatabase
  let dir: string
  beforeEach(async () => {
    t = await freshDatabase()
    dir = mkdtempSync(path.join(tmpdir(), 'manage-check-'))
  })
  afterEach(async () => {
    await t.close()
    rmSync(dir, {recursive: true, force: true})
  })

  const check = async (settings: string) => {
    const file = path.join(dir, `settings-${Math.random().toString(36).slice(2)}.cjs`)
    writeFileSync(file, `const {CronJobBase} = require(${INDEX})\n${settings}`)
    const env = {DATABASE_URL: t.url, MANAGE_CRONTAB_BIN: path.join(ROOT, 'test', 'fixtures', 'fake-crontab'), FAKE_CRONTAB_FILE: path.join(dir, 'crontab')}
    const project = new Project(ROOT, env, file)
    try {
      return (await checkProject(project)).problems.map((p) => `${p.level} ${p.subject}: ${p.message}`)
    } finally {
      await project.close()
    }
  }

  it('warns when deleteLogsOlderThanDays is shorter than a job interval (its last success would be trimmed)', async () => {
    const problems = await check(
      `class Weekly extends CronJobBase { code = 'w'; runEveryMins = 7 * 1440; do() {} }\n` +
        `class Hourly extends CronJobBase { code = 'h'; runEveryMins = 60; do() {} }\n` +
        `module.exports = {crons: [Weekly, Hourly], deleteLogsOlderThanDays: 3}`,
    )
    expect(problems.filter((p) => p.includes('deleteLogsOlderThanDays'))).to.deep.equal([
      'warning Weekly: runs every 10080 min, longer than deleteLogsOlderThanDays (3 d) keeps its last run: it would run again at every tick after the trim; keep more days',
    ])
  })

  it("reports a job whose limit names a group the settings do not define, and not one whose group they define", async () => {
    const problems = await check(
      `class Report extends CronJobBase { code = 'r'; runEveryMins = 60; limit = 'reprots'; do() {} }\n` +
        `class Export extends CronJobBase { code = 'e'; runEveryMins = 60; limit = 'reports'; do() {} }\n` +
        `module.exports = {crons: [Report, Export], limits: {reports: 2}}`,
    )
    expect(problems.filter((p) => p.includes('limit'))).to.deep.equal([
      "error Report: limit = 'reprots' names no group of the settings' limits (the settings' limits are reports): add limits: {reprots: 2} to the settings, or fix the name; the job does not run meanwhile",
    ])
  })

  it('explains pauseAfterFailures in a note per job, and refuses a bad value in one line', async () => {
    const file = path.join(dir, 'settings-pause.cjs')
    writeFileSync(
      file,
      `const {CronJobBase} = require(${INDEX})\n` +
        `class Flaky extends CronJobBase { code = 'app.flaky'; runEveryMins = 5; pauseAfterFailures = 3; do() {} }\n` +
        `class Bad extends CronJobBase { code = 'app.bad'; runEveryMins = 5; pauseAfterFailures = 0; do() {} }\n` +
        `module.exports = {crons: [Flaky, Bad]}`,
    )
    const project = new Project(ROOT, {DATABASE_URL: t.url, MANAGE_CRONTAB_BIN: path.join(ROOT, 'test', 'fixtures', 'fake-crontab'), FAKE_CRONTAB_FILE: path.join(dir, 'crontab')}, file)
    try {
      const report = await checkProject(project)
      expect(report.notes).to.deep.equal([{subject: 'Flaky', message: 'pauses after 3 failures in a row (failed, interrupted or timed out), until resumed by hand: manage crons:resume app.flaky'}])
      expect(report.problems.map((p) => `${p.level} ${p.subject}: ${p.message}`)).to.include('error Bad: pauseAfterFailures = 0 is not a whole number of failures ≥ 1: use e.g. pauseAfterFailures = 3 (or leave it unset never to pause)')
    } finally {
      await project.close()
    }
  })

  it('reports an unmigrated database as an error, with the fix', async () => {
    const bare = await freshDatabase({migrated: false})
    const file = path.join(dir, 'settings.cjs')
    writeFileSync(file, `module.exports = {crons: []}`)
    const env = {DATABASE_URL: bare.url, MANAGE_CRONTAB_BIN: path.join(ROOT, 'test', 'fixtures', 'fake-crontab'), FAKE_CRONTAB_FILE: path.join(dir, 'crontab')}
    const project = new Project(ROOT, env, file)
    try {
      const problems = (await checkProject(project)).problems
      expect(problems.find((p) => p.subject === 'database')).to.deep.include({level: 'error'})
      expect(problems.find((p) => p.subject === 'database')!.message).to.match(/13 migration\(s\) not applied .*20261204000000_manage_alert_public_id.*: run `manage migrate`/)
    } finally {
      await project.close()
      await bare.close()
    }
  })
})
