import {isFailedStatus, type RunRow} from '../core/contract/run-types'
import {isoTime} from '../core/time/format'
import {DAY_MS} from '../core/time/units'
import {duration, esc} from './html'

/** Charts drawn on the server as SVG: no chart library, no script, nothing for the CSP to allow. */

/** Run durations over time, oldest left; failures are red dots, successes a line of blue dots; a dashed line where the code's version changed (a deploy mark). */
export function durationChart(runs: readonly RunRow[], width = 900, height = 220): string {
  const points = runs.filter((run) => run.endMs !== null).map((run) => ({run, ms: run.endMs! - run.startMs}))
  const pad = {left: 56, right: 12, top: 12, bottom: 28}
  const svg = (inner: string) => `<svg class="chart" role="img" aria-label="Run durations" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${inner}</svg>`
  if (points.length === 0) return svg(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle" fill="#6b7280">no finished runs yet</text>`)
  const t0 = points[0].run.startMs
  const t1 = Math.max(points[points.length - 1].run.startMs, t0 + 1)
  const maxMs = Math.max(...points.map((p) => p.ms), 1)
  const x = (ms: number) => pad.left + ((ms - t0) / (t1 - t0)) * (width - pad.left - pad.right)
  const y = (ms: number) => height - pad.bottom - (ms / maxMs) * (height - pad.top - pad.bottom)
  const ok = points.filter((p) => !isFailedStatus(p.run.status))
  const line = ok.length > 1 ? `<polyline fill="none" stroke="#7aa2e3" stroke-width="1.5" points="${ok.map((p) => `${x(p.run.startMs).toFixed(1)},${y(p.ms).toFixed(1)}`).join(' ')}"/>` : ''
  const dots = points
    .map((p) => {
      const failed = isFailedStatus(p.run.status)
      return `<circle class="${failed ? 'failed' : 'ok'}" cx="${x(p.run.startMs).toFixed(1)}" cy="${y(p.ms).toFixed(1)}" r="${failed ? 4 : 2.5}" fill="${failed ? '#d03030' : '#2f6fd0'}"><title>run ${p.run.id} ${esc(p.run.status)}: ${duration(p.ms)} at ${isoTime(p.run.startMs)}</title></circle>`
    })
    .join('')
  const axis =
    `<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#c5cad3"/>` +
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#c5cad3"/>` +
    `<text x="${pad.left - 6}" y="${pad.top + 10}" text-anchor="end" font-size="11" fill="#6b7280">${duration(maxMs)}</text>` +
    `<text x="${pad.left - 6}" y="${height - pad.bottom}" text-anchor="end" font-size="11" fill="#6b7280">0</text>` +
    `<text x="${pad.left}" y="${height - 8}" font-size="11" fill="#6b7280">${new Date(t0).toISOString().slice(0, 16).replace('T', ' ')}</text>` +
    `<text x="${width - pad.right}" y="${height - 8}" text-anchor="end" font-size="11" fill="#6b7280">${new Date(t1).toISOString().slice(0, 16).replace('T', ' ')}</text>`
  return svg(axis + deployMarks(points.map((p) => p.run), x, pad.top, height - pad.bottom) + line + dots)
}

/**
 * The runs (oldest first) whose code's version differs from the last one known before them: a
 * deploy. Runs of unknown version are skipped over (they neither mark nor break a version's run).
 */
export function deploys(runs: readonly RunRow[]): RunRow[] {
  const marked: RunRow[] = []
  let last: string | null = null
  for (const run of runs) {
    if (run.version === null) continue
    if (last !== null && run.version !== last) marked.push(run)
    last = run.version
  }
  return marked
}

/** A dashed line at each deploy, with the new version over it (whole in its tooltip). */
function deployMarks(runs: readonly RunRow[], x: (ms: number) => number, top: number, bottom: number): string {
  return deploys(runs)
    .map((run) => {
      const at = x(run.startMs).toFixed(1)
      const label = run.version!.length > 20 ? `${run.version!.slice(0, 19)}…` : run.version!
      return (
        `<g class="deploy"><title>deploy: ${esc(run.version!)} from run ${run.id} at ${isoTime(run.startMs)}</title>` +
        `<line x1="${at}" y1="${top}" x2="${at}" y2="${bottom}" stroke="#8a63d2" stroke-width="1" stroke-dasharray="4 3"/>` +
        `<text x="${at}" y="${top + 10}" dx="3" font-size="10" fill="#8a63d2">${esc(label)}</text></g>`
      )
    })
    .join('')
}

/** The last days' runs, a row a day (UTC), each run a bar from its start to its end: gaps and overlaps show. */
export function timeline(runs: readonly RunRow[], nowMs: number, days = 3, width = 900): string {
  const rowHeight = 26
  const pad = {left: 90, right: 12, top: 8}
  const height = pad.top + days * rowHeight + 20
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS
  const span = width - pad.left - pad.right
  let inner = ''
  for (let d = 0; d < days; d++) {
    const dayStart = today - (days - 1 - d) * DAY_MS
    const top = pad.top + d * rowHeight
    inner += `<text x="8" y="${top + 16}" font-size="11" fill="#6b7280">${new Date(dayStart).toISOString().slice(0, 10)}</text>`
    inner += `<rect x="${pad.left}" y="${top + 4}" width="${span}" height="${rowHeight - 8}" fill="#f1f3f6"/>`
    for (const run of runs) {
      const end = run.endMs ?? nowMs
      if (end < dayStart || run.startMs >= dayStart + DAY_MS) continue
      const from = Math.max(run.startMs, dayStart)
      const to = Math.min(end, dayStart + DAY_MS)
      const x = pad.left + ((from - dayStart) / DAY_MS) * span
      const w = Math.max(2, ((to - from) / DAY_MS) * span)
      const fill = isFailedStatus(run.status) ? '#d03030' : run.status === 'running' ? '#e0a020' : '#2f6fd0'
      inner += `<rect class="run" x="${x.toFixed(1)}" y="${top + 6}" width="${w.toFixed(1)}" height="${rowHeight - 12}" fill="${fill}" opacity="0.8"><title>run ${run.id} ${esc(run.status)} ${isoTime(run.startMs)}</title></rect>`
    }
  }
  for (const hour of [0, 6, 12, 18, 24]) {
    const x = pad.left + (hour / 24) * span
    inner += `<text x="${x.toFixed(1)}" y="${height - 6}" font-size="10" fill="#6b7280" text-anchor="middle">${String(hour).padStart(2, '0')}:00</text>`
  }
  return `<svg class="timeline" role="img" aria-label="Runs of the last ${days} days (UTC)" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${inner}</svg>`
}
