import {isFailedStatus, type JobHistory, type PauseInfo, type RunRow, type RunStatus} from '../core/contract/run-types'
import type {JobLock, LockHolder} from '../core/run-log/job-lock'
import {MemoryLedger} from './memory-ledger'
import {heldBackSkips, OutcomeRefused, type BeginRequest, type BeginResult, type EndRequest, type RunRecorder} from '../core/run-log/recorder'
import {interruptionOf} from '../core/run-log/rows'
import type {NewRun, RunStore} from '../core/run-log/run-store'
import type {Holder} from '../core/run-log/statements'
import {EMPTY_HISTORY, historyFromRuns} from '../core/schedule/history'
import {PAUSED_BY_FAILURES, pauseNote, pausesAfterFailures} from '../core/schedule/pause-after-failures'
import {limitReason} from '../core/jobs/run-policy'

/** A cron_job row: the job's claim, its pause and its last resume. */
interface JobRow {
  holder: (Holder & {lockedMs: number}) | null
  leaseExpiresMs: number | null
  pause: PauseInfo | null
  /** The latest period a catch-up job's ledger accounts for (cron_job.held_to). */
  heldToMs?: number | null
  /** When it was last resumed (pauseAfterFailures counts the runs started after it). */
  resumedMs?: number | null
  /** overlap = 'cancelOther': the period that asks the live run to stop (cron_job.cancel_for). */
  cancelForMs?: number | null
  /** Since when its limit has held it back (cron_job.held_back_at). */
  heldBackMs?: number | null
}

/** A slot of a limit group (cron_limit_slot): free, or held by a run's claim token until its lease runs out. */
interface SlotRow {
  code: string | null
  token: string | null
  leaseExpiresMs: number | null
}

/** The methods of the fakes; `failNext` makes the next call of one of them fail, as a database that went away would. */
type Method = keyof RunStore | keyof JobLock | keyof RunRecorder

/**
 * The run log in memory, for the runner's unit tests (Laravel's FakeEventMutex): the same rows,
 * claims and leases as the SQL keeps, on the caller's clock (as sqlite's are), with each
 * recorder step atomic. test/unit/run-log-contract.test.ts holds it to the SQL implementations'
 * behaviour. `store`, `lock` and `recorder` are the three interfaces runCrons takes.
 */
export class MemoryRunLog {
  readonly runs: RunRow[] = []
  /** The period ledger's skips (cron_skip). */
  readonly ledger = new MemoryLedger()
  readonly jobs = new Map<string, JobRow>()
  /** Each limit group's slots, slot 1 first (cron_limit_slot). */
  readonly slots = new Map<string, SlotRow[]>()
  /** The method of every call, in order, for tests that check what was read and written. */
  readonly calls: string[] = []
  private nextId = 1
  private readonly failures = new Map<Method, Error>()

