import {randomBytes} from 'node:crypto'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import type http from 'node:http'
import path from 'node:path'
import {expect} from 'chai'
import type {JobStarter} from '../../src/core/operate/run-now'
import {DashboardActions} from '../../src/dashboard/actions'
import {tokenWeakness, type DashboardAuth} from '../../src/core/project/dashboard-settings'
import {hashPassword, signIn, SignInLimiter} from '../../src/dashboard/auth'
import {DashboardData} from '../../src/dashboard/data'
import {checkBind, listen} from '../../src/dashboard/listen'
import {dashboardHandler} from '../../src/dashboard/server'
import {knexSource} from '../../src/core/db/connection-source'
import {SqlRunStore} from '../../src/core/run-log/run-store'
import {SqlServerTicks} from '../../src/core/run-log/server-ticks'
import {runCrons} from '../../src/core/tick/run-crons'
import {fixedClock, systemClock} from '../../src/core/time/clock'
import {job, settingsWith} from '../fixtures/jobs'
import {context, ROOT, runManageWithInput, Sandbox} from '../helpers/cli'
import {httpRequest, rawRequest, requestsAtOnce, startDashboard} from '../helpers/dashboard'
import {BACKENDS, expireLeases, freshDatabase, TestLock, type TestDatabase} from '../helpers/db'
import {at} from '../helpers/schedule'

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
    const starter: JobStarter = (code) => ({pid: process.pid, ended: runCrons({db: t.db, dialect: t.dialect, settings, clock, names: [code], force: true}).then((report) => ({exitCode: report.exitCode}))})
    const actions = new DashboardActions(source, starter, clock, systemClock)
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
    const store = new SqlRunStore(knexSource(t.db, t.dialect))
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

    const store = new SqlRunStore(knexSource(t.db, t.dialect))
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

  const pauseWithNote = (note: string) => fetch(`${base}api/jobs/app.report/pause`, {method: 'POST', headers: {...bearer, 'content-type': 'application/json'}, body: JSON.stringify({note})})

  it('POST pause with a NUL in its note: paused and recorded, the NUL kept as U+FFFD', async () => {
    const paused = await pauseWithNote('deploy\u0000 in progress')
    expect(paused.status).to.equal(200)
    expect(await t.db('cron_action').select('action', 'by_user', 'note')).to.deep.equal([{action: 'pause', by_user: 'token', note: 'deploy\uFFFD in progress'}])
    expect(await t.db('cron_job').where({code: 'app.report'}).whereNotNull('paused_at').pluck('code')).to.deep.equal(['app.report'])
  })

  it('POST pause: the pause and its record are one transaction (a pause that cannot be recorded is not made)', async () => {
    const pause = pauseWithNote
    await t.db.schema.renameTable('cron_action', 'cron_action_away')
    try {
      expect((await pause('during the outage')).status).to.equal(500)
      expect(await t.db('cron_job').where({code: 'app.report'}).pluck('paused_at')).to.deep.equal([null])
    } finally {
      await t.db.schema.renameTable('cron_action_away', 'cron_action')
    }
  })

  it('crons:pause --note: the pause and its record are one transaction too (a pause that cannot be recorded is not made)', async () => {
    const box = new Sandbox({databaseUrl: t.url})
    try {
      await t.db.schema.renameTable('cron_action', 'cron_action_away')
      try {
        const failed = await box.run(['crons:pause', 'test.success', '--note', 'not recorded'], {TEST_CRONS: 'SuccessJob'})
        expect(failed.code, context(failed)).not.to.equal(0)
        expect(await t.db('cron_job').where({code: 'test.success'}).whereNotNull('paused_at').pluck('code')).to.deep.equal([])
      } finally {
        await t.db.schema.renameTable('cron_action_away', 'cron_action')
      }
      const paused = await box.run(['crons:pause', 'test.success', '--note', 'a\tnote'], {TEST_CRONS: 'SuccessJob'})
      expect(paused.code, context(paused)).to.equal(0)
      expect(await t.db('cron_action').select('action', 'note', 'outcome')).to.deep.equal([{action: 'pause', note: 'a\tnote', outcome: 'Paused test.success.'}])
    } finally {
      box.remove()
    }
  })

  it('run now raced by another process: only the request whose own runcrons claimed the job says it ran; the other answers 409 naming where it runs', async () => {
    const source = knexSource(t.db, t.dialect)
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let started!: () => void
    const jobStarted = new Promise<void>((resolve) => (started = resolve))
    const Slow = job('app.slow', {runEveryMins: 60}, async () => {
      started()
      await released
      return 'done'
    })
    const slow = settingsWith([Slow])
    const clock = fixedClock(at(NOW))
    const tick = (pid: number) => runCrons({db: t.db, dialect: t.dialect, settings: slow, clock, names: ['app.slow'], force: true, pid}).then((report) => ({exitCode: report.exitCode}))
    // Two dashboards: B's child starts only once the job runs in A's, and finds it claimed.
    let bStarting!: () => void
    const bStarted = new Promise<void>((resolve) => (bStarting = resolve))
    const b = new DashboardActions(source, () => (bStarting(), {pid: 2002, ended: jobStarted.then(() => tick(2002))}), clock, systemClock)
    const a = new DashboardActions(source, () => ({pid: 1001, ended: tick(1001)}), clock, systemClock)
    const who = {name: 'ops', readOnly: false, via: 'token' as const}
    const second = b.runNow('app.slow', who)
    await bStarted
    const first = a.runNow('app.slow', who)
    const refused = await second
    release()
    expect(refused.status).to.equal(409)
    expect(refused.message).to.match(/^app\.slow is already running \(run \d+ on .+, pid 1001\): not started again$/)
    const ran = await first
    expect(ran).to.deep.include({status: 200})
    expect(ran.message).to.match(/^run \d+ succeeded: done$/)
    expect(await t.db('cron_job_log').where({code: 'app.slow'}).pluck('pid')).to.deep.equal([1001])
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

  it("the code's version: on a run's page and in its JSON, a deploy mark where it changed in the duration chart; the runners with their kind and since", async () => {
    const {cookie} = await signIn('ops', 'correct horse battery')
    const page = async (path: string) => (await get(path, {cookie})).text()
    const source = knexSource(t.db, t.dialect)
    const store = new SqlRunStore(source)
    const ids: number[] = []
    for (const [i, version] of ['1.4.1+aaaaaaa', null, '1.4.1+aaaaaaa', null, '1.4.2+3f9c2ab', '1.4.2+3f9c2ab'].entries()) {
      ids.push(await store.insertRun({code: 'app.report', status: 'succeeded', startMs: at('2026-01-03T00:00:00Z') + i * 60_000, endMs: at('2026-01-03T00:00:01Z') + i * 60_000, version}))
    }
    try {
      expect(await page(`/runs/${ids[4]}`)).to.include('<tr><th>Version</th><td><code id="version">1.4.2+3f9c2ab</code></td></tr>')
      expect(await page(`/runs/${ids[3]}`)).to.include('<tr><th>Version</th><td><span class="muted">unknown</span></td></tr>')
      expect(await (await get(`/api/runs/${ids[4]}`, bearer)).json()).to.deep.include({version: '1.4.2+3f9c2ab'})
      // One mark, at the first run of 1.4.2: runs of unknown version neither mark nor break 1.4.1's.
      const marks = (await page('/jobs/app.report')).match(/<g class="deploy"><title>[^<]*<\/title>/g)
      expect(marks).to.deep.equal([`<g class="deploy"><title>deploy: 1.4.2+3f9c2ab from run ${ids[4]} at 2026-01-03T00:04:00.000Z</title>`])
      await new SqlServerTicks(source).record({kind: 'scheduler', host: 'web7', pid: 42, version: '0.1.0', atMs: at('2026-01-05T09:59:30Z'), sinceMs: at('2026-01-05T08:00:00Z'), lag: {lagMs: 2400, codes: ['app.crunch']}})
      expect(await page('/runners')).to.match(/<tr><td>web7<\/td><td>scheduler<\/td><td>0\.1\.0<\/td><td>2026-01-05 08:00:00[^<]*<\/td><td>2026-01-05 09:59:30[^<]*<\/td><td><span class="status status-failed" title="[^"]*isolate = true">2\.4 s<\/span> app\.crunch<\/td><td><span class="status status-succeeded">ticking<\/span><\/td><\/tr>/)
      expect(await (await get('/api/runners', bearer)).json()).to.deep.equal([{host: 'web7', kind: 'scheduler', pid: 42, version: '0.1.0', since: '2026-01-05T08:00:00.000Z', lastTickAt: '2026-01-05T09:59:30.000Z', lagMs: 2400, lagJobs: ['app.crunch']}])
      // A run a scheduler started late: its page and its JSON say by how much.
      const late = await store.insertRun({code: 'app.report', status: 'succeeded', startMs: at('2026-01-03T01:00:00Z'), endMs: at('2026-01-03T01:00:01Z'), startedLateMs: 2400})
      ids.push(late)
      expect(await page(`/runs/${late}`)).to.include('<span id="started-late">started 2.4 s late (waited for a slot)</span>')
      expect(await (await get(`/api/runs/${late}`, bearer)).json()).to.deep.include({startedLateMs: 2400})
    } finally {
      await t.db('cron_job_log').whereIn('id', ids).delete()
      await t.db('cron_tick').delete()
    }
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

describe('manage dashboard: the sign-in limiter', () => {
  it('counts an attempt before it is checked, under every key, and gives a success its reservation back', () => {
    const limiter = new SignInLimiter(60_000)
    const keys = [{key: 'client a', limit: 2}, {key: 'name ops', limit: 3}]
    expect(limiter.reserve(keys, 1000)).not.to.equal(null)
    const second = limiter.reserve(keys, 1001)!
    expect(limiter.reserve(keys, 1002), 'client a is at its limit').to.equal(null)
    second.release()
    expect(limiter.reserve(keys, 1003)).not.to.equal(null)
    expect(limiter.reserve([{key: 'client b', limit: 2}, {key: 'name ops', limit: 3}], 1004), 'name ops: 2 counted').not.to.equal(null)
    expect(limiter.reserve([{key: 'client c', limit: 2}, {key: 'name ops', limit: 3}], 1005), 'name ops is at its limit').to.equal(null)
    expect(limiter.reserve(keys, 61_001), 'the window passed').not.to.equal(null)
  })

  it('keeps at most maxKeys keys: expired ones go first, then the oldest', () => {
    const limiter = new SignInLimiter(60_000, 100)
    for (let i = 0; i < 1000; i++) limiter.reserve([{key: `client ${i}`, limit: 10}], i)
    expect(limiter.size).to.be.at.most(101)
    // A key kept is still counted: the newest ones are kept.
    for (let n = 0; n < 9; n++) expect(limiter.reserve([{key: 'client 999', limit: 10}], 1000)).not.to.equal(null)
    expect(limiter.reserve([{key: 'client 999', limit: 10}], 1000)).to.equal(null)
    // Once the window has passed, the expired keys go first: the late ones are all kept.
    for (let i = 0; i < 100; i++) limiter.reserve([{key: `late ${i}`, limit: 2}], 200_000)
    expect(limiter.size).to.equal(100)
    for (let i = 0; i < 100; i++) expect(limiter.reserve([{key: `late ${i}`, limit: 2}], 200_001), `late ${i}`).not.to.equal(null)
    for (let i = 0; i < 100; i++) expect(limiter.reserve([{key: `late ${i}`, limit: 2}], 200_002), `late ${i}`).to.equal(null)
  })
})

describe('manage dashboard (the command)', function () {
  this.timeout(30_000)

  it('refuses another address without authentication configured, and a short token, in one line each (exit 2)', async () => {
    // Refused before it listens: the command runs in this process.
    const box = new Sandbox({tier: 'in-process'})
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

  it('refuses to start on a database that is not migrated, or where one of manage\'s migrations is not applied, with the line every command gives (exit 1)', async () => {
    // Without the check it would listen, and answer 500 on every page: this call would never end.
    const box = new Sandbox({tier: 'in-process'})
    try {
      const bare = await box.run(['dashboard', '--port', '0'], {MANAGE_DASHBOARD_TOKEN: TOKEN})
      const list = await box.run(['crons:history'])
      expect(bare.code, context(bare)).to.equal(1)
      expect(bare.stdout).to.equal('')
      expect(bare.stderr).to.equal(list.stderr).and.match(/^error: the database sqlite file .* is not migrated \(table cron_job_log is missing\): run `manage migrate` first\n$/)
      await box.migrate()
      expect((await box.run(['migrate', '20261203000100_manage_actions'])).code).to.equal(0)
      const behind = await box.run(['dashboard', '--port', '0'], {MANAGE_DASHBOARD_TOKEN: TOKEN})
      expect(behind.code, context(behind)).to.equal(1)
      expect(behind.stderr).to.match(/^error: the database sqlite file .* is not migrated \(manage's migrations 20261204000000_manage_alert_public_id, 20261204000200_manage_forced_runs, 20261205000000_manage_runner_kind, 20261205000100_manage_lateness, 20261206000000_manage_period_ledger, 20261206000200_manage_limits are not applied\): run `manage migrate` first\n$/)
    } finally {
      box.remove()
    }
  })

  it('refuses a low-entropy token (whitespace, one letter repeated, few different characters) in one line that never quotes it, in the dashboard and in manage check', async () => {
    const box = new Sandbox({settings: DASHBOARD_SETTINGS, tier: 'in-process'})
    try {
      for (const token of [' '.repeat(24), 'a'.repeat(24), 'abcdefgh'.repeat(4), 'abcdefghijabcdefghijabcd', `${'x'.repeat(20)}\t0123456789`]) {
        const refused = await box.run(['dashboard', '--host', '0.0.0.0', '--port', '0'], {MANAGE_DASHBOARD_TOKEN: token})
        expect(refused.code, context(refused)).to.equal(2)
        expect(refused.stderr).to.match(/^error: MANAGE_DASHBOARD_TOKEN (contains whitespace or control characters|is too easy to guess \(fewer than 10 different characters, or too many repeats for 80 bits of entropy\)): use a random one, e\.g\. the output of `openssl rand -hex 24`\n$/)
        expect(refused.stderr + refused.stdout).not.to.include(token.trim() || token)
      }
      const check = await box.run(['check'], {TEST_DASHBOARD_TOKEN: 'a'.repeat(32), TEST_TRUST_PROXY: '127.0.0.1,10.0.0.0/8,proxy.local,10.0.0.0/33'})
      expect(check.stdout + check.stderr).to.include('dashboard.token is too easy to guess').and.not.include('a'.repeat(32))
      expect(check.stdout + check.stderr).to.include("dashboard.trustProxy[2] is 'proxy.local', not an IP address or range (like 10.0.0.0/8)")
      expect(check.stdout + check.stderr).to.include("dashboard.trustProxy[3] is '10.0.0.0/33', not an IP address or range")
      expect(check.stdout + check.stderr).not.to.include('trustProxy[0]').and.not.include('trustProxy[1]')
      const proxy = await box.run(['dashboard', '--port', '0'], {MANAGE_DASHBOARD_TOKEN: TOKEN, TEST_TRUST_PROXY: 'proxy.local'})
      expect(proxy.code).to.equal(2)
      expect(proxy.stderr).to.equal("error: dashboard.trustProxy[0] is 'proxy.local', not an IP address or range (like 10.0.0.0/8): use e.g. trustProxy: ['127.0.0.1'] (the address your reverse proxy connects from)\n")
    } finally {
      box.remove()
    }
  })

  it('accepts every real random token: openssl rand -hex 24, base64 of 24 bytes', () => {
    for (let i = 0; i < 2000; i++) {
      for (const token of [randomBytes(24).toString('hex'), randomBytes(24).toString('base64'), randomBytes(24).toString('base64url')]) expect(tokenWeakness(token), 'a random token').to.equal(null)
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

const DASHBOARD_SETTINGS = path.join(ROOT, 'test', 'fixtures', 'dashboard-settings.cjs')
/** The address that plays the reverse proxy (dashboard.trustProxy); 127.0.0.1 and the others are plain clients. */
const PROXY = '127.0.0.2'
const form = (fields: Record<string, string>) => ({'content-type': 'application/x-www-form-urlencoded', ...fields})

/**
 * One real `manage dashboard` process (sqlite) for the requests a hostile client sends: each test
 * ends by checking the process still lives and answers. Sign-ins come from their own client address
 * (a local address of its own, or one a trusted proxy names), so the limits of one test do not touch another's.
 */
describe('a real manage dashboard process: hostile requests are answered, never fatal (sqlite)', function () {
  this.timeout(30_000)
  let t: TestDatabase
  let box: Sandbox
  let dashboard: Awaited<ReturnType<typeof startDashboard>>
  const log = () => dashboard.output()
  const request = (options: Parameters<typeof httpRequest>[1]) => httpRequest(dashboard.url, options)
  const signInAs = (fields: Record<string, string>, from = '127.0.0.1', headers: Record<string, string> = {}) =>
    request({method: 'POST', path: '/signin', headers: form(headers), body: new URLSearchParams(fields).toString(), from})
  const raw = (text: string | Array<string | Buffer>, options: {whole?: boolean; from?: string} = {}) => rawRequest(dashboard.url, Array.isArray(text) ? text : [text], options)

  before(async () => {
    t = await freshDatabase({dialect: 'sqlite'})
    box = new Sandbox({databaseUrl: t.url, settings: DASHBOARD_SETTINGS})
    dashboard = await startDashboard(box.env({MANAGE_DASHBOARD_TOKEN: TOKEN, TEST_TRUST_PROXY: PROXY}) as Record<string, string>)
  })
  after(async () => {
    await dashboard?.stop()
    box?.remove()
    await t?.close()
  })
  afterEach(async () => {
    expect(dashboard.alive(), log()).to.equal(true)
    expect((await request({path: '/signin'})).status).to.equal(200)
    expect(log()).not.to.match(/Uncaught|TypeError|ERR_INVALID_CHAR|URI malformed|Invalid URL/)
  })

  it('a malformed URL (GET //[, an absolute URL) and a malformed %-escape are answered 400', async () => {
    expect((await raw('GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status).to.equal(400)
    expect((await raw('GET //evil.example/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status).to.equal(400)
    expect((await raw('GET http://evil.example/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status).to.equal(400)
    const authorized = `Host: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n`
    expect((await raw(`GET /jobs/%E0%A4%A HTTP/1.1\r\n${authorized}\r\n`)).status).to.equal(400)
    const api = await raw(`GET /api/jobs/%E0%A4%A/runs HTTP/1.1\r\n${authorized}\r\n`)
    expect(api.status).to.equal(400)
    expect(JSON.parse(api.body)).to.deep.equal({error: "'%E0%A4%A' is not a valid path: it has a malformed %-escape"})
    expect((await raw(`POST /api/jobs/%E0%A4%A/pause HTTP/1.1\r\n${authorized}Content-Length: 0\r\n\r\n`)).status).to.equal(400)
    expect((await raw(`GET /jobs/%E0%A4%A/runs HTTP/1.1\r\n${authorized}\r\n`)).status).to.equal(400)
  })

  it('after signing in, goes to a path of this site only: a line break (/%0D%0Ax), a tab, a backslash, // or /.// in next send to /', async () => {
    const location = async (next: string) => {
      const answer = await signInAs({name: 'ops', password: 'correct horse battery', next})
      expect(answer.status, next).to.equal(303)
      return answer.headers.location
    }
    expect(await location('/\r\nx')).to.equal('/')
    expect(await location('/\t/evil.example/phish')).to.equal('/')
    expect(await location('/\n/evil.example')).to.equal('/')
    expect(await location('/\\evil.example')).to.equal('/')
    expect(await location('//evil.example')).to.equal('/')
    expect(await location('/.//evil.example')).to.equal('/')
    expect(await location('/a/..//evil.example')).to.equal('/')
    expect(await location('https://evil.example/')).to.equal('/')
    expect(await location('/\u00a0/evil.example')).to.equal('/')
    expect(await location('/jobs/dash.env?tab=runs')).to.equal('/jobs/dash.env?tab=runs')
    // The form carries next as the safe form too, whatever the link said.
    for (const next of ['/%0D%0Ax', '/%09/evil.example/phish']) {
      const page = await raw(`GET /signin?next=${next} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      expect(page.status).to.equal(200)
      expect(page.body).to.include('<input type="hidden" name="next" value="/">')
    }
  })

  it('a body over 16 KB is answered 413 with Connection: close: a Content-Length before reading it, a chunked one as it passes the limit; the connection closes cleanly', async () => {
    const declared = await raw(`POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 20000\r\n\r\n`, {whole: true})
    expect(declared.status).to.equal(413)
    expect(declared.headers.connection).to.equal('close')
    const chunk = Buffer.alloc(64 * 1024, 'a')
    const chunks = Array.from({length: 16}, () => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]))
    const api = `POST /api/jobs/dash.env/pause HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`
    const chunked = await raw([api, ...chunks, '0\r\n\r\n'])
    expect(chunked.status).to.equal(413)
    expect(chunked.headers.connection).to.equal('close')
    expect(JSON.parse(chunked.body)).to.deep.equal({error: 'the request body is too large (over 16384 bytes)'})
    expect(chunked.error, 'the server read the rest and closed: no reset').to.equal(null)
    expect(await t.db('cron_job').whereNotNull('paused_at').pluck('code')).to.deep.equal([])
  })

  it('the log: a token or a password typed as the name is never written, a line break in the name forges no line', async () => {
    const from = '127.0.0.4'
    expect((await signInAs({name: TOKEN, password: 'x'}, from)).status).to.equal(401)
    expect((await signInAs({name: 'hunter2-is-my-password', password: 'x'}, from)).status).to.equal(401)
    expect((await signInAs({name: 'ops\n2026-01-01T00:00:00.000Z GET /forged 200 1 ms', password: 'x'}, from)).status).to.equal(401)
    expect((await signInAs({name: 'ops', password: 'wrong'}, from)).status).to.equal(401)
    expect((await signInAs({name: '', password: 'not the token'}, from)).status).to.equal(401)
    expect(log()).not.to.include(TOKEN).and.not.to.include('hunter2').and.not.to.include('/forged')
    const refused = log().split('\n').filter((line) => line.includes(`from ${from}`)).map((line) => line.replace(/^\S+ /, ''))
    expect(refused).to.deep.equal([
      `sign-in refused for an unknown name from ${from}`,
      `sign-in refused for an unknown name from ${from}`,
      `sign-in refused for an unknown name from ${from}`,
      `sign-in refused for 'ops' from ${from}`,
      `sign-in refused for the token from ${from}`,
    ])
  })

  it('the sign-in limit holds under concurrency: 60 at once from one client, 10 passwords checked (401), 50 refused (429)', async () => {
    const head = 'POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Forwarded-For: 198.51.100.60\r\n'
    const statuses = await requestsAtOnce(dashboard.url, head, new URLSearchParams({name: 'ops', password: 'a wrong guess'}).toString(), 60, PROXY)
    expect(statuses.filter((status) => status === 401)).to.have.length(10)
    expect(statuses.filter((status) => status === 429)).to.have.length(50)
  })

  it('behind a trusted proxy the limit is per client (its X-Forwarded-For): one client locks out no one else; Secure only on the proxy\'s word', async () => {
    const via = (client: string, fields: Record<string, string>, headers: Record<string, string> = {}) => signInAs(fields, PROXY, {'x-forwarded-for': client, ...headers})
    for (let i = 0; i < 10; i++) expect((await via('203.0.113.7', {name: 'ops', password: `guess ${i}`})).status).to.equal(401)
    expect((await via('203.0.113.7', {name: 'ops', password: 'correct horse battery'})).status).to.equal(429)
    // What the client wrote left of the proxy's entry proves nothing: still 203.0.113.7.
    expect((await via('192.0.2.1, 203.0.113.7', {name: 'ops', password: 'correct horse battery'})).status).to.equal(429)
    expect((await via(`203.0.113.7, ${PROXY}`, {name: 'ops', password: 'correct horse battery'})).status).to.equal(429)
    const other = await via('203.0.113.8', {name: 'ops', password: 'correct horse battery'}, {'x-forwarded-proto': 'https'})
    expect(other.status).to.equal(303)
    expect(other.headers['set-cookie']?.[0]).to.match(/; Secure$/)
    expect(log()).to.include("sign-in refused for 'ops' from 203.0.113.7").and.include("sign-in refused for 'ops' from 203.0.113.7: too many failures (rate limit)")
  })

  it("an untrusted peer's X-Forwarded-For and X-Forwarded-Proto are ignored: its limit is its own address's, its cookie not Secure", async () => {
    const from = '127.0.0.3'
    for (let i = 0; i < 10; i++) expect((await signInAs({name: 'dev', password: `guess ${i}`}, from, {'x-forwarded-for': `192.0.2.${i}`})).status).to.equal(401)
    expect((await signInAs({name: 'dev', password: 'another good password'}, from, {'x-forwarded-for': '192.0.2.99'})).status).to.equal(429)
    expect(log()).to.include(`sign-in refused for 'dev' from ${from}`).and.not.include('from 192.0.2.')
    const plain = await signInAs({name: 'ops', password: 'correct horse battery'}, '127.0.0.1', {'x-forwarded-proto': 'https'})
    expect(plain.status).to.equal(303)
    expect(plain.headers['set-cookie']?.[0]).to.match(/; Path=\/$/)
  })

  it('a user name is limited across clients too (100 failures a window): it then waits, the other users do not', async () => {
    for (let client = 0; client < 10; client++) {
      const answers = await Promise.all(Array.from({length: 10}, (_, i) => signInAs({name: 'ci', password: `guess ${i}`}, PROXY, {'x-forwarded-for': `203.0.113.${100 + client}`})))
      expect(answers.map((answer) => answer.status)).to.deep.equal(Array(10).fill(401))
    }
    expect((await signInAs({name: 'ci', password: 'the third good password'}, PROXY, {'x-forwarded-for': '203.0.113.200'})).status).to.equal(429)
    expect((await signInAs({name: 'ops', password: 'correct horse battery'}, PROXY, {'x-forwarded-for': '203.0.113.200'})).status).to.equal(303)
  })

})


/** Run now from a real `manage dashboard` process: its own `runcrons CODE --force` children, on each backend. */
for (const dialect of BACKENDS) describe(`run now from a real manage dashboard process, on ${dialect}`, function () {
  this.timeout(30_000)
  let t: TestDatabase
  let box: Sandbox
  let dashboard: Awaited<ReturnType<typeof startDashboard>>
  const run = (code: string) => httpRequest(dashboard.url, {method: 'POST', path: `/api/jobs/${code}/run`, headers: {authorization: `Bearer ${TOKEN}`}})
  const count = async (code: string) => Number((await t.db('cron_job_log').where({code}).count({n: '*'}).first())!.n)

  before(async () => {
    t = await freshDatabase({dialect})
    box = new Sandbox({databaseUrl: t.url, settings: DASHBOARD_SETTINGS})
    dashboard = await startDashboard(box.env({MANAGE_DASHBOARD_TOKEN: TOKEN}) as Record<string, string>)
  })
  after(async () => {
    await dashboard?.stop()
    box?.remove()
    await t?.close()
  })

  it('six at once: one run (200 or 202), five refused (409) naming where it runs, one run row', async () => {
    // The job waits until released: released once five answers are in, so no second run could slip in after the first.
    let answered = 0
    const all = await Promise.all(
      Array.from({length: 6}, () =>
        run('dash.slow').then((answer) => {
          if (++answered === 5) writeFileSync(box.file('slow.release'), '')
          return answer
        }),
      ),
    )
    expect(all.filter((answer) => answer.status === 409), JSON.stringify(all)).to.have.length(5)
    expect(all.filter((answer) => answer.status === 200 || answer.status === 202)).to.have.length(1)
    for (const answer of all.filter((a) => a.status === 409)) expect(JSON.parse(answer.body).message).to.match(/^dash\.slow is already being run from this dashboard: not started again$|^dash\.slow is already running \(run \d+ on .+, pid \d+\): not started again$/)
    // A 202 answers before the child has written its running row: wait for the run to end (its row
    // finished), then there is exactly one.
    const deadline = Date.now() + 15_000
    const finished = async () => Number((await t.db('cron_job_log').where({code: 'dash.slow'}).whereNot({status: 'running'}).count({n: '*'}).first())!.n)
    while ((await finished()) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await count('dash.slow')).to.equal(1)
    expect(readFileSync(box.file('slow.started'), 'utf8').trim().split('\n')).to.have.length(1)
  })

  // The environment does not depend on the database: once.
  if (dialect === 'sqlite') it('the job it starts gets no dashboard secret in its environment (MANAGE_DASHBOARD_TOKEN)', async () => {
    const env = await run('dash.env')
    expect(env.status).to.equal(200)
    expect(JSON.parse(env.body).message).to.match(/^run \d+ succeeded: token in the environment: \(none\)$/)
    expect((await t.db('cron_job_log').where({code: 'dash.env'}).pluck('message')).join('\n')).not.to.include(TOKEN)
  })
})
