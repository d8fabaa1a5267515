/**
 * What an alert says: one shape for every channel. A webhook receives it as JSON (with `text`,
 * so a Slack- or Mattermost-compatible incoming webhook shows it as it is), an e-mail as its
 * subject (the first line of `text`) and body.
 */
export type AlertKind = 'failed' | 'timed_out' | 'interrupted' | 'stuck' | 'missed' | 'runner_silent' | 'recovered' | 'paused' | 'test'

export interface Alert {
  kind: AlertKind
  /** The job's code; null for an alert about the runner itself. */
  code: string | null
  runId: number | null
  host: string
  /** One line first (the subject), then what an on-call person needs. */
  text: string
  /** Anything else the kind carries (class, schedule, failures in a row, since, …), for a receiver that reads JSON. */
  details?: Record<string, unknown>
}

/**
 * An alert on its way to a channel, with its id: the same on every attempt to deliver it (the
 * outbox row's public_id), so a receiver drops a second copy by it. Delivery is at least once:
 * a tick killed while a receiver holds the request leaves the alert to be sent again.
 */
export interface SentAlert extends Alert {
  id: string
}

/** The first line of an alert's text: an e-mail's subject, a chat message's headline. */
export function alertSubject(alert: Alert): string {
  return alert.text.split('\n')[0]
}
