import {randomUUID} from 'node:crypto'
import {scrubSecrets} from '../db/database-url'
import {firstLine} from '../base/text'
import {alertSubject, webhookBody, type SentAlert} from '../alerts/alert'
import {httpPost} from './http-post'

/** The e-mail channel of the settings (alerts.email). */
export interface EmailSettings {
  host: string
  port: number
  /** TLS from the start (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean
  user?: string
  password?: string
  from: string
  to: string[]
}

/** Where an alert goes: a webhook URL or an e-mail server with its recipients. */
export type Channel = {kind: 'webhook'; url: string} | {kind: 'email'; email: EmailSettings}

export interface Delivery {
  channel: Channel
  ok: boolean
  /** What happened, in words ("200 OK", "connect ECONNREFUSED …"), never with a secret in it. */
  detail: string
  ms: number
}

/** How long one delivery may take, all told: a receiver that never answers, or answers a byte at a time, must not hold the tick. */
export const DELIVERY_TIMEOUT_MS = 10_000

/**
 * A channel named without its secrets: a webhook's path often is the token (Slack's
 * /services/T…/B…/secret), so only its origin is shown; an e-mail server by host and port.
 */
export function describeChannel(channel: Channel): string {
  if (channel.kind === 'webhook') {
    const url = new URL(channel.url)
    return `webhook ${url.protocol}//${url.host}${url.pathname === '/' && url.search === '' ? '/' : '/…'}`
  }
  return `e-mail via ${channel.email.host}:${channel.email.port} to ${channel.email.to.join(', ')}`
}

/** The secrets a channel holds, to scrub from any error text before it is shown or stored. */
export function channelSecrets(channel: Channel): string[] {
  if (channel.kind === 'email') return channel.email.password ? [channel.email.password] : []
  const url = new URL(channel.url)
  return [url.pathname, url.search, url.password, url.username].filter((part) => part.length > 1)
}

/**
 * Send one alert to one channel; never throws: the result says what happened. The whole exchange
 * (connecting, sending, the answer) has `timeoutMs`, one timer for all of it: a receiver that
 * answers a byte at a time costs that and no more. The alert's id goes with it (the webhook's
 * body, Idempotency-Key and X-Manage-Alert-Id; the e-mail's Message-ID and X-Manage-Alert-Id),
 * so a receiver can drop a second copy.
 */
export async function deliver(alert: SentAlert, channel: Channel, timeoutMs = DELIVERY_TIMEOUT_MS): Promise<Delivery> {
  const started = Date.now()
  const done = (ok: boolean, detail: string): Delivery => ({channel, ok, detail: scrubSecrets(detail, channelSecrets(channel)), ms: Date.now() - started})
  try {
    if (channel.kind === 'webhook') {
      const headers = {'content-type': 'application/json', 'idempotency-key': alert.id, 'x-manage-alert-id': alert.id}
      const posted = await httpPost(channel.url, webhookBody(alert), {headers, deadlineMs: timeoutMs})
      return done(posted.ok, posted.detail)
    }
    return done(true, await sendMail(alert, channel.email, timeoutMs))
  } catch (error) {
    return done(false, error instanceof Error ? firstLine(error.message) : String(error))
  }
}

/**
 * One e-mail over SMTP within `timeoutMs` all told: nodemailer's own timeouts are per phase (a
 * server that answers a byte at a time never trips them), so one timer aborts the send, which
 * closes the connection at once, and the wait ends then even if the transport lingers.
 */
async function sendMail(alert: SentAlert, email: EmailSettings, timeoutMs: number): Promise<string> {
  const {createTransport} = require('nodemailer') as typeof import('nodemailer')
  const transport = createTransport({
    host: email.host,
    port: email.port,
    secure: email.secure,
    auth: email.user ? {user: email.user, pass: email.password ?? ''} : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    // Closed by the deadline, the socket is destroyed, not left to linger for the server's goodbye.
    socketCloseTimeout: 0,
  })
  const deadline = new AbortController()
  const expired = new Promise<never>((_resolve, reject) => deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason as Error)))
  const timer = setTimeout(() => deadline.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  try {
    const message = {
      from: email.from,
      to: email.to,
      subject: alertSubject(alert),
      text: alert.text,
      // A mail store that keeps one message per Message-ID keeps one copy of an alert sent twice.
      messageId: `<${alert.id}@${domainOf(email.from)}>`,
      headers: {'X-Manage-Alert-Id': alert.id},
      signal: deadline.signal,
    }
    const sent = await Promise.race([transport.sendMail(message), expired])
    return firstLine(String(sent.response ?? 'sent'))
  } catch (error) {
    throw deadline.signal.aborted ? deadline.signal.reason : error
  } finally {
    clearTimeout(timer)
    transport.close()
  }
}

/** The domain of a sender's address ("Cron <cron@example.com>" → example.com), for the Message-ID's right-hand side. */
function domainOf(from: string): string {
  return /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'manage.invalid'
}

/** `manage notify:test`: a sample alert to every channel at once, and what each said. */
export async function sendTestAlert(channels: readonly Channel[], host: string, nowIso: string): Promise<Delivery[]> {
  const alert: SentAlert = {
    // A sample has no outbox row: an id of its own, marked as a test's.
    id: `test-${randomUUID()}`,
    kind: 'test',
    code: null,
    runId: null,
    host,
    text: `manage notify:test: a test alert from ${host} at ${nowIso}\nIf you can read this, this channel will tell you when a job fails, recovers, is missed or when the runner stops.`,
  }
  return Promise.all(channels.map((channel) => deliver(alert, channel)))
}
