import type {AlertOutbox, ClaimedAlert} from '../run-log/alert-outbox'
import type {Clock} from '../time/clock'
import {HOUR_MS, MINUTE_MS} from '../time/units'
import {describeChannel, driverOf, type Channel} from '../alerts/channels/registry'
import {deliver, type Delivery} from './send-alert'

/**
 * Delivering the outbox at the end of a tick: each pending alert that is due is claimed with a
 * lease (so with several servers each goes out once), sent to the channels it has not reached yet,
 * each attempt recorded, and then marked delivered, or left pending for a later tick with back-off
 * (1, 2, 4 … 60 min), or abandoned a day after it was raised. A channel that fails is not tried
 * again in the same tick, and the whole delivery stops claiming after a time budget: a receiver
 * that is down costs a tick one timeout, never a job anything.
 */
export interface DeliveryScope {
  outbox: AlertOutbox
  /** Where an alert about this job (null: about the runner) goes now. */
  channelsFor(code: string | null): readonly Channel[]
  /** The decisions' clock: when an alert is next tried (MANAGE_NOW pins it). */
  clock: Clock
  /** The leases' clock (a real one). */
  leaseClock: Clock
  host: string
  pid: number
  log(level: 'info' | 'warn', message: string): void
  /** Per delivery attempt to one channel (default: send-alert.ts's). */
  timeoutMs?: number
}

export interface DeliveryReport {
  delivered: number
  retrying: number
  abandoned: number
}

const BATCH = 50
const LEASE_MS = 2 * MINUTE_MS
const BUDGET_MS = 30_000
const GIVE_UP_MS = 24 * HOUR_MS

/** node:crypto, loaded when an alert is delivered or a channel named: never on a tick with nothing to deliver. */
const crypto = () => require('node:crypto') as typeof import('node:crypto')

/** A channel's name in the attempts table: described without its secrets, with a short hash to tell two of one origin apart. */
export function channelKey(channel: Channel): string {
  const driver = driverOf(channel)
  return `${driver.describe(channel)} #${crypto().createHash('sha256').update(driver.key(channel)).digest('hex').slice(0, 8)}`.slice(0, 191)
}

/** The back-off after `attempts` failed attempts: 1, 2, 4 … minutes, at most an hour. */
export function retryDelayMs(attempts: number): number {
  return Math.min(2 ** Math.max(0, attempts - 1) * MINUTE_MS, HOUR_MS)
}

export async function deliverPending(scope: DeliveryScope): Promise<DeliveryReport> {
  const report: DeliveryReport = {delivered: 0, retrying: 0, abandoned: 0}
  const started = Date.now()
  const down = new Set<string>()
  for (const id of await scope.outbox.due(scope.clock(), BATCH)) {
    if (Date.now() - started > BUDGET_MS) break
    const {randomUUID} = crypto()
    const token = randomUUID()
    // A fresh UUID: the alert's public id if this is its first claim.
    const claimed = await scope.outbox.claim(id, token, scope.leaseClock(), LEASE_MS, randomUUID())
    if (claimed === null) continue // another server has it
    report[await deliverOne(scope, claimed, token, down)]++
  }
  return report
}

async function deliverOne(scope: DeliveryScope, claimed: ClaimedAlert, token: string, down: Set<string>): Promise<'delivered' | 'retrying' | 'abandoned'> {
  const {alert} = claimed
  const channels = scope.channelsFor(alert.code).map((channel) => ({channel, key: channelKey(channel)}))
  const name = `alert ${claimed.id} (${alert.kind}${alert.code ? ` ${alert.code}` : ''})`
  if (channels.length === 0) {
    await scope.outbox.finish(claimed.id, token, 'abandoned', scope.clock(), scope.clock())
    scope.log('warn', `${name} has no channel to go to any more (alerts turned off or removed): abandoned`)
    return 'abandoned'
  }
  const left = channels.filter(({key}) => !claimed.delivered.has(key))
  const now = left.filter(({key}) => !down.has(key))
  const results: Array<{key: string; delivery: Delivery}> = await Promise.all(now.map(async ({channel, key}) => ({key, delivery: await deliver(alert, channel, scope.timeoutMs)})))
  for (const {key, delivery} of results) {
    await scope.outbox.attempted({alertId: claimed.id, channel: key, ok: delivery.ok, detail: delivery.detail, atMs: scope.clock(), ms: delivery.ms, host: scope.host, pid: scope.pid})
    if (!delivery.ok) {
      down.add(key)
      scope.log('warn', `${name} not delivered to ${describeChannel(delivery.channel)}: ${delivery.detail}`)
    }
  }
  const atMs = scope.clock()
  const reached = results.filter(({delivery}) => delivery.ok).length
  if (reached === left.length) {
    await scope.outbox.finish(claimed.id, token, 'delivered', atMs, atMs)
    return 'delivered'
  }
  if (atMs - claimed.createdMs >= GIVE_UP_MS) {
    await scope.outbox.finish(claimed.id, token, 'abandoned', atMs, atMs)
    scope.log('warn', `${name} could not be delivered for a day: abandoned (manage alerts lists it)`)
    return 'abandoned'
  }
  const nextMs = atMs + retryDelayMs(claimed.attempts + 1)
  await scope.outbox.finish(claimed.id, token, 'pending', atMs, nextMs)
  scope.log('warn', `${name}: trying again from ${new Date(nextMs).toISOString()}`)
  return 'retrying'
}