  readonly store: RunStore = {
    histories: async (nowMs, options = {}) => this.call('histories', () => this.historiesAt(nowMs, options.codes, options.leaseNowMs, options.skewMs)),
    getRun: async (id) => this.call('getRun', () => this.copy(this.runs.find((run) => run.id === id)) ?? null),
    getRuns: async (ids) => this.call('getRuns', () => this.runs.filter((run) => ids.includes(run.id)).map((run) => ({...run}))),
    listRuns: async (query) =>
      this.call('listRuns', () =>
        this.runs
          .filter((run) => (!query.code || run.code === query.code) && (!query.status || run.status === query.status))
          .sort((a, b) => b.startMs - a.startMs || b.id - a.id)
          .slice(0, query.limit)
          .map((run) => ({...run})),
      ),
    pausedJobs: async () => this.call('pausedJobs', () => new Map([...this.jobs].filter(([, job]) => job.pause).map(([code, job]) => [code, {...job.pause!}]))),
    deleteRunsBefore: async (cutoffMs, options = {}) =>
      this.call('deleteRunsBefore', () => {
        const old = this.runs.filter(
          (run) => run.startMs < cutoffMs && run.status !== 'running' && !(options.keepFailed && isFailedStatus(run.status)) && (options.code === undefined || run.code === options.code),
        )
        if (!options.dryRun) this.remove(old)
        return old.length
      }),
    jobHold: async (code) => this.call('jobHold', () => ({heldToMs: this.jobs.get(code)?.heldToMs ?? null, resumedMs: this.jobs.get(code)?.resumedMs ?? null})),
    deleteSkipsBefore: async (cutoffMs, options = {}) => this.call('deleteSkipsBefore', () => this.ledger.drop(cutoffMs, options.dryRun ?? false)),
    listSkips: async (query) => this.call('listSkips', () => this.ledger.list(query)),
    ensureJobs: async (codes) => this.call('ensureJobs', () => codes.forEach((code) => this.jobRow(code))),
    insertRun: async (run, options = {}) => this.call('insertRun', () => this.insert(run, options.ensureJob ?? true)),
    renewRun: async (id, nowMs, leaseMs) =>
      this.call('renewRun', () => {
        const run = this.runs.find((candidate) => candidate.id === id && candidate.status === 'running')
        if (run) Object.assign(run, {leaseRenewedMs: nowMs, leaseExpiresMs: nowMs + leaseMs})
        return Boolean(run)
      }),
    interruptStaleRuns: async (code, nowMs) => this.call('interruptStaleRuns', () => this.interruptStale(code, nowMs)),
    interruptRunning: async (code, endMs, message) =>
      this.call('interruptRunning', () => {
        const running = this.runs.filter((run) => run.code === code && run.status === 'running')
        for (const run of running) Object.assign(run, {status: 'interrupted', endMs, message, leaseExpiresMs: null})
        return running.length
      }),
    setPaused: async (code, pause, atMs = Date.now()) =>
      this.call('setPaused', () => {
        const job = this.jobRow(code)
        if ((job.pause !== null) === (pause !== null)) return false
        job.pause = pause && {sinceMs: pause.sinceMs ?? atMs, by: pause.by}
        if (pause === null) job.resumedMs = atMs
        return true
      }),
  }

  readonly lock: JobLock = {
    renew: async (code, token, nowMs, leaseMs) =>
      this.call('renew', () => {
        const job = this.jobs.get(code)
        if (job?.holder?.token !== token) return false
        job.leaseExpiresMs = nowMs + leaseMs
        return true
      }),
    release: async (code, token) => this.call('release', () => this.releaseIfHeld(code, token)),
    holder: async (code): Promise<LockHolder | null> =>
      this.call('holder', () => {
        const job = this.jobs.get(code)
        return job?.holder ? {host: job.holder.host, pid: job.holder.pid, lockedMs: job.holder.lockedMs, leaseExpiresMs: job.leaseExpiresMs} : null
      }),
    isHeld: async (code, nowMs) => this.call('isHeld', () => Boolean(this.jobs.get(code)?.holder) && (this.jobs.get(code)!.leaseExpiresMs ?? 0) > nowMs),
    forceRelease: async (code) =>
      this.call('forceRelease', () => {
        const job = this.jobs.get(code)
        if (!job?.holder) return false
        Object.assign(job, {holder: null, leaseExpiresMs: null, cancelForMs: null})
        return true
      }),
    renewSlot: async (group, token, nowMs, leaseMs) =>
      this.call('renewSlot', () => {
        const slot = this.slots.get(group)?.find((candidate) => candidate.token === token)
        if (slot) slot.leaseExpiresMs = nowMs + leaseMs
        return Boolean(slot)
      }),
    releaseSlot: async (group, token) => this.call('releaseSlot', () => this.freeSlot(group, token)),
    requestCancel: async (code, periodMs) =>
      this.call('requestCancel', () => {
        const job = this.jobs.get(code)
        if (!job?.holder || (job.cancelForMs ?? null) !== null) return false
        job.cancelForMs = periodMs
        return true
      }),
    cancelRequested: async (code, token) => this.call('cancelRequested', () => (this.jobs.get(code)?.holder?.token === token ? (this.jobs.get(code)!.cancelForMs ?? null) : null)),
  }

