import {readFileSync, statSync} from 'node:fs'
import type http from 'node:http'
import path from 'node:path'
import {expect} from 'chai'
import {DashboardActions, type JobStarter} from '../src/core/dashboard/actions'
import {hashPassword, signIn, type DashboardAuth} from '../src/core/dashboard/auth'
import {DashboardData} from '../src/core/dashboard/data'
import {checkBind, listen} from '../src/core/dashboard/listen'
import {dashboardHandler} from '../src/core/dashboard/server'
import {knexSource} from '../src/core/db/connection-source'
import {KnexRunStore} from '../src/core/run-log/run-store'
import {runCrons} from '../src/core/tick/run-crons'
import {fixedClock, systemClock} from '../src/core/time/clock'
import {job, settingsWith} from './fixtures/jobs'
import {context, ROOT, runManageWithInput, Sandbox} from './helpers/cli'
import {startDashboard} from './helpers/dashboard'
import {BACKENDS, expireLeases, freshDatabase, TestLock, type TestDatabase} from './helpers/db'
import {at} from './helpers/schedule'

const TOKEN = 'dashboard-test-token-0123456789abcdef'
const NOW = '2026-01-05T10:00:00Z'

/** The dashboard over a real database: its own HTTP server on a free port, requests with fetch. */
for (const dialect of BACKENDS) describe(`manage dashboard over HTTP, on ${dialect}`, function () {
  this.timeout(30_000)
  let t: TestDatabase
  let server: http.Server
  let base: string
  const logs: string[] = []
  const Report = job('app.report', {runEveryMins: 60}, () => 'report sent')
  const Broken = job('app.broken', {runEveryMins: 60}, () => {
    throw new Error('the mail server said no')
  })
  const settings = settingsWith([Report, Broken])
  const auth: DashboardAuth = {token: TOKEN, users: [{name: 'ops', passwordHash: hashPassword('correct horse battery'), readOnly: false}, {name: 'viewer', passwordHash: hashPassword('just looking around'), readOnly: true}]}

  const start = async (readOnly = false) => {
    const source = knexSource(t.db, t.dialect)
    const data = new DashboardData(source, settings)
    const clock = fixedClock(at(NOW))
    // Run now as the CLI does it (runcrons CODE --force): here the same tick in this process, with its claim.
    const starter: JobStarter = (code) => ({ended: runCrons({db: t.db, dialect: t.dialect, settings, clock, names: [code], force: true}).then((report) => ({exitCode: report.exitCode}))})
    const actions = new DashboardActions(source, data, starter, clock, systemClock)
    return listen(dashboardHandler({data, actions, auth, settings, readOnly, clock, log: (line) => logs.push(line)}), '127.0.0.1', 0)
  }
  before(async () => {
    t = await freshDatabase({dialect})
    ;({server, url: base} = await start())
  })
  after(async () => {
    await new Promise((resolve) => server.close(resolve))
    await t.close()
  })
  beforeEach(async () => {
    for (const table of ['cron_job_log', 'cron_job', 'cron_action']) await t.db(table).delete()
    await runCrons({db: t.db, dialect: t.dialect, settings, clock: fixedClock(at('2026-01-05T09:00:00Z'))})
  })

  const get = (path: string, headers: Record<string, string> = {}) => fetch(base + path.replace(/^\//, ''), {headers, redirect: 'manual'})
  const post = (path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(base + path.replace(/^\//, ''), {method: 'POST', body: new URLSearchParams(body), headers, redirect: 'manual'})
  const bearer = {authorization: `Bearer ${TOKEN}`}
  /** Sign in as a browser does: the session cookie, and the CSRF token from a page's form. */
  const signIn = async (name: string, password: string) => {
    const response = await post('/signin', {name, password, next: '/jobs/app.report'})
    expect(response.status).to.equal(303)
    const cookie = response.headers.get('set-cookie')!
    expect(cookie).to.match(/^manage_session=[\w-]{40,}; HttpOnly; SameSite=Strict; Path=\/$/)
    expect(response.headers.get('location')).to.equal('/jobs/app.report')
    const session = cookie.split(';')[0]
    const page = await (await get('/jobs/app.report', {cookie: session})).text()
    return {cookie: session, csrf: /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '', page}
  }

  it('asks to sign in: a page redirects to the form, the API answers 401; a wrong token is refused', async () => {
    const page = await get('/')
    expect(page.status).to.equal(303)
    expect(page.headers.get('location')).to.equal('/signin?next=%2F')
    expect((await get('/api/jobs')).status).to.equal(401)
    expect((await get('/api/jobs', {authorization: 'Bearer not-the-token-at-all-0123456789'})).status).to.equal(401)
    expect((await get('/api/jobs', {cookie: 'manage_session=forged'})).status).to.equal(401)
    const form = await get('/signin')
    expect(form.status).to.equal(200)
    expect(await form.text()).to.include('<form class="signin" method="post" action="/signin">')
  })

  it('sends its security headers on every answer', async () => {
    for (const response of [await get('/signin'), await get('/api/jobs', bearer), await get('/nowhere', bearer)]) {
      expect(response.headers.get('content-security-policy')).to.include("frame-ancestors 'none'").and.include("default-src 'none'")
      expect(response.headers.get('x-frame-options')).to.equal('DENY')
      expect(response.headers.get('x-content-type-options')).to.equal('nosniff')
      expect(response.headers.get('referrer-policy')).to.equal('no-referrer')
    }
  })

  it('signs in with a user\'s password or with the token; a wrong password is refused; the token never shows in a page or a log', async () => {
    expect((await post('/signin', {name: 'ops', password: 'wrong horse'})).status).to.equal(401)
    expect((await post('/signin', {name: 'nobody', password: 'correct horse battery'})).status).to.equal(401)
    const {page} = await signIn('ops', 'correct horse battery')
    expect(page).to.include('<h1>app.report</h1>').and.include('ops')
    const byToken = await signIn('', TOKEN)
    const jobs = await (await get('/', {cookie: byToken.cookie})).text()
    expect(jobs).to.include('app.report').and.include('app.broken').and.include('1 failing')
    expect(jobs + logs.join('\n')).not.to.include(TOKEN)
    expect(logs.join('\n')).not.to.include('correct horse')
  })

  it('rate-limits sign-in: after 10 failures from one address, even the right password waits (429)', async () => {
    const limited = await start()
    try {
      const to = (path: string, body: Record<string, string>) => fetch(limited.url + path.slice(1), {method: 'POST', body: new URLSearchParams(body), redirect: 'manual'})
      for (let i = 0; i < 10; i++) expect((await to('/signin', {name: 'ops', password: `guess ${i}`})).status).to.equal(401)
      expect((await to('/signin', {name: 'ops', password: 'correct horse battery'})).status).to.equal(429)
    } finally {
      await new Promise((resolve) => limited.server.close(resolve))
    }
  })

  it('a state-changing request with the cookie needs the CSRF token: without it 403 and nothing changes; with it the pause is made, with its note and who', async () => {
    const {cookie, csrf} = await signIn('ops', 'correct horse battery')
    expect(csrf).to.have.length.above(30)
    const forged = await post('/jobs/app.report/pause', {note: 'from another site'}, {cookie})
    expect(forged.status).to.equal(403)
    expect((await post('/jobs/app.report/pause', {note: 'x', csrf: 'wrong'}, {cookie})).status).to.equal(403)
    expect(await t.db('cron_job').whereNotNull('paused_at').pluck('code')).to.deep.equal([])

    const paused = await post('/jobs/app.report/pause', {note: 'deploy in progress', csrf}, {cookie})
    expect(paused.status).to.equal(303)
    expect(paused.headers.get('location')).to.equal('/jobs/app.report')
    const page = await (await get('/jobs/app.report', {cookie})).text()
    expect(page).to.include('app.report paused').and.include('deploy in progress').and.include('>Resume<')
    const [action] = await t.db('cron_action').select('code', 'action', 'by_user', 'note')
    expect(action).to.deep.equal({code: 'app.report', action: 'pause', by_user: 'ops', note: 'deploy in progress'})
    // The API with the cookie: the token in a header instead of the form.
    expect((await fetch(`${base}api/jobs/app.report/resume`, {method: 'POST', headers: {cookie}})).status).to.equal(403)
    expect((await fetch(`${base}api/jobs/app.report/resume`, {method: 'POST', headers: {cookie, 'x-csrf-token': csrf}})).status).to.equal(200)
  })

  it('read-only: a read-only user and a --read-only server refuse every action, on the server side', async () => {
    const viewer = await signIn('viewer', 'just looking around')
    expect(viewer.page).to.include('read-only').and.not.include('>Run now<')
    for (const action of ['run', 'pause', 'resume', 'unlock']) expect((await post(`/jobs/app.report/${action}`, {csrf: viewer.csrf}, {cookie: viewer.cookie})).status, action).to.equal(403)
    const readOnly = await start(true)
    try {
      const refused = await fetch(`${readOnly.url}api/jobs/app.report/run`, {method: 'POST', headers: bearer})
      expect(refused.status).to.equal(403)
      expect(await refused.json()).to.deep.equal({error: 'the dashboard is read-only (--read-only)'})
    } finally {
      await new Promise((resolve) => readOnly.server.close(resolve))
    }
    expect(await t.db('cron_job_log').where({code: 'app.report'}).count({n: '*'}).first()).to.deep.include({n: dialect === 'postgres' ? '1' : 1})
    expect(await t.db('cron_action').count({n: '*'}).first()).to.deep.include({n: dialect === 'postgres' ? '0' : 0})
  })

  it('GET /api/jobs, /api/jobs/:code, /api/runs/:id and /api/runners', async () => {
    const jobs = (await (await get('/api/jobs', bearer)).json()) as Array<Record<string, unknown>>
    expect(jobs.map((j) => [j.code, j.schedule, j.failingStreak])).to.deep.equal([['app.report', 'every 60 min', 0], ['app.broken', 'every 60 min', 1]])
    expect(jobs[0]).to.deep.include({nextDue: '2026-01-05T10:01:00.000Z', runningNow: null, paused: null})
    const one = (await (await get('/api/jobs/app.broken', bearer)).json()) as Record<string, unknown> & {upcoming: string[]; recentRuns: Array<Record<string, unknown>>}
    expect(one.upcoming).to.have.length(10)
    expect(one.upcoming.slice(0, 2), 'failed at 09:00, so due now').to.deep.equal(['2026-01-05T10:00:00.000Z', '2026-01-05T11:01:00.000Z'])
    expect(one.recentRuns[0]).to.deep.include({status: 'failed', startTime: '2026-01-05T09:00:00.000Z'})
    const run = (await (await get(`/api/runs/${one.recentRuns[0].id}`, bearer)).json()) as Record<string, unknown>
    expect(String(run.message)).to.match(/^Error: the mail server said no\n {4}at /)
    expect((await get('/api/runs/999999', bearer)).status).to.equal(404)
    expect((await get('/api/jobs/app.nope', bearer)).status).to.equal(404)
    expect(await (await get('/api/runners', bearer)).json()).to.deep.equal([])
  })

  it('GET /api/jobs/:code/runs: filters (status, text) and pages by a cursor (before=)', async () => {
    const store = new KnexRunStore(t.db, t.dialect)
    for (let i = 0; i < 7; i++) await store.insertRun({code: 'app.report', status: i % 2 ? 'failed' : 'succeeded', startMs: at('2026-01-04T00:00:00Z') + i * 60_000, endMs: at('2026-01-04T00:00:01Z') + i * 60_000, message: i === 3 ? 'timeout talking to S3' : `ok ${i}`})
    const page = async (query: string) => (await (await get(`/api/jobs/app.report/runs${query}`, bearer)).json()) as {runs: Array<{id: number; status: string; message: string}>; nextBefore: number | null}
    const first = await page('?limit=3')
    expect(first.runs.map((r) => r.message)).to.deep.equal(['report sent', 'ok 6', 'ok 5'])
    const second = await page(`?limit=3&before=${first.nextBefore}`)
    expect(second.runs.map((r) => r.message)).to.deep.equal(['ok 4', 'timeout talking to S3', 'ok 2'])
    expect((await page('?status=failed')).runs.map((r) => r.message)).to.deep.equal(['ok 5', 'timeout talking to S3', 'ok 1'])
    expect((await page('?q=S3')).runs.map((r) => r.message)).to.deep.equal(['timeout talking to S3'])
    expect((await page('?q=100%25')).runs).to.deep.equal([])
    // A date range, in the settings' zone, both ends included: the seeded day only, not the 2026-01-05 run.
    expect((await page('?from=2026-01-04&to=2026-01-04')).runs.map((r) => r.message)).to.deep.equal(['ok 6', 'ok 5', 'ok 4', 'timeout talking to S3', 'ok 2', 'ok 1', 'ok 0'])
    expect((await page('?from=2026-01-05')).runs.map((r) => r.message)).to.deep.equal(['report sent'])
    expect((await get('/api/jobs/app.report/runs?from=yesterday', bearer)).status).to.equal(400)
    expect((await get('/api/jobs/app.report/runs?status=done', bearer)).status).to.equal(400)
    expect((await get('/api/jobs/app.report/runs?limit=0', bearer)).status).to.equal(400)
  })

  it('POST run: through the claim, the run recorded and its outcome answered; refused (409) while a run is going on, no second run', async () => {
    const ran = await fetch(`${base}api/jobs/app.broken/run`, {method: 'POST', headers: bearer})
    expect(ran.status).to.equal(200)
    const body = (await ran.json()) as {message: string; runId: number}
    expect(body.message).to.match(/^run \d+ failed: Error: the mail server said no$/)
    expect((await t.db('cron_job_log').where({code: 'app.broken'}).orderBy('id')).map((row) => row.status)).to.deep.equal(['failed', 'failed'])

    const store = new KnexRunStore(t.db, t.dialect)
    await store.insertRun({code: 'app.report', status: 'running', startMs: at(NOW), host: 'web2', pid: 77, leaseMs: 600_000, leaseNowMs: Date.now()})
    const refused = await fetch(`${base}api/jobs/app.report/run`, {method: 'POST', headers: bearer})
    expect(refused.status).to.equal(409)
    expect(((await refused.json()) as {message: string}).message).to.match(/^app\.report is already running \(run \d+ on web2, pid 77\): not started again$/)
    expect(await t.db('cron_job_log').where({code: 'app.report'}).count({n: '*'}).first()).to.deep.include({n: dialect === 'postgres' ? '2' : 2})
    const actions = await t.db('cron_action').orderBy('id').pluck('outcome')
    expect(actions[0]).to.match(/^run \d+ failed/)
    expect(actions[1]).to.match(/already running/)
  })

  it('POST pause (a JSON note) and resume with the bearer token: answered, recorded with who, the job shown paused; 409 when nothing changes', async () => {
    const pause = (body: unknown) => fetch(`${base}api/jobs/app.report/pause`, {method: 'POST', headers: {...bearer, 'content-type': 'application/json'}, body: JSON.stringify(body)})
    const paused = await pause({note: 'quarter-end freeze'})
    expect(paused.status).to.equal(200)
    expect(await paused.json()).to.deep.equal({status: 200, message: 'app.report paused'})
    expect((await pause({})).status).to.equal(409)
    const shown = (await (await get('/api/jobs/app.report', bearer)).json()) as {paused: {by: string; note: string}; nextDue: string | null; upcoming: string[]}
    expect(shown.paused).to.deep.include({by: 'token', note: 'quarter-end freeze'})
    expect(shown.upcoming).to.deep.equal([])
    expect((await fetch(`${base}api/jobs/app.report/resume`, {method: 'POST', headers: bearer})).status).to.equal(200)
    expect((await fetch(`${base}api/jobs/app.report/resume`, {method: 'POST', headers: bearer})).status).to.equal(409)
    expect(await t.db('cron_action').orderBy('id').select('action', 'by_user', 'note', 'outcome')).to.deep.equal([
      {action: 'pause', by_user: 'token', note: 'quarter-end freeze', outcome: 'app.report paused'},
      {action: 'pause', by_user: 'token', note: null, outcome: 'app.report was already paused'},
      {action: 'resume', by_user: 'token', note: null, outcome: 'app.report resumed'},
      {action: 'resume', by_user: 'token', note: null, outcome: 'app.report was not paused'},
    ])
  })

  it('POST unlock: refused (409) while the holder renews its lease, as the CLI refuses; done once it has run out', async () => {
    const lock = new TestLock(t.db, t.dialect)
    expect(await lock.claim('app.report', {token: 'other-process', host: 'web2', pid: 77}, Date.now(), 600_000)).to.equal(true)
    const refused = await fetch(`${base}api/jobs/app.report/unlock`, {method: 'POST', headers: bearer})
    expect(refused.status).to.equal(409)
    expect(((await refused.json()) as {message: string}).message).to.match(/^'app\.report' is held by pid 77 on web2 since .*still being renewed: stop that process, wait for the lease to run out \(manage crons:unlock --force on a server, if you are sure it is gone\)$/)
    await expireLeases(t)
    const done = await fetch(`${base}api/jobs/app.report/unlock`, {method: 'POST', headers: bearer})
    expect(done.status).to.equal(200)
    expect(await t.db('cron_job').where({code: 'app.report'}).pluck('lock_token')).to.deep.equal([null])
  })

  it('the pages: jobs (filter, sort), a job (chart, timeline, upcoming), its history, a run with its stack, the runners', async () => {
    const {cookie} = await signIn('ops', 'correct horse battery')
    const page = async (path: string) => {
      const response = await get(path, {cookie})
      expect(response.status, path).to.equal(200)
      return response.text()
    }
    expect(await page('/?q=broken')).to.include('app.broken').and.not.include('>app.report<')
    expect(await page('/?sort=failing')).to.match(/app\.broken[\s\S]*app\.report/)
    const jobPage = await page('/jobs/app.broken')
    expect(jobPage).to.include('<svg class="chart"').and.include('<svg class="timeline"').and.include('Upcoming runs').and.include('class="failed"')
    const runId = (await t.db('cron_job_log').where({code: 'app.broken'}).first()).id
    expect(await page(`/jobs/app.broken/runs?status=failed`)).to.include(`/runs/${runId}`)
    expect(await page(`/runs/${runId}`)).to.match(/<pre id="message">Error: the mail server said no\n {4}at /)
    expect(await page('/runners')).to.include('No tick recorded yet')
    expect((await get('/jobs/app.nope', {cookie})).status).to.equal(404)
  })
})

describe('manage dashboard: the bind rule', () => {
  const none: DashboardAuth = {token: null, users: []}
  it('refuses another address than this machine\'s own without authentication configured, in one line', () => {
    expect(() => checkBind('0.0.0.0', none)).to.throw(/^refusing to listen on 0\.0\.0\.0 without authentication configured: set MANAGE_DASHBOARD_TOKEN/)
    expect(() => checkBind('192.168.1.5', none)).to.throw(/refusing to listen on 192\.168\.1\.5/)
  })
  it('allows 127.0.0.1, ::1 and localhost always, and any address with a token or users', () => {
    for (const host of ['127.0.0.1', '::1', 'localhost']) expect(() => checkBind(host, none)).not.to.throw()
    expect(() => checkBind('0.0.0.0', {token: TOKEN, users: []})).not.to.throw()
  })
})

describe('manage dashboard (the command)', function () {
  this.timeout(30_000)

  it('refuses another address without authentication configured, and a short token, in one line each (exit 2)', async () => {
    const box = new Sandbox()
    try {
      const open = await box.run(['dashboard', '--host', '0.0.0.0', '--port', '0'], {MANAGE_DASHBOARD_TOKEN: ''})
      expect(open.code, context(open)).to.equal(2)
      expect(open.stderr).to.match(/^error: refusing to listen on 0\.0\.0\.0 without authentication configured: set MANAGE_DASHBOARD_TOKEN .*\n$/)
      const short = await box.run(['dashboard', '--port', '0'], {MANAGE_DASHBOARD_TOKEN: 'sesame'})
      expect(short.code).to.equal(2)
      expect(short.stderr).to.equal('error: MANAGE_DASHBOARD_TOKEN is shorter than 24 characters: use a random one, e.g. the output of `openssl rand -hex 24`\n')
      expect(short.stderr).not.to.include('sesame')
    } finally {
      box.remove()
    }
  })

  it('with nothing configured, on 127.0.0.1: makes a token for this run in var/dashboard-token (mode 600), never printed', async () => {
    const box = new Sandbox()
    const token = path.join(ROOT, 'var', 'dashboard-token')
    try {
      await box.migrate()
      const dashboard = await startDashboard({...box.env(), MANAGE_DASHBOARD_TOKEN: ''} as Record<string, string>)
      try {
        const made = readFileSync(token, 'utf8').trim()
        expect(made).to.match(/^[0-9a-f]{48}$/)
        expect(statSync(token).mode & 0o777).to.equal(0o600)
        expect(dashboard.output()).to.include('var/dashboard-token').and.not.include(made)
        expect((await fetch(`${dashboard.url}api/jobs`, {headers: {authorization: `Bearer ${made}`}})).status).to.equal(200)
      } finally {
        await dashboard.stop()
      }
    } finally {
      box.remove()
    }
  })

  it('dashboard:password hashes a password from standard input, for the settings\' dashboard.users', async () => {
    const result = await runManageWithInput(['dashboard:password'], {}, 'a long enough password\n')
    expect(result.code, context(result)).to.equal(0)
    const hash = result.stdout.trim()
    expect(hash).to.match(/^scrypt\$16384\$8\$1\$\S+\$\S+$/)
    expect(signIn({token: null, users: [{name: 'ops', passwordHash: hash, readOnly: false}]}, 'ops', 'a long enough password')).to.deep.equal({name: 'ops', readOnly: false, via: 'session'})
    const short = await runManageWithInput(['dashboard:password'], {}, 'short\n')
    expect(short.code).to.equal(2)
    expect(short.stderr).to.equal('error: the password on standard input is shorter than 12 characters: use a longer one\n')
  })
})
