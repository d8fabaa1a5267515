import {changesOf, rowsOf, type ConnectionSource} from '../db/connection-source'
import type {Dialect} from '../db/database'
import * as sql from './tick-statements'
import {pauseInfo} from './rows'
import {timeCodec} from './time-codec'
import type {PauseInfo} from '../contract/run-types'

/** A server's last tick (its cron_tick row). */
export interface LastTick {
  host: string
  atMs: number
  version: string | null
}

/** What a tick reads beside the histories (one statement): pauses, resumes, the servers' last ticks, and the next pending alert's time. */
export interface TickState {
  paused: Map<string, PauseInfo>
  /** When each job was last resumed: its missed periods count from then. */
  resumed: Map<string, number>
  ticks: LastTick[]
  nextAlertMs: number | null
}

export const EMPTY_TICK_STATE: TickState = {paused: new Map(), resumed: new Map(), ticks: [], nextAlertMs: null}

/**
 * The servers' ticks (cron_tick): each server records its last tick, which
 * `manage runners` lists and the watch reads to tell a silent server. A tick reads them at its
 * start with the jobs' pauses and the outbox's next alert, in one statement (`tickState`).
 */
export interface ServerTicks {
  tickState(): Promise<TickState>
  /** This server's tick. */
  record(tick: {host: string; pid: number; version: string; atMs: number}): Promise<void>
  /** Forget a server's last tick (taken out of service); false when it had none. */
  forget(host: string): Promise<boolean>
  /** Every server's last tick, by host. */
  list(): Promise<LastTick[]>
}

export class SqlServerTicks implements ServerTicks {
  private readonly dialect: Dialect

  constructor(private readonly source: ConnectionSource) {
    this.dialect = source.dialect
  }

  async tickState(): Promise<TickState> {
    const time = timeCodec(this.dialect)
    const state: TickState = {paused: new Map(), resumed: new Map(), ticks: [], nextAlertMs: null}
    for (const row of await rowsOf(this.source, sql.selectTickState())) {
      const name = row.name as string
      if (row.what === 'job') {
        if (row.at !== null) state.paused.set(name, pauseInfo(time.fromDb(row.at), row.who, row.note))
        const resumed = time.fromDb(row.since)
        if (resumed !== null) state.resumed.set(name, resumed)
      } else if (row.what === 'tick') state.ticks.push({host: name, atMs: time.fromDb(row.at)!, version: (row.who as string | null) ?? null})
      else state.nextAlertMs = time.fromDb(row.at)
    }
    return state
  }

  async record(tick: {host: string; pid: number; version: string; atMs: number}): Promise<void> {
    await changesOf(this.source, sql.upsertTick(this.dialect, tick))
  }

  async forget(host: string): Promise<boolean> {
    return (await changesOf(this.source, sql.deleteTick(host))) > 0
  }

  async list(): Promise<LastTick[]> {
    const time = timeCodec(this.dialect)
    const ticks = (await rowsOf(this.source, sql.selectServerTicks())).map((row) => ({host: String(row.host), atMs: time.fromDb(row.tick_at)!, version: (row.version as string | null) ?? null}))
    return ticks.sort((a, b) => a.host.localeCompare(b.host))
  }
}
