import type http from 'node:http'
import {isRunStatus, type RunRow, type RunStatus} from '../core/contract/run-types'
import type {Settings} from '../core/project/settings'
import {cleanNote} from '../core/operate/action-log'
import {shown} from '../core/base/text'
import {systemClock, type Clock} from '../core/time/clock'
import {isoTime} from '../core/time/format'
import {luxon} from '../core/time/luxon'
import type {ActionResult, DashboardActions} from './actions'
import type {DashboardAuth} from '../core/project/dashboard-settings'
import {byToken, Sessions, signIn, SignInLimiter, type Identity, type LimitKey} from './auth'
import type {DashboardData, JobView} from './data'
import {DASHBOARD_CSS, type PageContext} from './html'
import {errorPage, jobPage, jobsPage, runnersPage, runPage, runsPage, signInPage} from './pages'
import {TrustedProxies} from './proxy'
import {cookieOf, escaped, headerOf, HttpError, requestOf, safeNext, segment, send, type Reply, type Request} from './request'

export interface DashboardOptions {
  data: DashboardData
  actions: DashboardActions
  auth: DashboardAuth
  settings: Settings
  /** Refuse every action, whoever asks (--read-only). */
  readOnly: boolean
  clock: Clock
  /** The real time, for the sign-in limit's window (MANAGE_NOW pins `clock`); default the system's. */
  realClock?: Clock
  /** The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (the settings' dashboard.trustProxy); default none. */
  proxies?: TrustedProxies
  /** One line per request (method, path, status, ms): never a header, a cookie or a body. */
  log?(line: string): void
}

const COOKIE = 'manage_session'
/** Failed sign-ins allowed in the limiter's window (5 minutes): per client address, and per user name from all clients together. */
const SIGN_IN_LIMIT = {perClient: 10, perName: 100}
const PAGE_SIZE = 50
const ACTIONS = new Set(['run', 'pause', 'resume', 'unlock'])

interface State {
  sessions: Sessions
  limiter: SignInLimiter
  proxies: TrustedProxies
}

/**
 * The dashboard over node:http: pages made on the server, the same data as JSON under /api, and the
 * actions. Every request but the sign-in page needs an identity (a session cookie or the bearer
 * token); a state-changing request made with the cookie needs its CSRF token.
 */
export function dashboardHandler(options: DashboardOptions): http.RequestListener {
  const state: State = {sessions: new Sessions(), limiter: new SignInLimiter(), proxies: options.proxies ?? new TrustedProxies(null)}
  return (incoming, response) => {
    // Whatever a request holds, nothing may escape from here (an exception, a rejection): one
    // client's malformed request must not end the server everyone else uses.
    serve(options, state, incoming, response).catch((error: unknown) => {
      options.log?.(`error answering a ${incoming.method ?? '?'} request: ${escaped(error instanceof Error ? error.message : String(error))}; connection closed`)
      response.destroy()
    })
  }
}

async function serve(options: DashboardOptions, state: State, incoming: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const started = Date.now()
  const request = requestOf(incoming, state.proxies)
  const label = `${incoming.method ?? '?'} ${request?.path ?? '(a malformed URL)'}`
  let reply: Reply
  if (request === null) reply = {status: 400, type: 'html', body: errorPage({title: '400', user: null, csrf: null}, 400, 'the request\'s URL is malformed')}
  else {
    reply = await route(options, state, request).catch((error: unknown): Reply => {
      const status = error instanceof HttpError ? error.status : 500
      const message = error instanceof HttpError ? error.message : 'the dashboard failed to answer (see its log)'
      if (!(error instanceof HttpError)) options.log?.(`error ${label}: ${escaped(error instanceof Error ? error.message : String(error))}`)
      const answer: Reply = request.path.startsWith('/api/') ? json(status, {error: message}) : {status, type: 'html', body: errorPage({title: String(status), user: null, csrf: null}, status, message)}
      return {...answer, close: status === 413}
    })
  }
  if (send(incoming, response, reply)) options.log?.(`${label} ${reply.status} ${Date.now() - started} ms`)
  else options.log?.(`error answering ${label}: its answer could not be written (${reply.status}); connection closed`)
}

