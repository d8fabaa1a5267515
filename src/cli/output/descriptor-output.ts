import {fstatSync, statSync, writeSync} from 'node:fs'

/**
 * fd 1 or 2 written directly, for bin/manage's own process: making process.stdout (or stderr) for a
 * pipe loads Node's net and stream machinery, a few ms of a crontab tick that prints a few short
 * lines. Once anything else has made the stream (a job's console.log, oclif) or a write found the
 * pipe full, the writes go through the stream, so that what is written stays in order.
 */
export function descriptorOutput(fd: 1 | 2): {write(text: string): void; readonly isTTY: boolean} {
  const name = fd === 1 ? 'stdout' : 'stderr'
  let made = false
  const own = Object.getOwnPropertyDescriptor(process, name)
  const make = own?.get
  if (make && own.configurable) {
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: own.enumerable,
      get() {
        made = true
        return make.call(process)
      },
    })
  } else made = true
  let terminal: boolean | undefined
  return {
    write(text) {
      if (made) return void process[name].write(text)
      let rest = Buffer.from(text)
      try {
        while (rest.length > 0) rest = rest.subarray(writeSync(fd, rest))
      } catch {
        // A non-blocking pipe that is full (EAGAIN): the stream waits for it, and takes the writes
        // after it. Any other failure (a closed fd, a reader gone) is the stream's to handle, as
        // Node handles it for every program.
        process[name].write(rest)
      }
    },
    get isTTY() {
      return (terminal ??= isTerminal(fd))
    },
  }
}

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