  readonly recorder: RunRecorder = {
    begin: async <Why>(request: BeginRequest<Why>) => this.call('begin', () => this.atomically(() => this.beginRun(request))),
    end: async (request: EndRequest) =>
      this.call('end', () =>
        this.atomically(() => {
          const run = this.runs.find((candidate) => candidate.id === request.runId && candidate.code === request.code)
          const overran = !request.rerecord && run?.status !== 'running'
          // As the SQL recorder: an outcome only for the job's own run, while running or recorded interrupted meanwhile.
          if (!run || (overran && run.status !== 'interrupted')) throw new OutcomeRefused(run ? `run ${run.id} of ${run.code} has ended already (${run.status}): its outcome is not replaced` : `there is no run ${request.runId} of ${request.code} in the run log`)
          this.finish(request.runId, request.status, request.endMs, request.message)
          if (overran) run.leaseOverrun = true
          if (request.releaseToken !== null) this.releaseIfHeld(request.code, request.releaseToken)
          if (request.releaseSlot) this.freeSlot(request.releaseSlot.group, request.releaseSlot.token)
          if (request.removeOtherSuccesses && request.status === 'succeeded') this.remove(this.runs.filter((run) => run.code === request.code && run.status === 'succeeded' && run.id !== request.runId))
          const paused = isFailedStatus(request.status) ? this.pauseAfterFailures(request.code, request.pauseAfterFailures, request.endMs) : null
          return {commit: true, value: paused ? {overran, paused} : {overran}}
        }),
      ),
  }

  /** The next call of `method` fails with `error` (then the fake works again). */
  failNext(method: Method, error: Error = new Error(`${method}: the database went away`)): void {
    this.failures.set(method, error)
  }

  private call<T>(method: Method, body: () => T): T {
    this.calls.push(method)
    const failure = this.failures.get(method)
    if (failure) {
      this.failures.delete(method)
      throw failure
    }
    return body()
  }

  /** A transaction: its changes are kept only when it commits (and not when it throws). */
  private atomically<T>(body: () => {commit: boolean; value: T}): T {
    const saved = {
      runs: this.runs.map((run) => ({...run})),
      skips: this.ledger.save(),
      jobs: new Map([...this.jobs].map(([code, job]) => [code, {...job}])),
      slots: new Map([...this.slots].map(([group, slots]) => [group, slots.map((slot) => ({...slot}))])),
      nextId: this.nextId,
    }
    const restore = () => {
      this.runs.splice(0, this.runs.length, ...saved.runs)
      this.ledger.restore(saved.skips)
      this.jobs.clear()
      for (const [code, job] of saved.jobs) this.jobs.set(code, job)
      this.slots.clear()
      for (const [group, slots] of saved.slots) this.slots.set(group, slots)
      this.nextId = saved.nextId
    }
    let outcome: {commit: boolean; value: T}
    try {
      outcome = body()
    } catch (error) {
      restore()
      throw error
    }
    if (!outcome.commit) restore()
    return outcome.value
  }

