import {spawn} from 'node:child_process'
import {mkdir} from 'node:fs/promises'
import path from 'node:path'
import {CommandError, UsageError} from '../../core/base/errors'
import type {Problem} from '../../core/jobs/load-jobs'
import {firstLine} from '../../core/base/text'

/** What the crontab line is made of; every path absolute. */
export interface CrontabOptions {
  root: string
  /** The manage executable the line runs: this package's bin/manage (in the app's node_modules). */
  bin: string
  /** The node binary cron should run (default: the one running now). */
  nodeBin?: string
  /** Where the tick's output goes (default: <root>/var/cron.log). */
  logFile?: string
}

export type CrontabAction = 'print' | 'installed' | 'updated' | 'unchanged' | 'removed' | 'absent'

export interface CrontabReport {
  action: CrontabAction
  line: string
  root: string
  logFile: string
  /** The marker lines around the project's block. */
  begin: string
  end: string
}

export interface CrontabStatus {
  /** False when `crontab -l` could not be run or failed; `problem` says why. */
  readable: boolean
  /** The project's marked block is in the user's crontab. */
  installed: boolean
  /** The block holds exactly the line `manage crontab` would write now (with the default log file). */
  current: boolean
  /** The line `manage crontab` would write now. */
  expected: string
  /** The lines inside the installed block (empty when not installed). */
  installedLines: string[]
  problem?: string
}

const SAFE = /^[A-Za-z0-9_\/.,:@+=-]+$/

/**
 * Quote a word for the shell cron hands the line to. `%` is escaped whatever the quoting, because
 * cron itself turns a bare `%` into a newline before the shell sees the line (and drops the `\`).
 */
export function shellQuote(word: string): string {
  const quoted = SAFE.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
  return quoted.replace(/%/g, '\\%')
}

function checkPath(what: string, value: string): void {
  if (/[\n\r]/.test(value)) throw new UsageError(`the ${what} '${value.replace(/[\n\r]/g, '\\n')}' contains a line break, which a crontab line cannot hold: use a path without one`)
}

export function defaultLogFile(root: string): string {
  return path.join(root, 'var', 'cron.log')
}

/** The one line that runs this project's tick every minute. */
export function crontabLine(options: CrontabOptions): string {
  const root = path.resolve(options.root)
  const node = options.nodeBin ?? process.execPath
  const log = path.resolve(options.logFile ?? defaultLogFile(root))
  checkPath('project folder', root)
  checkPath('manage executable', options.bin)
  checkPath('node path', node)
  checkPath('log file', log)
  const q = shellQuote
  return `* * * * * cd ${q(root)} && ${q(node)} ${q(path.resolve(options.bin))} runcrons --timestamps >> ${q(log)} 2>&1`
}

export function blockMarkers(root: string): {begin: string; end: string} {
  const absolute = path.resolve(root)
  return {begin: `# BEGIN manage ${absolute}`, end: `# END manage ${absolute}`}
}

interface Block {
  start: number
  /** Index of the END line. */
  stop: number
}

/** Every marked block for this project (more than one only after hand edits). */
function findBlocks(lines: string[], begin: string, end: string): Block[] {
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== begin) continue
    const stop = lines.indexOf(end, i + 1)
    if (stop === -1) throw new CommandError(`the crontab has '${begin}' without its '${end}': fix it with \`crontab -e\`, then run this again`)
    blocks.push({start: i, stop})
    i = stop
  }
  return blocks
}

/** Split a crontab into lines; `final` says whether it ended with a newline. */
function splitLines(text: string): {lines: string[]; final: boolean} {
  if (text === '') return {lines: [], final: true}
  const final = text.endsWith('\n')
  return {lines: (final ? text.slice(0, -1) : text).split('\n'), final}
}

function joinLines(lines: string[]): string {
  // cron refuses a crontab whose last line has no newline.
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}

/**
 * The crontab with this project's block holding `line`: the block replaced where it is, or appended.
 * Every other line is kept as it was.
 */
export function withBlock(text: string, root: string, line: string): string {
  const {begin, end} = blockMarkers(root)
  const {lines} = splitLines(text)
  const blocks = findBlocks(lines, begin, end)
  const block = [begin, line, end]
  if (blocks.length === 0) return joinLines([...lines, ...block])
  const out = lines.slice(0, blocks[0].start).concat(block)
  for (let b = 0; b < blocks.length; b++) {
    const next = b + 1 < blocks.length ? blocks[b + 1].start : lines.length
    out.push(...lines.slice(blocks[b].stop + 1, next))
  }
  return joinLines(out)
}

/** The crontab without this project's block(s). */
export function withoutBlock(text: string, root: string): string {
  const {begin, end} = blockMarkers(root)
  const {lines} = splitLines(text)
  const blocks = findBlocks(lines, begin, end)
  if (blocks.length === 0) return text
  return joinLines(lines.filter((_, i) => !blocks.some((block) => i >= block.start && i <= block.stop)))
}

