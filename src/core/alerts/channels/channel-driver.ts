import type {SentAlert} from '../alert'

/**
 * One kind of alert channel (a webhook, e-mail…): how the settings configure it, how a job's own
 * alerts override it, how it is named without its secrets, and what it sends. A driver holds no
 * I/O of its own: it hands its message to the carriers notify/ gives it (an HTTP POST, an SMTP
 * session), so the model stays below the run log and the delivery above it. A new channel is a
 * driver file beside this one and its line in registry.ts.
 */
export interface ChannelDriver<C extends {kind: string} = {kind: string}> {
  kind: C['kind']
  /** Its section of the settings' alerts (alerts.webhooks, alerts.email) and of a job's own alerts. */
  section: string
  /** The settings' section (undefined when absent), checked: its channels; each problem is one line, never with a secret in it. */
  parse(value: unknown, problems: string[]): C[]
  /** A job's own section (present), checked against its own type alone: each problem is one line about the job. */
  checkOverride(value: unknown, problems: string[]): void
  /** A job's own section (present) applied to the settings' channels of this kind: the job's channels of this kind. */
  applyOverride(value: unknown, fromSettings: readonly C[], problems: string[]): C[]
  /** What tells two channels of this kind apart (hashed into the name a delivery attempt is recorded under). */
  key(channel: C): string
  /** The channel named without its secrets, for people and logs. */
  describe(channel: C): string
  /** The secrets it holds, to scrub from any error text before it is shown or stored. */
  secrets(channel: C): string[]
  /** Send one alert through the carriers (which hold the deadline); throws, or says what happened. */
  send(alert: SentAlert, channel: C, carriers: Carriers): Promise<Sent>
}

/** What a send came to: ok when the receiver took it; `detail` in words ("200 OK", "250 Accepted"). */
export interface Sent {
  ok: boolean
  detail: string
}

/** An SMTP server to send through. */
export interface SmtpServer {
  host: string
  port: number
  /** TLS from the start (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean
  user?: string
  password?: string
}

export interface MailMessage {
  from: string
  to: string[]
  subject: string
  text: string
  messageId: string
  headers: Record<string, string>
}

/** How a driver's message leaves the process (notify/ gives them, each bound to the delivery's one deadline). */
export interface Carriers {
  post(url: string, body: string, headers: Record<string, string>): Promise<Sent>
  mail(server: SmtpServer, message: MailMessage): Promise<Sent>
}
