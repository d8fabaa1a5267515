import type {ConnectionSource} from '../db/connection-source'
import {firstLine} from '../base/text'
import {SqlRunStore} from '../run-log/run-store'
import {isLive} from '../schedule/history'
import type {Clock} from '../time/clock'

/**
 * Starts `manage runcrons CODE --force` in a process of its own (the CLI's): its pid (which a run
 * it claims records) and when it ends.
 */
export type JobStarter = (code: string) => {pid: number | undefined; ended: Promise<{exitCode: number | null}>}

/** How long run now holds its request before answering "started": the page then polls the job. */
export const RUN_NOW_WAIT_MS = 5_000

/**
 * What run now did: `ran` (its own run ended), `started` (still running when the wait was over),
 * `refused` (the job runs elsewhere, or ran meanwhile, or is already being run from here), or
 * `no-run` (runcrons ended without recording a run).
 */
export interface RunNowResult {
  outcome: 'ran' | 'started' | 'refused' | 'no-run'
  message: string
  runId?: number | null
}

/**
 * Run now goes through the same claim as every tick (the starter runs `runcrons CODE --force` in a
 * process of its own), so it never starts a second run beside one in progress. Only the request
 * whose own child claimed the job says it ran: its run is the one with the child's pid. A child that
 * found the job claimed by another process (a tick, another dashboard) ran nothing, and its request
 * is refused naming where the job runs. A second run now of the same job from this process, while
 * the first one's child lives, is refused at once. Each outcome is given to `record` (the action log).
 */
export class RunNow {
  /** Jobs whose run now's child is alive. */
  private readonly inFlight = new Set<string>()
  private readonly store: SqlRunStore

  constructor(
    source: ConnectionSource,
    private readonly start: JobStarter,
    private readonly clock: Clock,
    private readonly leaseClock: Clock,
  ) {
    this.store = new SqlRunStore(source)
  }

  async run(code: string, record: (outcome: string) => Promise<void>, waitMs = RUN_NOW_WAIT_MS): Promise<RunNowResult> {
    if (this.inFlight.has(code)) {
      const refused = (await this.runningElsewhere(code, null)) ?? {outcome: 'refused', message: `${code} is already being run from this dashboard: not started again`}
      await record(refused.message)
      return refused
    }
    this.inFlight.add(code)
    let finished: Promise<RunNowResult> | null = null
    try {
      const refused = await this.runningElsewhere(code, null)
      if (refused) {
        await record(refused.message)
        return refused
      }
      const before = (await this.latest(code, 1))[0]?.id ?? 0
      const {pid, ended} = this.start(code)
      const ours = async () => (await this.latest(code, 5)).find((run) => run.id > before && pid !== undefined && run.pid === pid) ?? null
      finished = ended.then(async ({exitCode}): Promise<RunNowResult> => {
        const ran = await ours()
        const result: RunNowResult = ran
          ? {outcome: 'ran', message: `run ${ran.id} ${ran.status}${ran.message ? `: ${firstLine(ran.message)}` : ''}`, runId: ran.id}
          : ((await this.runningElsewhere(code, before)) ?? {outcome: 'no-run', message: `no run recorded (runcrons exited ${exitCode ?? 'by a signal'})`, runId: null})
        await record(result.message)
        return result
      })
      const done = await Promise.race([finished, new Promise<null>((resolve) => setTimeout(() => resolve(null), waitMs).unref())])
      if (done !== null) return done
      finished.catch(() => undefined)
      const running = await ours()
      return {outcome: 'started', message: `${code} started${running ? ` (run ${running.id})` : ''}; its outcome shows on the job's page when it ends`, runId: running?.id ?? null}
    } finally {
      // Held until the child ends (not when "started" is answered), so a second run now waits for it.
      if (finished) void finished.then(() => undefined, () => undefined).then(() => this.inFlight.delete(code))
      else this.inFlight.delete(code)
    }
  }

  /** The job's latest runs, newest first. */
  private latest(code: string, limit: number) {
    return this.store.listRuns({code, limit})
  }

  /** A refusal naming the live run of the job, or a run another process made after run `afterId`; null when there is none. */
  private async runningElsewhere(code: string, afterId: number | null): Promise<RunNowResult | null> {
    const history = (await this.store.histories(this.clock(), {codes: [code], leaseNowMs: this.leaseClock()})).get(code)
    const running = history?.running.find((run) => isLive(run, this.clock()))
    if (running) return {outcome: 'refused', message: `${code} is already running (run ${running.id} on ${running.host ?? '?'}, pid ${running.pid ?? '?'}): not started again`, runId: running.id}
    if (afterId === null) return null
    const other = (await this.latest(code, 1))[0]
    if (other && other.id > afterId) return {outcome: 'refused', message: `${code} was run meanwhile by another process (run ${other.id} on ${other.host ?? '?'}, pid ${other.pid ?? '?'}, ${other.status}): not started again`, runId: other.id}
    return null
  }
}
