/**
 * Errors that carry their exit status (Django's CommandError). The CLI turns any of
 * them into one line on stderr and this exit code; only --traceback shows a stack.
 */
/** Ends a one-line error whose stack has more to say; the CLI leaves it out when it shows the stack. */
export const TRACEBACK_HINT = ' (run with --traceback for the stack trace)'

export class CommandError extends Error {
  readonly exitCode: number

  constructor(message: string, exitCode = 1, cause?: unknown) {
    super(message, cause === undefined ? undefined : {cause})
    this.name = 'CommandError'
    this.exitCode = exitCode
  }
}

/** Bad input from the command line or the environment: exit 2, like a usage error. */
export class UsageError extends CommandError {
  constructor(message: string) {
    super(message, 2)
    this.name = 'UsageError'
  }
}

/** The database exists but the framework's tables are not there yet. */
export class NotMigratedError extends CommandError {
  constructor(database: string, table = 'cron_job_log', missing = `table ${table} is missing`) {
    super(`the database ${database} is not migrated (${missing}): run \`manage migrate\` first`, 1)
    this.name = 'NotMigratedError'
  }
}

/**
 * What failed while manage was doing something for a job (recording its outcome, claiming it…):
 * the line names the job and the operation, then the cause (explained where it is a known
 * database error); the exit status is the cause's.
 */
export class OperationError extends Error {
  constructor(
    readonly doing: string,
    readonly reason: unknown,
  ) {
    super(`${doing}: ${reason instanceof Error ? reason.message : String(reason)}`, {cause: reason})
    this.name = 'OperationError'
  }
}
