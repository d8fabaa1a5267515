import type {Timers} from './timers'

/** How much work in flight keeps the process alive, by kind (Node's resource names). */
export type PendingWork = ReadonlyMap<string, number>

/**
 * Handles that stay open without being work under way (a connection or a pipe waiting, the
 * terminal, a server, a child process, a watcher): a pooled keep-alive socket is not stray work.
 */
const STANDING = new Set(['TCPSocketWrap', 'TCPWRAP', 'TCPServerWrap', 'PipeWrap', 'PipeServerWrap', 'TTYWrap', 'UDPWrap', 'ProcessWrap', 'FSEventWrap', 'StatWatcher', 'SignalWrap'])
const POLL_MS = 20
const WORDS: Record<string, string> = {Timeout: 'timer', Immediate: 'immediate', FSReqCallback: 'file request', FSReqPromise: 'file request', GetAddrInfoReqWrap: 'DNS lookup', QueryReqWrap: 'DNS query'}

/** What is in flight now: timers, immediates, file and DNS requests… (not standing handles). */
export function pendingWork(): PendingWork {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) if (!STANDING.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  return counts
}

/** The work in flight beyond what there was `before`. */
function beyond(before: PendingWork): Map<string, number> {
  const extra = new Map<string, number>()
  for (const [kind, count] of pendingWork()) if (count > (before.get(kind) ?? 0)) extra.set(kind, count - (before.get(kind) ?? 0))
  return extra
}

/**
 * Wait, for at most `boundMs`, until no more work is in flight than `before` (what the process had
 * before the jobs ran): what a job left behind when do() returned (a timer, a request) then gets to
 * finish, and a failure it raises is charged to its run whichever job came last. Returns null when
 * it finished, else what was still in flight, in words ("2 timers").
 */
export async function settleStrayWork(before: PendingWork, boundMs: number, timers: Timers): Promise<string | null> {
  const started = Date.now()
  for (let extra = beyond(before); extra.size > 0; extra = beyond(before)) {
    if (Date.now() - started >= boundMs) return describe(extra)
    await timers.sleep(POLL_MS).done
  }
  return null
}

function describe(extra: ReadonlyMap<string, number>): string {
  return [...extra].map(([kind, count]) => `${count} ${WORDS[kind] ?? kind}${count === 1 ? '' : 's'}`).join(', ')
}
