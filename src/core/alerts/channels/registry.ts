import type {ChannelDriver} from './channel-driver'
import {emailDriver} from './email'
import {webhookDriver} from './webhook'

/** Every kind of alert channel, in the order the settings' channels are listed. A new channel: its driver file, and its line here. */
const DRIVERS = [webhookDriver, emailDriver] as const

type ChannelOf<D> = D extends ChannelDriver<infer C> ? C : never

/** Where an alert goes: one of the drivers' channels (a webhook URL, an e-mail server with its recipients…). */
export type Channel = ChannelOf<(typeof DRIVERS)[number]>

export const CHANNEL_DRIVERS: readonly ChannelDriver<Channel>[] = DRIVERS

/** The driver of a channel's kind. */
export function driverOf(channel: Channel): ChannelDriver<Channel> {
  return CHANNEL_DRIVERS.find((driver) => driver.kind === channel.kind)!
}

/** A channel named without its secrets (a webhook by its origin, an e-mail server by host and port). */
export function describeChannel(channel: Channel): string {
  return driverOf(channel).describe(channel)
}