async function route(options: DashboardOptions, state: State, request: Request): Promise<Reply> {
  const {method, path} = request
  const {sessions} = state
  if (path === '/static/dashboard.css') return {status: 200, type: 'css', body: DASHBOARD_CSS}
  if (path === '/signin' && method === 'GET') return html(200, signInPage(null, safeNext(request.params.get('next'))))
  if (path === '/signin' && method === 'POST') return signInPost(options, state, request)

  const cookie = cookieOf(request.headers.cookie, COOKIE)
  const session = sessions.get(cookie, options.clock())
  const identity: Identity | null = byToken(options.auth, request.headers.authorization) ?? session?.identity ?? null
  const api = path.startsWith('/api/')
  if (!identity) {
    if (api) return json(401, {error: 'sign in: send Authorization: Bearer <token>'})
    if (method === 'GET') return {status: 303, type: 'html', body: '', headers: {location: `/signin?next=${encodeURIComponent(path + (request.params.size ? `?${request.params}` : ''))}`}}
    throw new HttpError(401, 'sign in first')
  }
  const context: PageContext = {title: 'manage', user: {name: identity.name, readOnly: identity.readOnly || options.readOnly === true}, csrf: session?.csrf ?? null, flash: session ? takeFlash(session) : null}

  if (method === 'POST') {
    const body = await request.body()
    // A browser's request carries the session's CSRF token (a form field, or a header for scripts); the bearer token needs none.
    if (identity.via === 'session' && !(session && sessions.csrfMatches(session, body.csrf ?? headerOf(request.headers['x-csrf-token'])))) {
      throw new HttpError(403, 'the form is out of date or came from another site (no valid CSRF token): reload the page and try again')
    }
    if (path === '/signout') {
      sessions.close(cookie)
      return {status: 303, type: 'html', body: '', headers: {location: '/signin', 'set-cookie': `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`}}
    }
    const match = /^\/(api\/)?jobs\/([^/]+)\/([a-z]+)$/.exec(path)
    if (!match || !ACTIONS.has(match[3])) throw new HttpError(404, 'no such action')
    const code = segment(match[2])
    knownJob(options, code)
    if (identity.readOnly || options.readOnly) throw new HttpError(403, options.readOnly ? 'the dashboard is read-only (--read-only)' : `${identity.name} is a read-only user`)
    const result = await act(options, match[3], code, identity, body.note)
    if (match[1]) return json(result.status, result)
    if (session) (session as {flash?: string}).flash = result.message
    return {status: 303, type: 'html', body: '', headers: {location: `/jobs/${encodeURIComponent(code)}`}}
  }
  if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `${method} is not allowed here`)
  return api ? apiGet(options, request) : pageGet(options, request, context)
}

async function pageGet(options: DashboardOptions, request: Request, context: PageContext): Promise<Reply> {
  const {path, params} = request
  const zone = options.settings.timeZone
  const now = options.clock()
  if (path === '/') return html(200, jobsPage({...context, title: 'Jobs', refreshSeconds: 30}, await options.data.jobs(now), {q: params.get('q') ?? '', sort: params.get('sort') ?? 'code', zone}))
  if (path === '/runners') return html(200, runnersPage({...context, title: 'Runners'}, await options.data.runners(), now, options.settings.alerts.silentAfterMs, zone))
  let match = /^\/jobs\/([^/]+)$/.exec(path)
  if (match) {
    const code = segment(match[1])
    const job = await options.data.job(code, now)
    if (!job) throw new HttpError(404, `no job ${shown(code)} in the settings' crons`)
    return html(200, jobPage({...context, title: job.job.code}, {...job, nowMs: now}, zone))
  }
  match = /^\/jobs\/([^/]+)\/runs$/.exec(path)
  if (match) {
    const code = segment(match[1])
    knownJob(options, code)
    const filter = runFilter(params, zone)
    return html(200, runsPage({...context, title: `${code}: history`}, code, await options.data.runs(code, filter), {...filter, from: params.get('from') ?? undefined, to: params.get('to') ?? undefined}, zone, filter.limit))
  }
  match = /^\/runs\/(\d+)$/.exec(path)
  if (match) {
    const run = await options.data.run(Number(match[1]))
    if (!run) throw new HttpError(404, `no run ${match[1]}`)
    return html(200, runPage({...context, title: `Run ${run.id}`}, run, zone))
  }
  throw new HttpError(404, 'no such page')
}

