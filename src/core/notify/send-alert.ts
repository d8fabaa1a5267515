import {scrubSecrets} from '../db/database-url'
import {firstLine} from '../base/text'
import type {SentAlert} from '../alerts/alert'
import type {Carriers} from '../alerts/channels/channel-driver'
import {driverOf, type Channel} from '../alerts/channels/registry'
import {httpPost} from './http-post'
import {sendMail} from './smtp'

export interface Delivery {
  channel: Channel
  ok: boolean
  /** What happened, in words ("200 OK", "connect ECONNREFUSED …"), never with a secret in it. */
  detail: string
  ms: number
}

/** How long one delivery may take, all told: a receiver that never answers, or answers a byte at a time, must not hold the tick. */
export const DELIVERY_TIMEOUT_MS = 10_000

/** The carriers of one delivery: an HTTP POST, an SMTP session, each within the same deadline. */
function carriersWithin(timeoutMs: number): Carriers {
  return {
    post: (url, body, headers) => httpPost(url, body, {headers, deadlineMs: timeoutMs}),
    mail: (server, message) => sendMail(server, message, timeoutMs),
  }
}

/**
 * Send one alert to one channel, through its driver; never throws: the result says what
 * happened. The whole exchange (connecting, sending, the answer) has `timeoutMs`, one timer for
 * all of it: a receiver that answers a byte at a time costs that and no more. The alert's id goes
 * with it (see each driver's send), so a receiver can drop a second copy.
 */
export async function deliver(alert: SentAlert, channel: Channel, timeoutMs = DELIVERY_TIMEOUT_MS): Promise<Delivery> {
  const started = Date.now()
  const driver = driverOf(channel)
  const done = (ok: boolean, detail: string): Delivery => ({channel, ok, detail: scrubSecrets(detail, driver.secrets(channel)), ms: Date.now() - started})
  try {
    const sent = await driver.send(alert, channel, carriersWithin(timeoutMs))
    return done(sent.ok, sent.detail)
  } catch (error) {
    return done(false, error instanceof Error ? firstLine(error.message) : String(error))
  }
}

/** `manage notify:test`: a sample alert to every channel at once, and what each said. */
export async function sendTestAlert(channels: readonly Channel[], host: string, nowIso: string): Promise<Delivery[]> {
  const alert: SentAlert = {
    // A sample has no outbox row: an id of its own, marked as a test's (node:crypto loaded here: a tick never sends one).
    id: `test-${(require('node:crypto') as typeof import('node:crypto')).randomUUID()}`,
    kind: 'test',
    code: null,
    runId: null,
    host,
    text: `manage notify:test: a test alert from ${host} at ${nowIso}\nIf you can read this, this channel will tell you when a job fails, recovers, is missed or when the runner stops.`,
  }
  return Promise.all(channels.map((channel) => deliver(alert, channel)))
}
