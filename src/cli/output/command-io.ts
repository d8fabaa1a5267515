import {descriptorOutputs} from './descriptor-output'

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

/**
 * bin/manage's own process writes through its file descriptors (useDescriptors). On globalThis, as
 * the current IO below, for every copy of this module a process may load.
 */
const DESCRIPTORS = Symbol.for('manage-cli.descriptors')
type Descriptors = {[DESCRIPTORS]?: {stdout: CommandOutput; stderr: CommandOutput; flush(): void}}
const descriptorsOf = () => (globalThis as Descriptors)[DESCRIPTORS]

/** The real process. Its streams are made only when first used: the crontab's quiet tick never makes process.stdout. */
export const PROCESS_IO: CommandIO = {
  get env() {
    return process.env
  },
  get cwd() {
    return process.cwd()
  },
  stdout: {
    write: (text) => void (descriptorsOf()?.stdout ?? process.stdout).write(text),
    get isTTY() {
      return Boolean((descriptorsOf()?.stdout ?? process.stdout).isTTY)
    },
  },
  stderr: {
    write: (text) => void (descriptorsOf()?.stderr ?? process.stderr).write(text),
    get isTTY() {
      return Boolean((descriptorsOf()?.stderr ?? process.stderr).isTTY)
    },
  },
}

/**
 * bin/manage only (never in an app's process, which owns its streams): the real process's output
 * written to fds 1 and 2, a burst of lines in one write, while nothing has made process.stdout and
 * process.stderr (descriptor-output.ts).
 */
export function useDescriptors(): void {
  const holder = globalThis as Descriptors
  holder[DESCRIPTORS] ??= descriptorOutputs()
}

/** What bin/manage's fds hold back is written now (before it calls process.exit). */
export function flushDescriptors(): void {
  descriptorsOf()?.flush()
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

/**
 * `output` with each line it is given starting with the wall-clock time of its writing (ISO 8601,
 * UTC, to the millisecond): `runcrons --timestamps`, for the crontab's log. Real time, not the
 * decision clock: MANAGE_NOW pins what the tick decides, not when it wrote.
 */
export function timestampedOutput(output: CommandOutput, now: () => number = Date.now): CommandOutput {
  let atLineStart = true
  return {
    write(text) {
      if (text === '') return
      const stamp = `${new Date(now()).toISOString()} `
      output.write(`${atLineStart ? stamp : ''}${text.replace(/\n(?=[^])/g, `\n${stamp}`)}`)
      atLineStart = text.endsWith('\n')
    },
    get isTTY() {
      return output.isTTY
    },
  }
}

/** From now until the returned function is called, every line the command writes (stdout and stderr) starts with the time it was written. */
export function stampLines(now: () => number = Date.now): () => void {
  const holder = globalThis as Holder
  const before = holder[CURRENT]
  const io = before ?? PROCESS_IO
  holder[CURRENT] = {
    get env() {
      return io.env
    },
    get cwd() {
      return io.cwd
    },
    stdout: timestampedOutput(io.stdout, now),
    stderr: timestampedOutput(io.stderr, now),
  }
  return () => {
    if (before === undefined) delete holder[CURRENT]
    else holder[CURRENT] = before
  }
}
