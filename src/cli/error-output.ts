import type {DatabaseConfig} from '../core/db/database'
import {explainDatabaseError} from '../core/db/database'
import {CommandError} from '../core/errors'
import type {Painter} from './render'

/**
 * The one place an error becomes what the user sees: one line (a CommandError's message, a
 * database error explained, else the error's name and message) and an exit status; the stack
 * only when asked (--traceback or DEBUG).
 */
export function errorOutput(error: Error, options: {database?: DatabaseConfig; showStack: boolean; paint: Painter}): {text: string; exitCode: number} {
  const known = error instanceof CommandError ? error : options.database ? explainDatabaseError(error, options.database) : null
  const lines = known ? known.message.split('\n') : [`${error.name || 'Error'}: ${error.message}${options.showStack ? '' : ' (run with --traceback for the stack trace)'}`]
  let text = lines.map((line) => `${options.paint.error('error:')} ${line}\n`).join('')
  if (options.showStack) {
    text += `${(error.stack ?? String(error)).replace(/^/gm, '  ')}\n`
    if (error.cause instanceof Error && error.cause.stack) text += `caused by:\n${error.cause.stack.replace(/^/gm, '  ')}\n`
  }
  return {text, exitCode: known?.exitCode ?? 1}
}

/** --traceback anywhere on the command line, or DEBUG set. */
export function wantsStack(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  return argv.includes('--traceback') || Boolean(env.DEBUG)
}
