import {firstLine} from '../text'

/** A ping may take this long: a monitor that never answers must not hold the tick. */
export const PING_TIMEOUT_MS = 3000
/** The tail of a run's message sent with its end ping (Healthchecks keeps 100 kB). */
const BODY_BYTES = 10_000

/**
 * Healthchecks-compatible pings of a job's check (its pingUrl), for external monitors: `/start`
 * when the run starts, the bare URL when it succeeds, `/fail` when it does not, each with
 * `?rid=` so overlapping runs pair up. They go out beside the run, never before do() or in its
 * way; a run's end ping follows its start ping; the tick waits for the pings it sent (each bounded
 * by PING_TIMEOUT_MS) before it ends. A ping that fails is logged, never charged to the run.
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

  /** Every ping sent has been answered or has timed out. */
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

/**
 * POST a ping; null when it was answered 2xx, else what went wrong ("answered 503 …", "failed: …").
 * node:http(s) with no keep-alive, not fetch: loading fetch would cost a no-op tick more than the
 * rest of it, and a kept-alive socket would hold the process open.
 */
function post(url: string, body: string, timeoutMs: number): Promise<string | null> {
  const target = new URL(url)
  const client = (target.protocol === 'https:' ? require('node:https') : require('node:http')) as typeof import('node:http')
  return new Promise((resolve) => {
    const headers = {'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body)}
    const request = client.request(target, {method: 'POST', agent: false, timeout: timeoutMs, headers}, (response) => {
      response.resume()
      response.on('end', () => {
        const status = response.statusCode ?? 0
        resolve(status >= 200 && status < 300 ? null : `answered ${status} ${response.statusMessage ?? ''}`.trim())
      })
    })
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    request.on('error', (error) => resolve(`failed: ${firstLine(error.message)}`))
    request.end(body)
  })
}
