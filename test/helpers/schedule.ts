import {DateTime} from 'luxon'
import type {RunStatus, RunSummary} from '../../src/core/contract/run-types'
import type {RunPolicy} from '../../src/core/jobs/run-policy'
import {parseSlot, type Schedule} from '../../src/core/jobs/schedule'

/** A schedule from django-cron-like options, with the defaults filled in. */
export function schedule(options: {
  runEveryMins?: number
  runEverySeconds?: number
  retryAfterFailureMins?: number
  runAtTimes?: string[]
  runWeeklyOnDays?: number[]
  runMonthlyOnDays?: number[]
  runToleranceSeconds?: number
  cron?: string
  /** The expression as written, when `cron` is its H resolved. */
  cronWritten?: string
  timeZone?: string
}): Schedule {
  return {
    intervalMs: options.runEverySeconds !== undefined ? options.runEverySeconds * 1000 : options.runEveryMins !== undefined ? options.runEveryMins * 60_000 : null,
    retryAfterFailureMins: options.retryAfterFailureMins ?? null,
    runAtTimes: (options.runAtTimes ?? []).map((text) => parseSlot(text)!),
    runWeeklyOnDays: options.runWeeklyOnDays ?? null,
    runMonthlyOnDays: options.runMonthlyOnDays ?? null,
    runToleranceSeconds: options.runToleranceSeconds ?? 0,
    cron: options.cron ?? null,
    cronWritten: options.cronWritten ?? null,
    timeZone: options.timeZone ?? null,
  }
}

/** A run policy with the defaults filled in (no overlap, in process, no timeout, every success kept). */
export function runPolicy(options: Partial<RunPolicy> = {}): RunPolicy {
  return {allowParallelRuns: false, isolate: false, timeoutMins: null, removeSuccessfulCronLogs: false, catchUp: null, catchUpWindowMs: null, overlap: null, pauseAfterFailures: null, limit: null, ...options} as RunPolicy
}

/** An instant from an ISO time; a time without an offset is read in `zone` (default UTC). */
export function at(iso: string, zone = 'UTC'): number {
  const parsed = DateTime.fromISO(iso, {zone})
  if (!parsed.isValid) throw new Error(`bad test time ${iso}`)
  return parsed.toMillis()
}

let nextId = 1

/** A run-log row for a history table. */
export function run(status: RunStatus, start: string, extra: {slot?: string; leaseUntil?: string; zone?: string; code?: string; forced?: boolean; period?: string} = {}): RunSummary {
  return {
    id: nextId++,
    code: extra.code ?? 'job',
    status,
    startMs: at(start, extra.zone),
    ranAtTime: extra.slot ?? null,
    leaseExpiresMs: extra.leaseUntil ? at(extra.leaseUntil, extra.zone) : null,
    host: 'test-host',
    pid: 1,
    ...(extra.forced ? {forced: true} : {}),
    ...(extra.period ? {periodMs: at(extra.period, extra.zone)} : {}),
  }
}
