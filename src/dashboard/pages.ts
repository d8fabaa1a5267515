import type {RunnerRow} from '../core/run-log/server-ticks'
import {isSilent} from '../core/alerts/silence'
import {firstLine} from '../core/base/text'
import {startedLateNote} from '../core/schedule/describe'
import {LAG_WARN_MS} from '../core/runners/loop-lag'
import {luxon} from '../core/time/luxon'
import {durationChart, timeline} from './chart'
import type {ActionRow, JobView, RunFilter} from './data'
import {actionForm, csrfField, duration, esc, layout, query, statusBadge, type PageContext} from './html'
import type {RunRow, SkippedPeriod} from '../core/contract/run-types'

/** The dashboard's pages, made on the server from what data.ts reads. */

export function when(ms: number | null | undefined, zone: string): string {
  if (ms === null || ms === undefined) return ''
  return luxon().DateTime.fromMillis(ms, {zone}).toFormat('yyyy-MM-dd HH:mm:ss')
}


const SORTS: Record<string, (a: JobView, b: JobView) => number> = {
  code: (a, b) => a.code.localeCompare(b.code),
  last: (a, b) => (b.lastRun?.startMs ?? 0) - (a.lastRun?.startMs ?? 0),
  next: (a, b) => (a.nextDueMs ?? Infinity) - (b.nextDueMs ?? Infinity),
  failing: (a, b) => b.failingStreak - a.failingStreak,
}

export function jobsPage(context: PageContext, jobs: readonly JobView[], options: {q: string; sort: string; zone: string}): string {
  const q = options.q.toLowerCase()
  const shown = jobs.filter((job) => !q || `${job.code} ${job.className} ${job.schedule}`.toLowerCase().includes(q))
  const sorted = [...shown].sort(SORTS[options.sort] ?? SORTS.code)
  const head = (key: string, label: string) => `<th><a href="/${query({q: options.q, sort: key})}">${esc(label)}${options.sort === key ? ' ▾' : ''}</a></th>`
  const rows = sorted.map((job) => {
    const last = job.lastRun ? `${statusBadge(job.lastRun.status)} ${esc(when(job.lastRun.startMs, options.zone))} <span class="muted">${esc(duration(job.lastRun.durationMs))}</span>` : '<span class="muted">never</span>'
    const running = job.runningNow ? `${esc(job.runningNow.host ?? '?')} pid ${esc(job.runningNow.pid ?? '?')} since ${esc(when(job.runningNow.sinceMs, options.zone))}` : ''
    const paused = job.paused ? `<span class="badge">paused</span> by ${esc(job.paused.by ?? '?')} since ${esc(when(job.paused.sinceMs, options.zone))}${job.pauseNote ? `: ${esc(job.pauseNote)}` : ''}` : ''
    return (
      `<tr data-code="${esc(job.code)}"><td><a href="/jobs/${encodeURIComponent(job.code)}">${esc(job.code)}</a><div class="muted">${esc(job.className)}</div></td>` +
      `<td>${esc(job.schedule)}</td><td>${last}</td><td>${job.paused ? '' : esc(when(job.nextDueMs, options.zone))}</td><td>${running}</td><td>${paused}</td>` +
      `<td>${job.failingStreak > 0 ? `<span class="status status-failed">${job.failingStreak}${job.failingStreak >= 50 ? '+' : ''} failing</span>` : ''}</td></tr>`
    )
  })
  const filter = `<form class="filters" method="get" action="/"><input type="search" name="q" value="${esc(options.q)}" placeholder="Filter by code, class or schedule" aria-label="Filter"><input type="hidden" name="sort" value="${esc(options.sort)}"><button type="submit">Filter</button></form>`
  const table = `<table id="jobs"><thead><tr>${head('code', 'Job')}<th>Schedule</th>${head('last', 'Last run')}${head('next', 'Next due')}<th>Running now</th><th>Paused</th>${head('failing', 'Failing')}</tr></thead><tbody>${rows.join('')}</tbody></table>`
  return layout(context, `<h1>Jobs <span class="muted">(${sorted.length} of ${jobs.length}; times in ${esc(options.zone)})</span></h1>${filter}${table}`)
}

export interface JobPageData {
  job: JobView
  upcoming: number[]
  recent: RunRow[]
  chart: RunRow[]
  timeline: RunRow[]
  actions: ActionRow[]
  /** The latest periods its ledger records as skipped (a catch-up or overlap policy's), newest first. */
  skips: SkippedPeriod[]
  nowMs: number
}

