import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {TRACEBACK_HINT} from './errors'
import {firstLine} from './text'

/** A stack frame's location: `at fn (LOCATION:line:column)` or `at LOCATION:line:column`. */
const FRAME = /^\s*at (?:.*\()?(.+?):(\d+):\d+\)?$/

/** A path or file: URL as a path; null for what is no file of the app (node: internals, <anonymous>, a package). */
function appFile(location: string): string | null {
  const file = location.startsWith('file://') ? fileURLToPath(location) : location
  if (!path.isAbsolute(file) || file.split(/[\\/]/).includes('node_modules')) return null
  return file
}

/**
 * Why a module failed to load, in one line that names the file and line at fault: Node puts a
 * syntax error's `file:line` on the first line of its stack; anything thrown while the module ran
 * is placed at the first frame in the app's own files (not Node's, not a package's). The stack
 * itself is for --traceback.
 */
export function loadFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const reason = firstLine(error.message)
  const lines = (error.stack ?? '').split('\n')
  const compiled = /^(.+):(\d+)$/.exec(lines[0])
  if (error.name === 'SyntaxError' && compiled && appFile(compiled[1])) {
    return `${appFile(compiled[1])}:${compiled[2]} has a syntax error: ${reason}${TRACEBACK_HINT}`
  }
  for (const line of lines) {
    const frame = FRAME.exec(line)
    const file = frame ? appFile(frame[1]) : null
    if (file) return `${file}:${frame![2]} threw ${error.name}: ${reason}${TRACEBACK_HINT}`
  }
  return `${reason}${TRACEBACK_HINT}`
}