async function apiGet(options: DashboardOptions, request: Request): Promise<Reply> {
  const {path, params} = request
  const now = options.clock()
  if (path === '/api/jobs') return json(200, (await options.data.jobs(now)).map(jobJson))
  if (path === '/api/runners') return json(200, (await options.data.runners()).map((tick) => ({host: tick.host, kind: tick.kind, pid: tick.pid, version: tick.version, since: isoTime(tick.sinceMs), lastTickAt: isoTime(tick.atMs), lagMs: tick.lag?.lagMs ?? null, lagJobs: tick.lag?.codes ?? null})))
  let match = /^\/api\/jobs\/([^/]+)$/.exec(path)
  if (match) {
    const code = segment(match[1])
    const job = await options.data.job(code, now)
    if (!job) throw new HttpError(404, `no job ${shown(code)} in the settings' crons`)
    return json(200, {...jobJson(job.job), upcoming: job.upcoming.map(isoTime), recentRuns: job.recent.map(runJson), skippedPeriods: job.skips.map((skip) => ({period: isoTime(skip.periodMs), reason: skip.reason, recordedAt: isoTime(skip.recordedMs), host: skip.host})), actions: job.actions.map((a) => ({...a, atMs: undefined, at: isoTime(a.atMs)}))})
  }
  match = /^\/api\/jobs\/([^/]+)\/runs$/.exec(path)
  if (match) {
    const code = segment(match[1])
    knownJob(options, code)
    const filter = runFilter(params, options.settings.timeZone)
    const runs = await options.data.runs(code, filter)
    return json(200, {runs: runs.map(runJson), nextBefore: runs.length > 0 && runs.length === filter.limit ? runs[runs.length - 1].id : null})
  }
  match = /^\/api\/runs\/(\d+)$/.exec(path)
  if (match) {
    const run = await options.data.run(Number(match[1]))
    if (!run) throw new HttpError(404, `no run ${match[1]}`)
    return json(200, runJson(run))
  }
  throw new HttpError(404, 'no such API route')
}

async function signInPost(options: DashboardOptions, state: State, request: Request): Promise<Reply> {
  const body = await request.body()
  const name = body.name ?? ''
  const user = options.auth.users.find((candidate) => candidate.name === name)
  // Only a configured user's name is written to the log: what else is typed there may be a password or the token.
  const who = name === '' ? 'the token' : user ? shown(user.name) : 'an unknown name'
  const from = request.client.address
  // Counted before the password is checked: however many arrive together, at most the limit are checked.
  const keys: LimitKey[] = [{key: `client ${from}`, limit: SIGN_IN_LIMIT.perClient}]
  if (name === '' || user) keys.push({key: `name ${name}`, limit: SIGN_IN_LIMIT.perName})
  const reservation = state.limiter.reserve(keys, (options.realClock ?? systemClock)())
  if (!reservation) {
    options.log?.(`sign-in refused for ${who} from ${from}: too many failures (rate limit)`)
    return html(429, signInPage('Too many failed sign-ins from this address or for this user: wait a few minutes.', safeNext(body.next)))
  }
  const identity = signIn(options.auth, name, body.password ?? '')
  if (!identity) {
    options.log?.(`sign-in refused for ${who} from ${from}`)
    return html(401, signInPage('Wrong user or password.', safeNext(body.next)))
  }
  reservation.release()
  const {id} = state.sessions.open(identity, options.clock())
  // Secure only when a trusted proxy says the browser came over HTTPS (anyone else's X-Forwarded-Proto proves nothing).
  const secure = request.client.https ? '; Secure' : ''
  return {status: 303, type: 'html', body: '', headers: {location: safeNext(body.next), 'set-cookie': `${COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/${secure}`}}
}