export function jobPage(context: PageContext, data: JobPageData, zone: string): string {
  const {job} = data
  const path = `/jobs/${encodeURIComponent(job.code)}`
  const readOnly = context.user?.readOnly ?? true
  const actions = readOnly
    ? '<p class="muted">Read-only: no actions.</p>'
    : `<div class="actions">${actionForm(`${path}/run`, 'Run now', context.csrf)}` +
      (job.paused
        ? actionForm(`${path}/resume`, 'Resume', context.csrf)
        : actionForm(`${path}/pause`, 'Pause', context.csrf, '<input name="note" placeholder="Why (a note)" aria-label="Pause note" maxlength="500"> ')) +
      `${actionForm(`${path}/unlock`, 'Unlock', context.csrf)}</div>`
  const facts = [
    ['Class', esc(job.className)],
    ['Schedule', esc(job.schedule)],
    ['Running now', job.runningNow ? `${esc(job.runningNow.host ?? '?')} pid ${esc(job.runningNow.pid ?? '?')} since ${esc(when(job.runningNow.sinceMs, zone))}` : 'no'],
    ['Paused', job.paused ? `by ${esc(job.paused.by ?? '?')} since ${esc(when(job.paused.sinceMs, zone))}${job.pauseNote ? `: ${esc(job.pauseNote)}` : ''}` : 'no'],
    ['Failing streak', String(job.failingStreak)],
  ]
  const upcoming = data.upcoming.length ? `<ol>${data.upcoming.map((ms) => `<li>${esc(when(ms, zone))}</li>`).join('')}</ol>` : '<p class="muted">none (paused, or not due within 400 days)</p>'
  const body =
    `<h1>${esc(job.code)}</h1>${actions}<table class="facts">${facts.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>` +
    `<div class="columns"><section><h2>Upcoming runs</h2>${upcoming}</section><section><h2>Recent runs</h2>${runsTable(data.recent, zone)}<p><a href="${path}/runs">The whole history, with filters</a></p></section></div>` +
    `<h2>Durations (the last ${data.chart.length} finished runs; failures in red, deploys dashed)</h2>${durationChart(data.chart)}` +
    `<h2>The last 3 days (UTC)</h2>${timeline(data.timeline, data.nowMs)}` +
    (data.skips.length > 0 ? `<h2>Skipped periods (its policies; each period has one record)</h2>${skipsTable(data.skips, zone)}` : '') +
    `<h2>Done by hand</h2>${actionsTable(data.actions, zone)}`
  const running = job.runningNow !== null
  return layout({...context, refreshSeconds: running ? 5 : 30}, body)
}

export function runsPage(context: PageContext, code: string, runs: readonly RunRow[], filter: RunFilter & {from?: string; to?: string}, zone: string, pageSize: number): string {
  const path = `/jobs/${encodeURIComponent(code)}/runs`
  const statuses = ['', 'succeeded', 'failed', 'timed_out', 'interrupted', 'cancelled', 'running']
  const form =
    `<form class="filters" method="get" action="${esc(path)}"><select name="status" aria-label="Status">${statuses.map((s) => `<option value="${s}"${filter.status === s ? ' selected' : ''}>${s || 'any status'}</option>`).join('')}</select>` +
    `<input type="date" name="from" value="${esc(filter.from ?? '')}" aria-label="From"><input type="date" name="to" value="${esc(filter.to ?? '')}" aria-label="To">` +
    `<input type="search" name="q" value="${esc(filter.text ?? '')}" placeholder="Text in the message" aria-label="Text"><button type="submit">Filter</button></form>`
  const last = runs[runs.length - 1]
  const more = runs.length === pageSize && last ? `<p><a rel="next" href="${esc(path + query({status: filter.status, from: filter.from, to: filter.to, q: filter.text, before: last.id}))}">Older runs</a></p>` : ''
  return layout(context, `<h1><a href="/jobs/${encodeURIComponent(code)}">${esc(code)}</a>: history</h1>${form}${runsTable(runs, zone)}${more}`)
}

export function runPage(context: PageContext, run: RunRow, zone: string): string {
  const facts: Array<[string, string]> = [
    ['Job', `<a href="/jobs/${encodeURIComponent(run.code)}">${esc(run.code)}</a>`],
    ['Status', `${statusBadge(run.status)}${run.leaseOverrun ? ' <span class="badge">finished after its lease ran out</span>' : ''}`],
    ['Slot', esc(run.ranAtTime ?? '')],
    ['Host', esc(run.host ?? '?')],
    ['Pid', esc(run.pid ?? '?')],
    ['Start', esc(when(run.startMs, zone))],
    ['End', esc(when(run.endMs, zone))],
    ['Duration', esc(duration(run.endMs === null ? null : run.endMs - run.startMs))],
    ...(run.startedLateMs === null ? [] : [['Started late', `<span id="started-late">${esc(startedLateNote(run.startedLateMs, run.lateReason))}</span>`] as [string, string]]),
    ['Lease until', esc(when(run.leaseExpiresMs, zone))],
    ['Version', run.version === null ? '<span class="muted">unknown</span>' : `<code id="version">${esc(run.version)}</code>`],
  ]
  const message = run.message ? `<h2>Message</h2><pre id="message">${esc(run.message)}</pre>` : '<p class="muted">No message.</p>'
  return layout(context, `<h1>Run ${run.id}</h1><table class="facts">${facts.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>${message}`)
}