  private beginRun<Why>(request: BeginRequest<Why>): {commit: boolean; value: BeginResult<Why>} {
    const {code, holder, nowMs, leaseMs} = request
    const leaseNowMs = request.leaseNowMs ?? nowMs
    const job = this.jobRow(code)
    if (job.leaseExpiresMs !== null && job.leaseExpiresMs > leaseNowMs) return {commit: false, value: {kind: 'claimed-elsewhere', holder: job.holder && {host: job.holder.host, pid: job.holder.pid, lockedMs: job.holder.lockedMs, leaseExpiresMs: job.leaseExpiresMs}}}
    Object.assign(job, {holder: {...holder, lockedMs: leaseNowMs}, leaseExpiresMs: leaseNowMs + leaseMs, cancelForMs: null})
    let history = this.historiesAt(nowMs, [code], leaseNowMs, request.skewMs).get(code) ?? EMPTY_HISTORY
    if (request.ledger) history = {...history, heldToMs: job.heldToMs ?? null, resumedMs: job.resumedMs ?? null}
    const interrupted = this.interruptStale(code, leaseNowMs)
    const paused = interrupted.length > 0 ? this.pauseAfterFailures(code, request.pauseAfterFailures, nowMs) : null
    const decision = request.decide(history, paused)
    const skips = request.limit ? heldBackSkips(decision.skips ?? [], job.heldBackMs ?? null, request.limit) : (decision.skips ?? [])
    this.ledger.add(code, skips)
    if (skips.length > 0) job.heldToMs = Math.max(job.heldToMs ?? -Infinity, skips[skips.length - 1].ms)
    if (!decision.start) {
      if (interrupted.length === 0 && skips.length === 0) return {commit: false, value: {kind: 'declined', why: decision.why, interrupted}}
      this.releaseIfHeld(code, holder.token)
      return {commit: true, value: {kind: 'declined', why: decision.why, interrupted}}
    }
    const periodMs = decision.periodMs ?? null
    const late = request.limit ? this.limited(request, job, periodMs) : {startedLateMs: request.startedLateMs}
    if ('limited' in late) return {commit: true, value: {...late.limited, interrupted}}
    const runId = this.insert({code, status: 'running', startMs: nowMs, ranAtTime: decision.slot, host: holder.host, pid: holder.pid, leaseMs, leaseNowMs, forced: request.forced, version: request.version, periodMs, ...late}, false)
    if (request.ledger && periodMs !== null) job.heldToMs = Math.max(job.heldToMs ?? -Infinity, periodMs)
    if (request.parallel) this.releaseIfHeld(code, holder.token)
    const previous = history.lastSuccess ? this.copy(this.runs.find((run) => run.id === history.lastSuccess!.id)) : null
    return {commit: true, value: {kind: 'started', runId, slot: decision.slot, periodMs, previousSuccess: previous ?? null, interrupted}}
  }

  /** As the SQL recorder's limitedOn: the first free slot 1..N taken, else the claim released and the job marked held back. */
  private limited<Why>(request: BeginRequest<Why>, job: JobRow, periodMs: number | null): {limited: {kind: 'limited'; group: string; running: number}} | {startedLateMs?: number | null; lateReason?: string} {
    const {code, holder, nowMs} = request
    const {group, slots: count} = request.limit!
    const leaseNowMs = request.leaseNowMs ?? nowMs
    const slots = this.slots.get(group) ?? []
    while (slots.length < count) slots.push({code: null, token: null, leaseExpiresMs: null})
    this.slots.set(group, slots)
    const free = slots.slice(0, count).find((slot) => slot.leaseExpiresMs === null || slot.leaseExpiresMs <= leaseNowMs)
    const heldBackMs = job.heldBackMs ?? null
    const forThisPeriod = heldBackMs !== null && periodMs !== null && heldBackMs >= periodMs
    if (free === undefined) {
      this.releaseIfHeld(code, holder.token)
      if (!forThisPeriod) job.heldBackMs = nowMs
      return {limited: {kind: 'limited', group, running: count}}
    }
    Object.assign(free, {code, token: holder.token, leaseExpiresMs: leaseNowMs + request.leaseMs})
    job.heldBackMs = null
    if (!forThisPeriod) return {startedLateMs: request.startedLateMs}
    return {startedLateMs: Math.max(request.startedLateMs ?? 0, nowMs - heldBackMs, 1), lateReason: limitReason(group)}
  }