function act(options: DashboardOptions, action: string, code: string, who: Identity, note: string | undefined): Promise<ActionResult> {
  if (action === 'run') return options.actions.runNow(code, who)
  if (action === 'pause') return options.actions.pause(code, who, cleanNote(note))
  if (action === 'resume') return options.actions.resume(code, who)
  return options.actions.unlock(code, who)
}

function knownJob(options: DashboardOptions, code: string): void {
  if (!options.data.codes().has(code)) throw new HttpError(404, `no job '${code}' in the settings' crons`)
}

function runFilter(params: URLSearchParams, zone: string) {
  const status = params.get('status') ?? ''
  if (status && !isRunStatus(status)) throw new HttpError(400, `status '${status}' is not a run status: use succeeded, failed, timed_out, interrupted, cancelled or running`)
  const limit = Number(params.get('limit') ?? PAGE_SIZE)
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new HttpError(400, `limit '${params.get('limit')}' is not a whole number from 1 to 500`)
  const before = params.get('before')
  if (before !== null && !/^\d+$/.test(before)) throw new HttpError(400, `before '${before}' is not a run id`)
  return {status: (status || undefined) as RunStatus | undefined, fromMs: day(params.get('from'), zone, 0), toMs: day(params.get('to'), zone, 1), text: params.get('q') || undefined, before: before === null ? undefined : Number(before), limit}
}

/** A date (YYYY-MM-DD, in the zone) as the start of that day (or of the next, for an inclusive end). */
function day(text: string | null, zone: string, after: number): number | undefined {
  if (!text) return undefined
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) throw new HttpError(400, `'${text}' is not a date: use YYYY-MM-DD`)
  const start = luxon().DateTime.fromISO(text, {zone})
  if (!start.isValid) throw new HttpError(400, `'${text}' is not a date: use YYYY-MM-DD`)
  return start.plus({days: after}).toMillis() - after
}

function jobJson(job: JobView) {
  return {
    code: job.code,
    className: job.className,
    schedule: job.schedule,
    lastRun: job.lastRun && {status: job.lastRun.status, startTime: isoTime(job.lastRun.startMs), endTime: isoTime(job.lastRun.endMs), durationMs: job.lastRun.durationMs},
    nextDue: isoTime(job.nextDueMs),
    runningNow: job.runningNow && {host: job.runningNow.host, pid: job.runningNow.pid, since: isoTime(job.runningNow.sinceMs)},
    paused: job.paused && {since: isoTime(job.paused.sinceMs), by: job.paused.by, note: job.pauseNote},
    failingStreak: job.failingStreak,
  }
}

function runJson(run: RunRow) {
  return {id: run.id, code: run.code, status: run.status, startTime: isoTime(run.startMs), endTime: isoTime(run.endMs), durationMs: run.endMs === null ? null : run.endMs - run.startMs, slot: run.ranAtTime, host: run.host, pid: run.pid, leaseExpiresAt: isoTime(run.leaseExpiresMs), version: run.version, startedLateMs: run.startedLateMs, lateReason: run.lateReason, message: run.message}
}

function html(status: number, body: string): Reply {
  return {status, type: 'html', body}
}

function json(status: number, value: unknown): Reply {
  return {status, type: 'json', body: JSON.stringify(value)}
}

function takeFlash(session: object): string | null {
  const holder = session as {flash?: string}
  const flash = holder.flash ?? null
  delete holder.flash
  return flash
}
