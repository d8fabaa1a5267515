import {existsSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {CommandError, UsageError} from '../base/errors'
import {loadFailure} from '../base/load-error'
import {shown} from '../base/text'
import {loadJob, type LoadedJob} from './load-jobs'

/** A class and the names it answers to on the command line: its class name and its code. */
interface Candidate {
  cls: unknown
  names: string[]
}

function candidate(cls: unknown): Candidate {
  const names: string[] = []
  if (typeof cls === 'function') {
    if (cls.name) names.push(cls.name)
    try {
      const code = (new (cls as new () => {code?: unknown})()).code
      if (typeof code === 'string' && code) names.push(code)
    } catch {
      // A class that cannot be built is reported by validation; it still answers to its class name.
    }
  }
  return {cls, names}
}

/** Every exported class of every compiled module in `dir` that looks like a cron class. */
export function discoverCronClasses(dir: string): unknown[] {
  if (!existsSync(dir)) return []
  const found: unknown[] = []
  for (const entry of readdirSync(dir, {withFileTypes: true, recursive: true})) {
    if (!entry.isFile() || !/\.[cm]?js$/.test(entry.name) || /\.(test|spec)\.[cm]?js$/.test(entry.name)) continue
    const file = path.join(entry.parentPath ?? (entry as unknown as {path: string}).path, entry.name)
    let exported: Record<string, unknown>
    try {
      exported = require(file) as Record<string, unknown>
    } catch (error) {
      throw new CommandError(`cron module ${file} failed to load: ${loadFailure(error)}`, 1, error)
    }
    for (const value of Object.values(exported)) {
      if (typeof value === 'function' && typeof (value as {prototype?: {do?: unknown}}).prototype?.do === 'function' && !found.includes(value)) {
        found.push(value)
      }
    }
  }
  return found
}

/**
 * The classes named on the command line, in the order named. A name is a class name or a code,
 * looked up in the settings' crons first, then among the classes in cronsDir (as django-cron
 * runs a named class that is not in CRON_CLASSES). An unknown name is a usage error that
 * suggests the closest known names, before anything runs.
 */
export function selectByName(names: readonly string[], crons: readonly unknown[], cronsDir: string): unknown[] {
  let candidates = crons.map(candidate)
  const find = (name: string) => candidates.find((c) => c.names.includes(name))
  if (names.some((name) => !find(name))) {
    const listed = new Set(crons)
    candidates = [...candidates, ...discoverCronClasses(cronsDir).filter((cls) => !listed.has(cls)).map(candidate)]
  }

  const selected: unknown[] = []
  for (const name of names) {
    const match = find(name)
    if (!match) throw new UsageError(unknownNameMessage(name, candidates.flatMap((c) => c.names)))
    if (!selected.includes(match.cls)) selected.push(match.cls)
  }
  return selected
}

function unknownNameMessage(name: string, known: string[]): string {
  if (known.length === 0) return `unknown cron job ${shown(name)}: no cron classes are defined (add one to src/crons and to the settings' crons)`
  const limit = Math.max(3, Math.floor(name.length / 2))
  const wanted = name.toLowerCase()
  // Loaded here, for the rare mistyped name, not on every tick.
  const {distance} = require('fastest-levenshtein') as typeof import('fastest-levenshtein')
  // Near by edit distance to the whole name, or to its start ('Heartbeet' ~ 'HeartbeatCronJob').
  const score = (known: string) => {
    const k = known.toLowerCase()
    return Math.min(distance(wanted, k), distance(wanted, k.slice(0, wanted.length)) + 1)
  }
  const near = [...new Set(known)]
    .map((k) => ({k, d: score(k)}))
    .filter(({d}) => d <= limit)
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map(({k}) => k)
  if (near.length === 0) {
    const all = [...new Set(known)]
    return `unknown cron job ${shown(name)}: the known jobs are ${all.slice(0, 8).map((s) => `'${s}'`).join(', ')}${all.length > 8 ? ` and ${all.length - 8} more` : ''} (name a class or a code)`
  }
  return `unknown cron job ${shown(name)}: did you mean ${near.map((s) => `'${s}'`).join(' or ')}? (name a class or a code; \`manage runcrons --dry-run\` lists them)`
}

/** One job by class name or code, validated: for the commands that act on a single job. */
export function findJob(name: string, crons: readonly unknown[], cronsDir: string): LoadedJob {
  const [cls] = selectByName([name], crons, cronsDir)
  const {job, problems} = loadJob(cls)
  if (!job) throw new CommandError(problems.map((problem) => `${problem.subject}: ${problem.message}`).join('\n'))
  return job
}
