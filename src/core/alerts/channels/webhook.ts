import type {SentAlert} from '../alert'
import type {ChannelDriver} from './channel-driver'

/** A URL that receives each alert as an HTTP POST with a JSON body (Slack- and Mattermost-compatible `text`). */
export interface WebhookChannel {
  kind: 'webhook'
  url: string
}

/** What is wrong with a webhook (or ping) URL, never quoting it (its path may be a token), or null. */
export function webhookProblem(url: unknown): string | null {
  if (typeof url !== 'string') return `is ${typeof url}, not a URL`
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'is not a URL'
  }
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? null : `has the scheme '${parsed.protocol}'`
}

/** A webhook's (or ping's) URL by its origin only: its path and query often are the token (Slack's /services/T…/B…/secret). */
export function webhookOrigin(raw: string): string {
  const url = new URL(raw)
  return `${url.protocol}//${url.host}${url.pathname === '/' && url.search === '' ? '/' : '/…'}`
}

/** The JSON body a webhook receives, its id first. */
export function webhookBody(alert: SentAlert): string {
  return JSON.stringify({id: alert.id, kind: alert.kind, code: alert.code, runId: alert.runId, host: alert.host, text: alert.text, ...alert.details})
}

/** Each URL of a list checked (problems name it by its place: `alerts.webhooks[i]`). */
function urls(list: readonly unknown[], problems: string[]): WebhookChannel[] {
  const channels: WebhookChannel[] = []
  list.forEach((url, i) => {
    const problem = webhookProblem(url)
    // undefined or '': most often an environment variable that is not set (webhooks: [process.env.SLACK_WEBHOOK_URL!]).
    if (url === undefined || url === '') problems.push(`alerts.webhooks[${i}] is ${url === '' ? 'empty' : 'undefined'}: set the environment variable it is read from, or use an http:// or https:// URL`)
    else if (problem) problems.push(`alerts.webhooks[${i}] ${problem}: use an http:// or https:// URL`)
    else channels.push({kind: 'webhook', url: url as string})
  })
  return channels
}

/** A job's own webhooks: a list of URLs that replaces the settings'. */
function ownWebhooks(value: unknown, problems: string[]): WebhookChannel[] {
  if (Array.isArray(value)) return urls(value, problems)
  problems.push(`alerts.webhooks must be a list of URLs`)
  return []
}

export const webhookDriver: ChannelDriver<WebhookChannel> = {
  kind: 'webhook',
  section: 'webhooks',
  parse(value, problems) {
    if (value === undefined || value === null) return []
    if (Array.isArray(value)) return urls(value, problems)
    problems.push(`alerts.webhooks must be a list of URLs: use e.g. webhooks: ['https://hooks.example.com/…']`)
    return []
  },
  checkOverride: (value, problems) => void ownWebhooks(value, problems),
  applyOverride: (value, _fromSettings, problems) => ownWebhooks(value, problems),
  key: (channel) => channel.url,
  /** By its origin only: a webhook's path often is the token (Slack's /services/T…/B…/secret). */
  describe: (channel) => `webhook ${webhookOrigin(channel.url)}`,
  secrets(channel) {
    const url = new URL(channel.url)
    return [url.pathname, url.search, url.password, url.username].filter((part) => part.length > 1)
  },
  /** The alert's id in the body, Idempotency-Key and X-Manage-Alert-Id: a receiver drops a second copy by it. */
  send: (alert, channel, carriers) => carriers.post(channel.url, webhookBody(alert), {'content-type': 'application/json', 'idempotency-key': alert.id, 'x-manage-alert-id': alert.id}),
}