export function runnersPage(context: PageContext, ticks: readonly RunnerRow[], nowMs: number, silentAfterMs: number, zone: string): string {
  const rows = ticks.map((tick) => {
    const silent = isSilent(tick.atMs, nowMs, silentAfterMs)
    const state = silent ? '<span class="status status-failed">silent</span>' : '<span class="status status-succeeded">ticking</span>'
    return `<tr><td>${esc(tick.host)}</td><td>${esc(tick.kind)}</td><td>${esc(tick.version ?? '')}</td><td>${esc(when(tick.sinceMs, zone))}</td><td>${esc(when(tick.atMs, zone))}</td><td>${lagCell(tick.lag)}</td><td>${state}</td></tr>`
  })
  const head = '<tr><th>Host</th><th>Kind</th><th>Version</th><th>Since</th><th>Last tick</th><th title="A scheduler\'s worst event-loop lag between its last two heartbeats, while jobs ran in its process">Lag</th><th>State</th></tr>'
  const table = ticks.length ? `<table id="runners"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>` : '<p class="muted">No tick recorded yet: each crontab tick (and each resident scheduler) records its runner here.</p>'
  return layout({...context, refreshSeconds: 30}, `<h1>Runners</h1>${table}`)
}

/** A scheduler's lag (manage runners' LAG): past LAG_WARN_MS, marked, with the jobs that ran in its process and the advice. */
function lagCell(lag: RunnerRow['lag']): string {
  if (lag === null) return ''
  if (lag.lagMs < LAG_WARN_MS) return esc(duration(lag.lagMs))
  const jobs = lag.codes.join(', ')
  return `<span class="status status-failed" title="${esc(`its event loop was blocked while ${jobs} ran in its process: give the one that computes isolate = true`)}">${esc(duration(lag.lagMs))}</span> ${esc(jobs)}`
}

export function signInPage(error: string | null, nextPath: string): string {
  return layout(
    {title: 'Sign in', user: null, csrf: null},
    `<form class="signin" method="post" action="/signin"><h1>Sign in</h1>${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}` +
      `<input type="hidden" name="next" value="${esc(nextPath)}">` +
      '<label for="name">User (empty for the token)</label><input id="name" name="name" autocomplete="username">' +
      '<label for="password">Password or token</label><input id="password" name="password" type="password" autocomplete="current-password" required>' +
      '<button type="submit">Sign in</button></form>',
  )
}

export function errorPage(context: PageContext, status: number, message: string): string {
  return layout({...context, title: String(status)}, `<h1>${status}</h1><p>${esc(message)}</p>`)
}

function runsTable(runs: readonly RunRow[], zone: string): string {
  if (runs.length === 0) return '<p class="muted">No runs.</p>'
  const rows = runs.map(
    (run) =>
      `<tr><td><a href="/runs/${run.id}">${run.id}</a></td><td>${statusBadge(run.status)}</td><td>${esc(when(run.startMs, zone))}</td><td>${esc(duration(run.endMs === null ? null : run.endMs - run.startMs))}</td><td>${esc(run.host ?? '')}</td><td>${esc(firstLine(run.message))}</td></tr>`,
  )
  return `<table class="runs"><thead><tr><th>Run</th><th>Status</th><th>Start</th><th>Duration</th><th>Host</th><th>Message</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

function skipsTable(skips: readonly SkippedPeriod[], zone: string): string {
  const rows = skips.map((skip) => `<tr><td>${esc(when(skip.periodMs, zone))}</td><td>${esc(skip.reason)}</td><td>${esc(when(skip.recordedMs, zone))}${skip.host ? ` on ${esc(skip.host)}` : ''}</td></tr>`)
  return `<table class="skips"><thead><tr><th>Period</th><th>Why it was skipped</th><th>Recorded</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

function actionsTable(actions: readonly ActionRow[], zone: string): string {
  if (actions.length === 0) return '<p class="muted">Nothing yet.</p>'
  const rows = actions.map((a) => `<tr><td>${esc(when(a.atMs, zone))}</td><td>${esc(a.by)}</td><td>${esc(a.action)}</td><td>${esc(a.note ?? '')}</td><td>${esc(a.outcome ?? '')}</td></tr>`)
  return `<table class="actions-log"><thead><tr><th>When</th><th>Who</th><th>What</th><th>Note</th><th>Outcome</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

export {csrfField}
