import type {DatabaseConfig} from '../../core/db/database'
import {explainDatabaseError} from '../../core/db/database'
import {scrubSecrets} from '../../core/db/database-url'
import {CommandError, OperationError, TRACEBACK_HINT} from '../../core/base/errors'
import type {Project} from '../../core/project/project'
import {commandIO} from './command-io'
import type {Painter} from './render'

/**
 * The end of every command, in one place (Django's BaseCommand.execute): an error becomes one line
 * on stderr and an exit status (the stack only when asked), then the SQL count is told
 * (MANAGE_SQL_COUNT) and the project's connections are closed. The oclif commands (BaseCommand),
 * the crontab's direct tick and its fast path all end here.
 */

/** What the user sees of an error: one line (a CommandError's message, a database error explained, else the error's name and message), and its exit status. */
export function errorOutput(error: Error, options: {database?: DatabaseConfig; showStack: boolean; paint: Painter}): {text: string; exitCode: number} {
  // An error met doing something for a job: which job and what, then its cause, explained.
  const doing = error instanceof OperationError ? `${error.doing}: ` : ''
  const cause = error instanceof OperationError ? (error.reason instanceof Error ? error.reason : new Error(String(error.reason))) : error
  const known = cause instanceof CommandError ? cause : options.database ? explainDatabaseError(cause, options.database) : null
  const lines = known ? known.message.split('\n') : [`${cause.name || 'Error'}: ${cause.message}${TRACEBACK_HINT}`]
  if (options.showStack) for (const [index, line] of lines.entries()) if (line.endsWith(TRACEBACK_HINT)) lines[index] = line.slice(0, -TRACEBACK_HINT.length)
  lines[0] = `${doing}${lines[0]}`
  let text = lines.map((line) => `${options.paint.error('error:')} ${line}\n`).join('')
  if (options.showStack) {
    text += `${(error.stack ?? String(error)).replace(/^/gm, '  ')}\n`
    if (error.cause instanceof Error && error.cause.stack) text += `caused by:\n${error.cause.stack.replace(/^/gm, '  ')}\n`
  }
  // A driver's message or a stack could quote the connection's password: it is never shown.
  return {text: scrubSecrets(text, options.database?.secrets ?? []), exitCode: known?.exitCode ?? 1}
}

/** Print a command's error and return its exit status. */
export function reportError(caught: unknown, options: {project?: Project; showStack: boolean; paint: Painter}): number {
  const error = caught instanceof Error ? caught : new Error(String(caught))
  const {text, exitCode} = errorOutput(error, {database: options.project?.resolvedDatabase(), showStack: options.showStack, paint: options.paint})
  commandIO().stderr.write(text)
  return exitCode
}

/** --traceback anywhere on the command line, or DEBUG set. */
export function wantsStack(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  return argv.includes('--traceback') || Boolean(env.DEBUG)
}

/** The SQL count (MANAGE_SQL_COUNT), then the project's connections closed. */
export async function endCommand(project: Project | undefined, env: NodeJS.ProcessEnv): Promise<void> {
  if (project) tellStatements(project.statements, env)
  await project?.close().catch(() => undefined)
}

/** MANAGE_SQL_COUNT: how many statements the command sent, on stderr (the benchmark reads it). */
export function tellStatements(count: number, env: NodeJS.ProcessEnv): void {
  if (env.MANAGE_SQL_COUNT) commandIO().stderr.write(`manage: ${count} SQL statement(s)\n`)
}