  /** As the SQL reads them: each lease placed on the decision's clock by the time it has left on the lease clock. */
  private historiesAt(nowMs: number, codes?: readonly string[], leaseNowMs = nowMs, skewMs = 0): Map<string, JobHistory> {
    const histories = new Map<string, JobHistory>()
    const shifted = (run: RunRow) => ({...run, leaseExpiresMs: run.leaseExpiresMs === null ? null : run.leaseExpiresMs + nowMs - leaseNowMs})
    for (const code of new Set(this.runs.map((run) => run.code))) {
      if (!codes || codes.includes(code)) histories.set(code, historyFromRuns(this.runs.filter((run) => run.code === code).map(shifted), nowMs, skewMs))
    }
    return histories
  }

  private insert(run: NewRun, ensureJob: boolean): number {
    if (ensureJob) this.jobRow(run.code)
    const running = run.status === 'running'
    const row: RunRow = {
      id: this.nextId++,
      code: run.code,
      status: run.status,
      startMs: run.startMs,
      endMs: run.endMs ?? null,
      message: run.message ?? null,
      ranAtTime: run.ranAtTime ?? null,
      host: run.host ?? null,
      pid: run.pid ?? null,
      leaseExpiresMs: run.leaseMs !== undefined ? (run.leaseNowMs ?? run.startMs) + run.leaseMs : (run.leaseExpiresMs ?? null),
      leaseRenewedMs: running ? (run.leaseNowMs ?? run.startMs) : null,
      leaseOverrun: false,
      forced: run.forced === true,
      version: run.version ?? null,
      startedLateMs: run.startedLateMs ? Math.round(run.startedLateMs) : null,
      periodMs: run.periodMs ?? null,
      lateReason: run.lateReason ?? null,
    }
    this.runs.push(row)
    return row.id
  }

  private finish(id: number, status: RunStatus, endMs: number, message: string | null): void {
    const run = this.runs.find((candidate) => candidate.id === id)
    if (run) Object.assign(run, {status, endMs, message, leaseExpiresMs: null})
  }

  private interruptStale(code: string, nowMs: number): RunRow[] {
    const stale = this.runs.filter((run) => run.code === code && run.status === 'running' && (run.leaseExpiresMs === null || run.leaseExpiresMs <= nowMs))
    return stale.map((run) => {
      const before = {...run}
      const {endMs, message} = interruptionOf(before)
      Object.assign(run, {status: 'interrupted', endMs, message, leaseExpiresMs: null})
      return {...before, status: 'interrupted' as const, message}
    })
  }

  private freeSlot(group: string, token: string): void {
    const slot = this.slots.get(group)?.find((candidate) => candidate.token === token)
    if (slot) Object.assign(slot, {code: null, token: null, leaseExpiresMs: null})
  }

  /** As the SQL recorder's (failure-pause.ts), but for the action row and the alert, which the memory log does not keep. */
  private pauseAfterFailures(code: string, after: number | null | undefined, atMs: number): PauseInfo | null {
    const job = this.jobRow(code)
    if (!after || job.pause !== null) return null
    const runs = this.runs.filter((run) => run.code === code && run.status !== 'running').sort((a, b) => b.startMs - a.startMs || b.id - a.id)
    if (!pausesAfterFailures(after, runs, job.resumedMs ?? null)) return null
    job.pause = {sinceMs: atMs, by: PAUSED_BY_FAILURES, note: pauseNote(after, runs[0])}
    return {...job.pause}
  }

  private releaseIfHeld(code: string, token: string): void {
    const job = this.jobs.get(code)
    if (job?.holder?.token === token) Object.assign(job, {holder: null, leaseExpiresMs: null, cancelForMs: null})
  }

  private remove(runs: readonly RunRow[]): void {
    for (const run of runs) this.runs.splice(this.runs.indexOf(run), 1)
  }

  private jobRow(code: string): JobRow {
    let job = this.jobs.get(code)
    if (!job) this.jobs.set(code, (job = {holder: null, leaseExpiresMs: null, pause: null, resumedMs: null}))
    return job
  }

  private copy(run: RunRow | undefined): RunRow | undefined {
    return run && {...run}
  }
}
