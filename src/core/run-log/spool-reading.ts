import {existsSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, statSync} from 'node:fs'
import path from 'node:path'
import {ENDED_STATUSES} from '../contract/run-types'
import {MAX_MESSAGE_BYTES, messageFromError, truncateMessage} from '../jobs/message'
import {firstLine} from '../base/text'
import {HOUR_MS} from '../time/units'
import type {EndRequest} from './recorder'
import type {Entry, RefusedFile, SpoolReading} from './spool-types'

/**
 * No outcome is bigger: a message is cut at MAX_MESSAGE_BYTES, and JSON escapes at most six bytes
 * for one; a larger file is not read at all.
 */
export const MAX_SPOOL_FILE_BYTES = 8 * MAX_MESSAGE_BYTES
/** A temporary file this old was left by a process that died writing it. */
const STALE_TEMP_MS = HOUR_MS

/**
 * The spool's files for this database, each read as input: one that is not a valid outcome is set
 * aside (renamed *.failed) and reported, and the others are still recorded.
 */
export function readSpool(dir: string, database: string): SpoolReading {
  const reading: SpoolReading = {outcomes: [], refused: []}
  if (!existsSync(dir)) return reading
  const names = readdirSync(dir)
  removeStaleTemporaries(dir, names)
  for (const name of names.filter((file) => file.endsWith('.json')).sort()) {
    const file = path.join(dir, name)
    const read = readEntry(file)
    if ('problem' in read) {
      reading.refused.push({where: file, problem: read.problem, setAside: setAside(file)})
      continue
    }
    if (read.entry.database !== database) continue
    reading.outcomes.push({request: read.entry.request, where: file, remove: () => rmSync(file, {force: true}), setAside: () => moveAside(file)})
  }
  return reading
}

function removeStaleTemporaries(dir: string, names: readonly string[]): void {
  for (const name of names.filter((file) => file.endsWith('.json.tmp'))) {
    const file = path.join(dir, name)
    try {
      if (Date.now() - statSync(file).mtimeMs > STALE_TEMP_MS) rmSync(file, {force: true})
    } catch {
      // gone meanwhile, or not ours to remove: the next tick tries again
    }
  }
}

/** The file as a spool entry, or why it is not one. It is read only if it is a plain file of a possible size. */
function readEntry(file: string): {entry: Entry} | {problem: string} {
  let text: string
  try {
    const stat = lstatSync(file)
    if (stat.isSymbolicLink()) return {problem: 'is a symbolic link, not a file the tick wrote'}
    if (stat.isDirectory()) return {problem: 'is a folder, not a file'}
    if (!stat.isFile()) return {problem: 'is not a plain file'}
    if (stat.size === 0) return {problem: 'is empty (a write cut short, e.g. by a power loss)'}
    if (stat.size > MAX_SPOOL_FILE_BYTES) return {problem: `is ${stat.size} bytes, more than an outcome can be (${MAX_SPOOL_FILE_BYTES})`}
    text = readFileSync(file, 'utf8')
  } catch (error) {
    return {problem: `cannot be read (${firstLine(messageFromError(error))})`}
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return {problem: `is not JSON (${firstLine((error as Error).message)}): cut short?`}
  }
  return checkEntry(value)
}

/** A spool entry as the tick writes it, field by field; the message is cut as the live path cuts it. */
export function checkEntry(value: unknown): {entry: Entry} | {problem: string} {
  if (!isObject(value)) return {problem: `holds ${value === null ? 'null' : typeof value}, not an outcome`}
  if (value.version !== 1) return {problem: `has version ${JSON.stringify(value.version) ?? 'none'}; this manage reads version 1`}
  if (typeof value.database !== 'string') return {problem: 'names no database'}
  const request = value.request
  if (!isObject(request)) return {problem: 'holds no request'}
  const {runId, code, status, endMs, message, releaseToken, removeOtherSuccesses, alerting} = request
  if (typeof runId !== 'number' || !Number.isSafeInteger(runId) || runId < 1) return {problem: 'has no run id (a whole number from 1)'}
  if (typeof code !== 'string' || code.length < 1 || code.length > 191) return {problem: 'has no job code (1–191 characters)'}
  if (typeof status !== 'string' || !(ENDED_STATUSES as readonly string[]).includes(status)) return {problem: `has status ${JSON.stringify(status) ?? 'none'}: an outcome is one of ${ENDED_STATUSES.join(', ')}`}
  if (typeof endMs !== 'number' || !Number.isFinite(endMs) || endMs < 0) return {problem: 'has no end time (milliseconds)'}
  if (message !== null && typeof message !== 'string') return {problem: 'has a message that is not text'}
  if (releaseToken !== null && (typeof releaseToken !== 'string' || releaseToken.length > 64)) return {problem: 'has a claim token that is not one'}
  if (typeof removeOtherSuccesses !== 'boolean') return {problem: 'does not say whether to remove other successes'}
  if (request.rerecord !== undefined) return {problem: 'asks to replace a recorded outcome, which only the tick that recorded it may do'}
  if (alerting !== undefined && !isAlerting(alerting, code)) return {problem: "has a malformed alerting section (not the job's own)"}
  const pauseAfter = request.pauseAfterFailures
  if (pauseAfter !== undefined && pauseAfter !== null && !(typeof pauseAfter === 'number' && Number.isSafeInteger(pauseAfter) && pauseAfter >= 1)) return {problem: 'has a pauseAfterFailures that is not a whole number ≥ 1'}
  const {releaseSlot} = request
  if (releaseSlot !== undefined && !isSlot(releaseSlot)) return {problem: 'has a slot of a limit to free that is not one'}
  const checked: EndRequest = {runId, code, status: status as EndRequest['status'], endMs, message: message === null ? null : truncateMessage(message), releaseToken, removeOtherSuccesses}
  if (alerting !== undefined) checked.alerting = alerting as EndRequest['alerting']
  if (typeof pauseAfter === 'number') checked.pauseAfterFailures = pauseAfter
  if (releaseSlot !== undefined) checked.releaseSlot = releaseSlot as EndRequest['releaseSlot']
  return {entry: {version: 1, database: value.database, spooledAt: String(value.spooledAt ?? ''), request: checked}}
}

function isAlerting(value: unknown, code: string): boolean {
  if (!isObject(value) || !isObject(value.job) || !isObject(value.policy)) return false
  const {job, policy} = value
  const texts = [job.className, job.schedule, value.reporter].every((text) => typeof text === 'string' && text.length <= 1000)
  const numbers = [policy.failureThreshold, policy.recoveryThreshold, value.startMs, value.pid].every((n) => typeof n === 'number' && Number.isFinite(n))
  const remind = policy.remindAfterMs === null || (typeof policy.remindAfterMs === 'number' && Number.isFinite(policy.remindAfterMs))
  const slot = value.slot === null || typeof value.slot === 'string'
  return job.code === code && texts && numbers && remind && slot
}

/** The slot of a limit the run held (freed when the outcome is recorded): its group's name and the run's claim token. */
function isSlot(value: unknown): boolean {
  if (!isObject(value)) return false
  const {group, token} = value
  return typeof group === 'string' && group.length >= 1 && group.length <= 191 && typeof token === 'string' && token.length >= 1 && token.length <= 64
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function moveAside(file: string): string {
  renameSync(file, `${file}.failed`)
  return `${file}.failed`
}

function setAside(file: string): RefusedFile['setAside'] {
  try {
    return {as: moveAside(file)}
  } catch (error) {
    return {failed: firstLine(messageFromError(error))}
  }
}
