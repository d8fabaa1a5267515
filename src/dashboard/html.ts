import {formatDuration} from '../core/time/format'

/** HTML made on the server: every value goes through `esc`; pages are plain strings. */

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]!)
}

/** A run's duration as the pages and charts show it ('' for none): as the CLI does. */
export function duration(ms: number | null): string {
  return ms === null ? '' : formatDuration(ms)
}

/** A query string from the values that are set. */
export function query(values: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(values)) if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  const text = params.toString()
  return text ? `?${text}` : ''
}

export interface PageContext {
  title: string
  /** Signed in as, and read-only (actions hidden; the server refuses them anyway). */
  user: {name: string; readOnly: boolean} | null
  csrf: string | null
  /** A message from the last action (shown once). */
  flash?: string | null
  /** Reload every this many seconds (a list that refreshes on its own). */
  refreshSeconds?: number
}

export function layout(context: PageContext, body: string): string {
  const {user} = context
  const nav = user
    ? `<nav><a href="/">Jobs</a> <a href="/runners">Runners</a><span class="who">${esc(user.name)}${user.readOnly ? ' <span class="badge">read-only</span>' : ''}</span>` +
      `<form method="post" action="/signout" class="inline">${csrfField(context.csrf)}<button type="submit">Sign out</button></form></nav>`
    : ''
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    (context.refreshSeconds ? `<meta http-equiv="refresh" content="${context.refreshSeconds}">` : '') +
    `<title>${esc(context.title)} · manage</title><link rel="stylesheet" href="/static/dashboard.css"></head>` +
    `<body><header><a class="brand" href="/">manage</a>${nav}</header><main>` +
    (context.flash ? `<p class="flash" role="status">${esc(context.flash)}</p>` : '') +
    `${body}</main></body></html>`
  )
}

export function csrfField(csrf: string | null): string {
  return csrf ? `<input type="hidden" name="csrf" value="${esc(csrf)}">` : ''
}

/** A small form that POSTs one action (with the CSRF token). */
export function actionForm(action: string, label: string, csrf: string | null, extra = ''): string {
  return `<form method="post" action="${esc(action)}" class="inline">${csrfField(csrf)}${extra}<button type="submit">${esc(label)}</button></form>`
}

export function statusBadge(status: string): string {
  return `<span class="status status-${esc(status)}">${esc(status.replace('_', ' '))}</span>`
}

export const DASHBOARD_CSS = `
:root { font-family: system-ui, sans-serif; color: #1d2330; background: #f6f7f9; }
body { margin: 0; }
header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.2rem; background: #1d2330; color: #fff; }
header a { color: #fff; text-decoration: none; margin-right: 1rem; }
header .brand { font-weight: 700; }
header nav { display: flex; align-items: center; flex: 1; }
header .who { margin-left: auto; margin-right: .8rem; opacity: .85; }
main { padding: 1rem 1.2rem; max-width: 1400px; }
h1 { font-size: 1.4rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e6eb; vertical-align: top; font-size: .92rem; }
th a { color: inherit; }
.status { padding: .05rem .4rem; border-radius: .3rem; font-size: .8rem; white-space: nowrap; }
.status-succeeded { background: #dff3e4; color: #1e6b34; }
.status-failed, .status-timed_out, .status-interrupted { background: #fbe1e1; color: #9b1c1c; }
.status-cancelled { background: #eceff3; color: #46505c; }
.status-running { background: #e1ecfb; color: #1c4a9b; }
.badge { background: #f3e9c8; color: #6b531e; padding: .05rem .4rem; border-radius: .3rem; font-size: .8rem; }
.flash { background: #e1ecfb; padding: .5rem .8rem; border-radius: .3rem; }
.inline { display: inline; }
.actions form, .actions { margin-right: .5rem; }
.columns { display: grid; grid-template-columns: 1fr 2fr; gap: 1.2rem; }
.filters input, .filters select { margin-right: .4rem; }
pre { background: #fff; border: 1px solid #e3e6eb; padding: .8rem; overflow-x: auto; white-space: pre-wrap; }
svg { background: #fff; border: 1px solid #e3e6eb; max-width: 100%; }
.signin { max-width: 22rem; margin: 4rem auto; background: #fff; padding: 1.5rem; border: 1px solid #e3e6eb; }
.signin label { display: block; margin: .6rem 0 .2rem; }
.signin input { width: 100%; box-sizing: border-box; padding: .4rem; }
.signin button { margin-top: 1rem; }
.error { color: #9b1c1c; }
.muted { color: #6b7280; }
`
