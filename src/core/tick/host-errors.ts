import {inspect} from 'node:util'

type Listener = (value: unknown) => void

/** How an error that is the host's is raised again (tests pass a stand-in: a real one ends the process). */
export type Raise = (error: unknown) => void

/** Node's own way: thrown from a callback of its own, outside every async context, so no `await` catches it. */
export const raiseUncaught: Raise = (error) =>
  process.nextTick(() => {
    throw error
  })

/**
 * An error outside every run, in a host's process (an embedded scheduler): it is the host's, and
 * goes where it would go if manage were not listening. The host's own listeners heard it already
 * (an emit calls every listener); with none, Node's default would have happened, had our listener
 * not been there: for an exception the process crashes, for a rejection (unless
 * --unhandled-rejections says warn or none) it is raised as an uncaught exception. So it is raised
 * again, our exception listener off first when no one else would catch it.
 */
export function passToHost(target: NodeJS.Process, event: 'uncaughtException' | 'unhandledRejection', error: unknown, ours: {exception: Listener; rejection: Listener}, raise: Raise = raiseUncaught): void {
  const mine = event === 'uncaughtException' ? ours.exception : ours.rejection
  const othersHear = (name: typeof event, own: Listener) => (target as NodeJS.EventEmitter).listeners(name).some((listener) => listener !== own)
  if (othersHear(event, mine)) return
  if (event === 'unhandledRejection') {
    const mode = rejectionMode(target)
    if (mode === 'none') return
    if (mode === 'warn' || mode === 'warn-with-error-code') {
      target.emitWarning(`Unhandled promise rejection: ${inspect(error)}`, 'UnhandledPromiseRejectionWarning')
      if (mode === 'warn-with-error-code') target.exitCode = 1
      return
    }
    error = error instanceof Error ? error : unhandledRejectionError(error)
  }
  // Raised as an uncaught exception: the host's exception listeners get it; with none, the process crashes.
  if (!othersHear('uncaughtException', ours.exception)) target.off('uncaughtException', ours.exception)
  raise(error)
}

/** Node's --unhandled-rejections mode (the command line's, or NODE_OPTIONS'), `throw` by default. */
function rejectionMode(target: NodeJS.Process): string {
  const flags = [...(target.execArgv ?? []), ...(target.env?.NODE_OPTIONS ?? '').split(/\s+/)]
  const flag = flags.reverse().find((arg) => arg.startsWith('--unhandled-rejections='))
  return flag?.slice('--unhandled-rejections='.length) ?? 'throw'
}

/** What Node raises for a rejection whose reason is not an Error. */
function unhandledRejectionError(reason: unknown): Error {
  const error = new Error(`This error originated either by throwing inside of an async function without a catch block, or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason "${inspect(reason)}".`)
  Object.assign(error, {code: 'ERR_UNHANDLED_REJECTION'})
  return error
}