/** The lines inside this project's block, or null when there is none. */
export function blockLines(text: string, root: string): string[] | null {
  const {begin, end} = blockMarkers(root)
  const {lines} = splitLines(text)
  const blocks = findBlocks(lines, begin, end)
  if (blocks.length === 0) return null
  return blocks.flatMap((block) => lines.slice(block.start + 1, block.stop))
}

function crontabBin(env: NodeJS.ProcessEnv): string {
  return env.MANAGE_CRONTAB_BIN || 'crontab'
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {env, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        reject(
          env.MANAGE_CRONTAB_BIN
            ? new CommandError(`MANAGE_CRONTAB_BIN='${bin}' does not exist: point it at a crontab program, or unset it`)
            : new CommandError('the `crontab` program is not installed (not found on PATH): install cron (e.g. `sudo apt-get install cron`), or add the line printed by `manage crontab` to your scheduler by hand'),
        )
      } else reject(new CommandError(`cannot run ${bin}: ${error.message}`, 1, error))
    })
    // A crontab that exits before reading stdin must not crash us with EPIPE.
    child.stdin.on('error', () => undefined)
    child.on('close', (code) => resolve({code: code ?? 1, stdout, stderr}))
    child.stdin.end(input ?? '')
  })
}

/** The user's crontab; "no crontab for USER" is an empty one. */
export async function readCrontab(env: NodeJS.ProcessEnv): Promise<string> {
  const bin = crontabBin(env)
  const result = await run(bin, ['-l'], env)
  if (result.code === 0) return result.stdout
  if (/no crontab for /i.test(result.stderr)) return ''
  throw new CommandError(`\`${bin} -l\` failed (exit ${result.code}): ${firstLine(result.stderr.trim()) || 'no message'}`)
}

export async function writeCrontab(text: string, env: NodeJS.ProcessEnv): Promise<void> {
  const bin = crontabBin(env)
  const result = await run(bin, ['-'], env, text)
  if (result.code !== 0) throw new CommandError(`\`${bin} -\` refused the new crontab (exit ${result.code}): ${firstLine(result.stderr.trim()) || 'no message'}`)
}

function report(action: CrontabAction, options: CrontabOptions): CrontabReport {
  return {action, line: crontabLine(options), root: path.resolve(options.root), logFile: path.resolve(options.logFile ?? defaultLogFile(options.root)), ...blockMarkers(options.root)}
}

/** The line, without touching any crontab. */
export function printCrontab(options: CrontabOptions): CrontabReport {
  return report('print', options)
}

/** Put the project's block in the user's crontab (replacing an older one); write only when it changes. */
export async function installCrontab(options: CrontabOptions, env: NodeJS.ProcessEnv): Promise<CrontabReport> {
  const result = report('installed', options)
  const current = await readCrontab(env)
  const next = withBlock(current, options.root, result.line)
  if (next === current) return {...result, action: 'unchanged'}
  // `>> log` fails when the log's folder is missing, and cron would only mail the error.
  await mkdir(path.dirname(result.logFile), {recursive: true})
  await writeCrontab(next, env)
  return {...result, action: blockLines(current, options.root) === null ? 'installed' : 'updated'}
}

/** Take the project's block out of the user's crontab; 'absent' (and nothing written) when it was not there. */
export async function removeCrontab(options: CrontabOptions, env: NodeJS.ProcessEnv): Promise<CrontabReport> {
  const current = await readCrontab(env)
  if (blockLines(current, options.root) === null) return report('absent', options)
  await writeCrontab(withoutBlock(current, options.root), env)
  return report('removed', options)
}

/** Whether this project's block is in the user's crontab (for `manage check`); never throws for a missing crontab program. */
export async function crontabStatus(options: CrontabOptions, env: NodeJS.ProcessEnv): Promise<CrontabStatus> {
  const expected = crontabLine(options)
  let text: string
  try {
    text = await readCrontab(env)
  } catch (error) {
    if (!(error instanceof CommandError)) throw error
    return {readable: false, installed: false, current: false, expected, installedLines: [], problem: error.message}
  }
  let installedLines: string[] | null
  try {
    installedLines = blockLines(text, options.root)
  } catch (error) {
    if (!(error instanceof CommandError)) throw error
    return {readable: true, installed: false, current: false, expected, installedLines: [], problem: error.message}
  }
  if (installedLines === null) return {readable: true, installed: false, current: false, expected, installedLines: []}
  return {readable: true, installed: true, current: installedLines.length === 1 && installedLines[0] === expected, expected, installedLines}
}

/** What `manage check` says of the crontab line: without it nothing ever runs (warnings: the project may be run another way). */
export async function crontabProblems(options: CrontabOptions, env: NodeJS.ProcessEnv): Promise<Problem[]> {
  const crontab = await crontabStatus(options, env)
  const warning = (message: string): Problem[] => [{subject: 'crontab', level: 'warning', message}]
  if (!crontab.readable) return warning(crontab.problem ?? 'cannot be read: install cron, or ignore this if another scheduler runs `manage runcrons`')
  if (!crontab.installed) return warning('has no entry for this project, so no job runs by itself: run `manage crontab --install`')
  if (!crontab.current) return warning(`the installed line differs from \`${crontab.expected}\` (another node or path?): run \`manage crontab --install\` to update it`)
  return []
}
