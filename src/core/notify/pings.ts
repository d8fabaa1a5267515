import {httpPost} from './http-post'

/** A ping may take this long, all told (connecting, sending, the whole answer): a monitor that never answers, or answers a byte at a time, must not hold the tick. */
export const PING_TIMEOUT_MS = 3000
/** The tail of a run's message sent with its end ping (Healthchecks keeps 100 kB). */
const BODY_BYTES = 10_000

/**
 * Healthchecks-compatible pings of a job's check (its pingUrl), for external monitors: `/start`
 * when the run starts, the bare URL when it succeeds, `/fail` when it does not, each with
 * `?rid=` so overlapping runs pair up. They go out beside the run, never before do() or in its
 * way; a run's end ping follows its start ping; the tick waits for the pings it sent before it
 * ends, each bounded by its deadline (PING_TIMEOUT_MS: one timer that cuts the exchange whatever
 * the socket does), so at most two deadlines after a run's end. A ping that fails is logged,
 * never charged to the run.
 */
export class Pings {
  private readonly sent: Array<Promise<void>> = []

  constructor(
    private readonly onFailure: (code: string, text: string) => void,
    private readonly timeoutMs = PING_TIMEOUT_MS,
  ) {}

  /** The run started: ping `/start`; the returned function pings its end. */
  started(code: string, url: string, runId: number): (succeeded: boolean, message: string | null) => void {
    const start = this.send(code, pingUrl(url, '/start', runId), '')
    return (succeeded, message) => {
      const body = message === null ? '' : tail(message)
      this.sent.push(start.then(() => this.send(code, pingUrl(url, succeeded ? '' : '/fail', runId), body)))
    }
  }

  /** Every ping sent has been answered or cut at its deadline. */
  async settled(): Promise<void> {
    await Promise.all(this.sent)
  }

  private send(code: string, url: string, body: string): Promise<void> {
    const ping = post(url, body, this.timeoutMs).then((failure) => {
      if (failure !== null) this.onFailure(code, `its ping ${failure}`)
    })
    this.sent.push(ping)
    return ping
  }
}

/**
 * The run's id as Healthchecks' run id, which must be a UUID: the id's decimal digits in the
 * last group (run 1234 → 00000000-0000-4000-8000-000000001234), so it still reads as the run.
 */
export function runUuid(runId: number): string {
  return `00000000-0000-4000-8000-${String(runId).padStart(12, '0')}`
}

function pingUrl(base: string, suffix: string, runId: number): string {
  const url = new URL(base)
  url.pathname = `${url.pathname.replace(/\/$/, '')}${suffix}`
  url.searchParams.set('rid', runUuid(runId))
  return url.toString()
}

function tail(message: string): string {
  const bytes = Buffer.from(message, 'utf8')
  return bytes.length <= BODY_BYTES ? message : bytes.subarray(bytes.length - BODY_BYTES).toString('utf8')
}

/**
 * The runner's own ping (settings tickPingUrl), at the end of every crontab tick: the bare URL
 * when it exits 0, `/fail` otherwise. A monitor that stops hearing it knows the runner stopped
 * (cron gone, the machine down), from outside. Returns the warning to print when the ping failed.
 */
export async function pingTick(url: string, exitCode: number, timeoutMs = PING_TIMEOUT_MS): Promise<string | null> {
  const target = new URL(url)
  if (exitCode !== 0) target.pathname = `${target.pathname.replace(/\/$/, '')}/fail`
  const failure = await post(target.toString(), `manage runcrons exited ${exitCode}`, timeoutMs)
  return failure === null ? null : `the tick's ping (tickPingUrl) ${failure}`
}

/** POST a ping; null when it was answered 2xx, else what went wrong ("answered 503 …", "failed: …"). */
async function post(url: string, body: string, deadlineMs: number): Promise<string | null> {
  const posted = await httpPost(url, body, {headers: {'content-type': 'text/plain; charset=utf-8'}, deadlineMs})
  // A monitor that answers 200 and then trickles its body took the ping, but cost the tick its deadline: said too.
  if (posted.ok && posted.whole) return null
  return posted.status === null ? `failed: ${posted.detail}` : `answered ${posted.detail}`
}
