import {fstatSync, statSync, writeSync} from 'node:fs'

type Fd = 1 | 2
type Output = {write(text: string): void; readonly isTTY: boolean}

/** Written at once past this many characters waiting. */
const MOST_WAITING = 64 * 1024

/**
 * fds 1 and 2 written directly, for bin/manage's own process: making process.stdout (or stderr)
 * for a pipe loads Node's net and stream machinery, a few ms of a crontab tick that prints a few
 * short lines. A write is made at once, and what follows it before the microtasks then queued
 * have run waits for them and goes out in one more write (a tick that finds 1,000 jobs not due
 * writes their lines in two system calls, not 1,000); sooner when the process exits or something
 * else writes (the other fd, or a stream something else made: a job's console.log, oclif). Once a
 * stream is made, or a write found the pipe full, that fd's writes go through the stream, so that
 * what is written stays in order.
 */
export function descriptorOutputs(): {stdout: Output; stderr: Output; flush(): void} {
  const made: Record<Fd, boolean> = {1: watchStream(1), 2: watchStream(2)}
  let waiting: {fd: Fd; text: string}[] = []
  let size = 0
  let burst = false
  const endBurst = () => {
    burst = false
    flush()
  }

  function flush(): void {
    const entries = waiting
    waiting = []
    size = 0
    for (const {fd, text} of entries) send(fd, text)
  }

  function send(fd: Fd, text: string): void {
    if (made[fd]) return void process[streamName(fd)].write(text)
    let rest = Buffer.from(text)
    try {
      while (rest.length > 0) rest = rest.subarray(writeSync(fd, rest))
    } catch {
      // A non-blocking pipe that is full (EAGAIN): the stream waits for it, and takes the writes
      // after it. Any other failure (a closed fd, a reader gone) is the stream's to handle, as
      // Node handles it for every program.
      process[streamName(fd)].write(rest)
    }
  }

  /** Whether fd's stream is made already; from now on, flushed first when it is made. */
  function watchStream(fd: Fd): boolean {
    const name = streamName(fd)
    const own = Object.getOwnPropertyDescriptor(process, name)
    const make = own?.get
    if (!make || !own.configurable) return true
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: own.enumerable,
      get() {
        if (!made[fd]) {
          made[fd] = true
          flush()
        }
        return make.call(process)
      },
    })
    return false
  }

  process.on('exit', flush)
  const output = (fd: Fd): Output => {
    let terminal: boolean | undefined
    return {
      write(text) {
        const last = waiting[waiting.length - 1]
        // The other fd's text waiting is written first: the two stay in order when they go to one file (2>&1, cron's mail).
        if (last !== undefined && last.fd !== fd) flush()
        if (made[fd]) return send(fd, text)
        if (!burst) {
          // A line on its own (a job's outcome as it ends) is written at once; what follows it before the
          // microtasks now queued have run (the lines a tick reports between awaits) waits for them.
          burst = true
          process.nextTick(endBurst)
          return send(fd, text)
        }
        if (last?.fd === fd) last.text += text
        else waiting.push({fd, text})
        size += text.length
        if (size > MOST_WAITING) flush()
      },
      get isTTY() {
        return (terminal ??= isTerminal(fd))
      },
    }
  }
  return {stdout: output(1), stderr: output(2), flush}
}

const streamName = (fd: Fd): 'stdout' | 'stderr' => (fd === 1 ? 'stdout' : 'stderr')

/** Whether fd is a terminal, asked of Node's tty module (which loads net) only for a character device other than /dev/null. */
function isTerminal(fd: number): boolean {
  try {
    const stat = fstatSync(fd)
    // Pipes, files and sockets are not terminals; /dev/null (cron's `> /dev/null`) is a character device that is not one either.
    if (!stat.isCharacterDevice() || stat.rdev === statSync('/dev/null').rdev) return false
  } catch {
    return false
  }
  return (require('node:tty') as typeof import('node:tty')).isatty(fd)
}
