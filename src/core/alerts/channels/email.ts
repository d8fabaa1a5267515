import {shown} from '../../base/text'
import {alertSubject} from '../alert'
import type {ChannelDriver, SmtpServer} from './channel-driver'

/** The e-mail channel of the settings (alerts.email): an SMTP server, the sender and the recipients. */
export interface EmailSettings extends SmtpServer {
  from: string
  to: string[]
}

export interface EmailChannel {
  kind: 'email'
  email: EmailSettings
}

const EMAIL = /^[^\s@<>]+@[^\s@<>]+$|^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/

const FIX = "use e.g. email: {host: 'smtp.example.com', port: 587, user: 'alerts', password: process.env.SMTP_PASSWORD, from: 'cron@example.com', to: ['ops@example.com']}"

/** One address or a list of them, as given: the list, or null when it is not one or more e-mail addresses. */
function recipients(to: unknown): string[] | null {
  const list = typeof to === 'string' ? [to] : to
  return Array.isArray(list) && list.length > 0 && list.every((address) => typeof address === 'string' && EMAIL.test(address)) ? (list as string[]) : null
}

/** A job's own recipients ({to}), or null with the problem said. */
function ownRecipients(value: unknown, problems: string[]): string[] | null {
  const list = recipients((value as {to?: unknown} | null)?.to)
  if (list === null) problems.push(`alerts.email.to must be one or more e-mail addresses`)
  return list
}

function checkEmail(value: unknown, problems: string[]): EmailSettings | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`alerts.email is not an object: ${FIX}`)
    return null
  }
  const email = value as Record<string, unknown>
  const before = problems.length
  if (typeof email.host !== 'string' || email.host === '') problems.push(`alerts.email.host is missing: ${FIX}`)
  const secure = email.secure ?? email.port === 465
  const port = email.port ?? (secure ? 465 : 587)
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) problems.push(`alerts.email.port ${shown(port)} is not a port (1–65535): ${FIX}`)
  if (typeof secure !== 'boolean') problems.push(`alerts.email.secure must be true or false`)
  for (const name of ['user', 'password'] as const) if (email[name] !== undefined && typeof email[name] !== 'string') problems.push(`alerts.email.${name} must be a string`)
  if (typeof email.from !== 'string' || !EMAIL.test(email.from)) problems.push(`alerts.email.from is not an e-mail address: ${FIX}`)
  const to = recipients(email.to)
  if (to === null) problems.push(`alerts.email.to must be one or more e-mail addresses: ${FIX}`)
  if (problems.length > before) return null
  return {host: email.host as string, port: port as number, secure: secure as boolean, user: email.user as string | undefined, password: email.password as string | undefined, from: email.from as string, to: to!}
}

/** The domain of a sender's address ("Cron <cron@example.com>" → example.com), for the Message-ID's right-hand side. */
function domainOf(from: string): string {
  return /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'manage.invalid'
}

export const emailDriver: ChannelDriver<EmailChannel> = {
  kind: 'email',
  section: 'email',
  parse(value, problems) {
    if (value === undefined) return []
    const email = checkEmail(value, problems)
    return email ? [{kind: 'email', email}] : []
  },
  checkOverride: (value, problems) => void ownRecipients(value, problems),
  /** A job's own recipients go through the settings' SMTP server. */
  applyOverride(value, fromSettings, problems) {
    const server = fromSettings[0]
    if (!server) {
      problems.push(`alerts.email needs the settings' alerts.email (the SMTP server) to send through`)
      return []
    }
    const to = ownRecipients(value, problems)
    return to ? [{kind: 'email', email: {...server.email, to}}] : []
  },
  key: ({email}) => `${email.host}:${email.port}:${email.to.join(',')}`,
  describe: ({email}) => `e-mail via ${email.host}:${email.port} to ${email.to.join(', ')}`,
  secrets: ({email}) => (email.password ? [email.password] : []),
  /** The alert's id as the Message-ID (a mail store that keeps one message per Message-ID keeps one copy of an alert sent twice) and in X-Manage-Alert-Id. */
  send(alert, {email}, carriers) {
    const {host, port, secure, user, password, from, to} = email
    const message = {from, to, subject: alertSubject(alert), text: alert.text, messageId: `<${alert.id}@${domainOf(from)}>`, headers: {'X-Manage-Alert-Id': alert.id}}
    return carriers.mail({host, port, secure, user, password}, message)
  },
}
