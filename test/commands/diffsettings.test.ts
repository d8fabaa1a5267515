import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {callManage, context} from '../helpers/cli'

/** Every kind of secret a settings module (or the environment) can hold: none may show. */
const SECRETS = {
  databasePassword: 'db-pw-s3cr3t',
  webhookToken: 'webhooktoken123',
  smtpPassword: 'smtp-pw-456',
  dashboardToken: 'dash-token-abcdefghijklmnopqrstuvwxyz0123',
  passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaHZhbHVlNzg5',
  pingPath: 'ping-uuid-1234',
  ownKey: 'own-api-key-999',
  ownUrlPassword: 'itemspw',
  ownUrlToken: 'urltoken',
  ownDbPassword: 'reportspw',
}

const SETTINGS = `class FetchItemsCronJob {}
module.exports = {
  crons: [FetchItemsCronJob],
  timeZone: 'UTC',
  leaseSeconds: 600,
  graceSeconds: 10,
  tickPingUrl: 'https://hc-ping.com/${SECRETS.pingPath}',
  alerts: {
    webhooks: ['https://hooks.slack.com/services/T000/B000/${SECRETS.webhookToken}'],
    email: {host: 'smtp.example.com', port: 587, user: 'alerts', password: '${SECRETS.smtpPassword}', from: 'cron@example.com', to: ['ops@example.com']},
    failureThreshold: 3,
  },
  dashboard: {token: '${SECRETS.dashboardToken}', users: [{name: 'ops', passwordHash: '${SECRETS.passwordHash}'}]},
  apiKey: '${SECRETS.ownKey}',
  itemsUrl: 'https://bob:${SECRETS.ownUrlPassword}@api.example.com/v1?token=${SECRETS.ownUrlToken}',
  reportsDb: 'postgres://rep:${SECRETS.ownDbPassword}@db.internal/reports',
  pageSize: 50,
}
`

describe('manage diffsettings', () => {
  let dir: string
  let env: Record<string, string>
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-diffsettings-'))
    fs.writeFileSync(path.join(dir, 'settings.cjs'), SETTINGS)
    env = {MANAGE_SETTINGS: path.join(dir, 'settings.cjs'), DATABASE_URL: `postgres://app:${SECRETS.databasePassword}@127.0.0.1:5432/myapp`}
  })
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  const expectNoSecret = (text: string) => {
    for (const [kind, secret] of Object.entries(SECRETS)) expect(text, kind).not.to.include(secret)
  }

  it('shows what differs from the defaults, each marked ###, the project\'s own settings too; every secret masked', async () => {
    const result = await callManage(['diffsettings'], env)
    expect(result.code, context(result)).to.equal(0)
    expectNoSecret(result.stdout + result.stderr)
    const lines = result.stdout.split('\n')
    expect(lines[0]).to.equal(`# ${path.join(dir, 'settings.cjs')}; postgres database postgres://app:***@127.0.0.1:5432/myapp`)
    expect(lines.slice(1)).to.include.members([
      'crons = ["FetchItemsCronJob"]  ###',
      'leaseSeconds = 600  ###',
      'tickPingUrl = "https://hc-ping.com/…"  ###',
      'alerts.webhooks = ["https://hooks.slack.com/…"]  ###',
      'alerts.email = {"host":"smtp.example.com","port":587,"user":"alerts","password":"***","from":"cron@example.com","to":["ops@example.com"]}  ###',
      'alerts.failureThreshold = 3  ###',
      'dashboard.token = "***"  ###',
      'dashboard.users = [{"name":"ops","passwordHash":"***"}]  ###',
      'apiKey = "***"  ###',
      'itemsUrl = "https://api.example.com/…"  ###',
      'pageSize = 50  ###',
      'reportsDb = "postgres://rep:***@db.internal/reports"  ###',
    ])
    expect(result.stdout, 'at its default: not shown without --all').not.to.match(/^graceSeconds|^statementTimeoutSeconds/m)
  })

  it('--all shows the defaults too, unmarked; --json gives the same lines, masked', async () => {
    const all = await callManage(['diffsettings', '--all'], env)
    expect(all.code, context(all)).to.equal(0)
    expectNoSecret(all.stdout + all.stderr)
    expect(all.stdout).to.include('\ngraceSeconds = 10\n').and.include('\nstatementTimeoutSeconds = 30\n').and.include('\nleaseSeconds = 600  ###\n')
    const json = await callManage(['diffsettings', '--all', '--json'], env)
    expect(json.code, context(json)).to.equal(0)
    expectNoSecret(json.stdout + json.stderr)
    const parsed = JSON.parse(json.stdout) as {database: string; settings: Array<{name: string; value: unknown; default?: unknown; differs: boolean}>}
    expect(parsed.database).to.equal('postgres database postgres://app:***@127.0.0.1:5432/myapp')
    expect(parsed.settings.find((line) => line.name === 'leaseSeconds')).to.deep.equal({name: 'leaseSeconds', value: 600, default: 300, differs: true})
    expect(parsed.settings.find((line) => line.name === 'graceSeconds')).to.deep.equal({name: 'graceSeconds', value: 10, default: 10, differs: false})
    expect(parsed.settings.find((line) => line.name === 'dashboard.token')).to.deep.equal({name: 'dashboard.token', value: '***', default: null, differs: true})
  })
})
