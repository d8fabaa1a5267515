import {firstLine} from '../base/text'
import type {MailMessage, Sent, SmtpServer} from '../alerts/channels/channel-driver'

/**
 * One e-mail over SMTP within `timeoutMs` all told: nodemailer's own timeouts are per phase (a
 * server that answers a byte at a time never trips them), so one timer aborts the send, which
 * closes the connection at once, and the wait ends then even if the transport lingers. Throws
 * when the server refuses it or the deadline passes.
 */
export async function sendMail(server: SmtpServer, message: MailMessage, timeoutMs: number): Promise<Sent> {
  const {createTransport} = require('nodemailer') as typeof import('nodemailer')
  const transport = createTransport({
    host: server.host,
    port: server.port,
    secure: server.secure,
    auth: server.user ? {user: server.user, pass: server.password ?? ''} : undefined,
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
    const mail = {...message, signal: deadline.signal}
    const sent = await Promise.race([transport.sendMail(mail), expired])
    return {ok: true, detail: firstLine(String(sent.response ?? 'sent'))}
  } catch (error) {
    throw deadline.signal.aborted ? deadline.signal.reason : error
  } finally {
    clearTimeout(timer)
    transport.close()
  }
}
