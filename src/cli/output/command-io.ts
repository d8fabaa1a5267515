/**
 * Where a command reads its environment and working directory and writes its output: the real
 * process, unless callCommand (call-command.ts) runs the command in process with its own. The
 * commands, the tick's printing and the error reporting go through commandIO(), never straight to
 * process.env, process.cwd() or process.stdout.
 */

/** One output stream: text written as it comes, and whether it is a terminal (for colours and tables). */
export interface CommandOutput {
  write(text: string): void
  readonly isTTY: boolean
}

export interface CommandIO {
  readonly env: NodeJS.ProcessEnv
  readonly cwd: string
  readonly stdout: CommandOutput
  readonly stderr: CommandOutput
}

/** The real process. Its streams are made only when first used: the crontab's quiet tick never makes process.stdout. */
export const PROCESS_IO: CommandIO = {
  get env() {
    return process.env
  },
  get cwd() {
    return process.cwd()
  },
  stdout: {
    write: (text) => void process.stdout.write(text),
    get isTTY() {
      return Boolean(process.stdout.isTTY)
    },
  },
  stderr: {
    write: (text) => void process.stderr.write(text),
    get isTTY() {
      return Boolean(process.stderr.isTTY)
    },
  },
}

// On globalThis under a registered symbol, not in a module variable: the package's tests load this
// module twice (src/ through tsx for callCommand, dist/ for the oclif commands), and both copies
// must see the same current IO.
const CURRENT = Symbol.for('manage-cli.command-io')
type Holder = {[CURRENT]?: CommandIO}

/** The current command's IO: the real process unless a callCommand is running. */
export function commandIO(): CommandIO {
  return (globalThis as Holder)[CURRENT] ?? PROCESS_IO
}

/** Make `io` the current IO (undefined: the real process again). callCommand only. */
export function setCommandIO(io: CommandIO | undefined): void {
  if (io === undefined) delete (globalThis as Holder)[CURRENT]
  else (globalThis as Holder)[CURRENT] = io
}
