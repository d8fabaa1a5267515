import {changesOf, rowsOf, type ConnectionSource} from '../db/connection-source'
import type {Dialect} from '../db/database'
import * as sql from './tick-statements'
import type {LoopLagSeen, RunnerTick} from './tick-statements'
import {pauseInfo} from './rows'
import {timeCodec} from './time-codec'
import type {PauseInfo} from '../contract/run-types'
import {RUNNER_KINDS, type RunnerKind} from '../alerts/silence'

export {RUNNER_KINDS, type RunnerKind}
export type {LoopLagSeen, RunnerTick} from './tick-statements'

/** A runner's last tick (its cron_tick row: one per host and kind). */
export interface LastTick {
  host: string
  kind: RunnerKind
  atMs: number
  /** When the runner started: a scheduler's process start; a crontab tick's first tick after a silence (see upsertTick). */
  sinceMs: number
  version: string | null
}

/** A runner's tick as `manage runners` lists it: with the pid that wrote it, and a scheduler's event-loop lag. */
export interface RunnerRow extends LastTick {
  pid: number | null
  /** A scheduler's worst event-loop lag since its previous heartbeat; null: none measured (no job ran in its process), or a crontab runner. */
  lag: LoopLagSeen | null
}

/** What a tick reads beside the histories (one statement): pauses, resumes, the runners' last ticks, and the next pending alert's time. */
export interface TickState {
  paused: Map<string, PauseInfo>
  /** When each job was last resumed: its missed periods count from then. */
  resumed: Map<string, number>
  /** The latest period each catch-up job's ledger accounts for (cron_job.held_to). */
  held: Map<string, number>
  ticks: LastTick[]
  nextAlertMs: number | null
}

export const EMPTY_TICK_STATE: TickState = {paused: new Map(), resumed: new Map(), held: new Map(), ticks: [], nextAlertMs: null}

/**
 * The runners' ticks (cron_tick): each runner (a server's crontab tick, a server's scheduler)
 * records its last tick, which `manage runners` lists and the watch reads to tell a silent one. A
 * tick reads them at its start with the jobs' pauses and the outbox's next alert, in one
 * statement (`tickState`).
 */
export interface ServerTicks {
  tickState(): Promise<TickState>
  /** A runner's tick: one statement. A resident runner calls it at most every 30 s (runners/next-wake's heartbeatDue). */
  record(tick: RunnerTick): Promise<void>
  /** Forget a server's runners (taken out of service), or only its runner of this kind; false when there was none. */
  forget(host: string, kind?: RunnerKind): Promise<boolean>
  /** Every runner's last tick, by host then kind. */
  list(): Promise<RunnerRow[]>
}

export class SqlServerTicks implements ServerTicks {
  private readonly dialect: Dialect

  constructor(private readonly source: ConnectionSource) {
    this.dialect = source.dialect
  }

  async tickState(): Promise<TickState> {
    const time = timeCodec(this.dialect)
    const state: TickState = {paused: new Map(), resumed: new Map(), held: new Map(), ticks: [], nextAlertMs: null}
    for (const row of await rowsOf(this.source, sql.selectTickState())) {
      const name = row.name as string
      if (row.what === 'job') {
        if (row.at !== null) state.paused.set(name, pauseInfo(time.fromDb(row.at), row.who, row.note))
        const resumed = time.fromDb(row.since)
        if (resumed !== null) state.resumed.set(name, resumed)
        const held = time.fromDb(row.held)
        if (held !== null) state.held.set(name, held)
      } else if (row.what === 'tick') state.ticks.push({host: name, kind: row.note as RunnerKind, atMs: time.fromDb(row.at)!, sinceMs: time.fromDb(row.since)!, version: (row.who as string | null) ?? null})
      else state.nextAlertMs = time.fromDb(row.at)
    }
    return state
  }

  async record(tick: RunnerTick): Promise<void> {
    await changesOf(this.source, sql.upsertTick(this.dialect, tick))
  }

  async forget(host: string, kind?: RunnerKind): Promise<boolean> {
    return (await changesOf(this.source, sql.deleteTick(host, kind))) > 0
  }

  async list(): Promise<RunnerRow[]> {
    const time = timeCodec(this.dialect)
    const ticks = (await rowsOf(this.source, sql.selectServerTicks())).map((row) => ({
      host: String(row.host),
      kind: row.kind as RunnerKind,
      pid: row.pid === null || row.pid === undefined ? null : Number(row.pid),
      atMs: time.fromDb(row.tick_at)!,
      sinceMs: time.fromDb(row.since)!,
      version: (row.version as string | null) ?? null,
      lag: row.lag_ms === null || row.lag_ms === undefined ? null : {lagMs: Number(row.lag_ms), codes: lagCodes(row.lag_jobs)},
    }))
    return ticks.sort((a, b) => a.host.localeCompare(b.host) || RUNNER_KINDS.indexOf(a.kind) - RUNNER_KINDS.indexOf(b.kind))
  }
}

/** The jobs of a lag as stored (a JSON array of codes); anything else reads as none. */
function lagCodes(stored: unknown): string[] {
  try {
    const codes: unknown = JSON.parse(String(stored))
    return Array.isArray(codes) ? codes.map(String) : []
  } catch {
    return []
  }
}
