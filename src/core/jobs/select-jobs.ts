import {existsSync} from 'node:fs'
import {CommandError, UsageError} from '../base/errors'
import {loadFailure} from '../base/load-error'
import {shown} from '../base/text'
import {loadJob, type LoadedJob} from './load-jobs'
import {compiledModules, missingJobReason} from './missing-job'

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

/** An exported cron class of the crons folder, with the compiled module it is in. */
export interface FoundClass {
  cls: unknown
  file: string
}

/** Every exported class of every compiled module in `dir` that looks like a cron class (what `check` and `runcrons NAME` look through, never the crontab's tick). */
export function discoverCronModules(dir: string): FoundClass[] {
  if (!existsSync(dir)) return []
  const found: FoundClass[] = []
  for (const file of compiledModules(dir)) {
    let exported: Record<string, unknown>
    try {
      exported = require(file) as Record<string, unknown>
    } catch (error) {
      throw new CommandError(`cron module ${file} failed to load: ${loadFailure(error)}`, 1, error)
    }
    for (const value of Object.values(exported)) {
      if (typeof value === 'function' && typeof (value as {prototype?: {do?: unknown}}).prototype?.do === 'function' && !found.some((other) => other.cls === value)) {
        found.push({cls: value, file})
      }
    }
  }
  return found
}

export function discoverCronClasses(dir: string): unknown[] {
  return discoverCronModules(dir).map((found) => found.cls)
}

/**
 * The classes named on the command line, in the order named. A name is a class name or a code,
 * looked up in the settings' crons first, then among the classes in cronsDir (as django-cron
 * runs a named class that is not in CRON_CLASSES; `unlisted` is told of each). A name not found
 * is a usage error: why, when the crons folder declares such a class (not built, not exported),
 * else the closest known names; before anything runs.
 */
export function selectByName(names: readonly string[], crons: readonly unknown[], cronsDir: string, options: {sourceDir?: string | null; unlisted?: (className: string, file: string) => void} = {}): unknown[] {
  let candidates = crons.map(candidate)
  const files = new Map<unknown, string>()
  const find = (name: string) => candidates.find((c) => c.names.includes(name))
  if (names.some((name) => !find(name))) {
    const listed = new Set(crons)
    const found = discoverCronModules(cronsDir).filter((module) => !listed.has(module.cls))
    for (const module of found) files.set(module.cls, module.file)
    candidates = [...candidates, ...found.map((module) => candidate(module.cls))]
  }

  const selected: unknown[] = []
  for (const name of names) {
    const match = find(name)
    if (!match) {
      const reason = missingJobReason(name, {cronsDir, sourceDir: options.sourceDir})
      throw new UsageError(reason ? `cron job ${shown(name)} cannot run: ${reason}` : unknownNameMessage(name, candidates.flatMap((c) => c.names)))
    }
    if (selected.includes(match.cls)) continue
    selected.push(match.cls)
    const file = files.get(match.cls)
    if (file !== undefined) options.unlisted?.((match.cls as {name: string}).name, file)
  }
  return selected
}

/** About a class of the crons folder that the settings do not list (after its name): what `check` warns, and `runcrons NAME` notes as it runs it. */
export function unlistedNote(className: string, file: string, runByName = false): string {
  const fix = runByName ? 'if it should run on its schedule' : `, or run it by name (\`manage runcrons ${className}\`) if that is what you meant`
  return `is in ${file} but not listed in the settings' crons, so no tick runs it by itself: add it to crons in the settings${runByName ? ' ' : ''}${fix}`
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
