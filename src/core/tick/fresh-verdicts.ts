import type {LoadedJob} from '../jobs/load-jobs'
import {usesLedger} from '../jobs/run-policy'
import {EMPTY_HISTORY} from '../schedule/history'
import type {Verdict} from '../schedule/verdict'
import type {TickPlan} from './plan'
import type {JobHistory} from '../contract/run-types'

/**
 * The verdicts a tick acts on, read again once another server shows itself. The plan decided on
 * one snapshot; with several servers ticking at once, by the time this one reaches a job another
 * may have claimed or run it, and learning that by claiming costs a transaction per job. So once a
 * claim is lost (the job was held, or had run meanwhile), the histories of the jobs still due and
 * not yet taken up are read again, in one statement, and decided anew: those run or held elsewhere
 * since are passed over without a claim. A verdict read this way only ever holds a job back: one it
 * finds due is still claimed and decided again under its claim. A job that keeps a ledger keeps the
 * plan's verdict (its hold is read under its claim), and a failed read changes nothing.
 */
export class FreshVerdicts {
  private readonly verdicts: Map<string, Verdict>
  private readonly waiting: Map<string, LoadedJob>
  private stale = false
  private reading: Promise<void> | null = null

  constructor(
    private readonly plan: Pick<TickPlan, 'jobs' | 'verdicts' | 'decide'>,
    /** The histories of these jobs, now, and the decisions' time. */
    private readonly read: (codes: string[]) => Promise<{histories: ReadonlyMap<string, JobHistory>; nowMs: number}>,
  ) {
    this.verdicts = new Map(plan.verdicts)
    this.waiting = new Map(plan.jobs.filter((job) => !usesLedger(job.policy) && plan.verdicts.get(job.code)?.kind === 'due').map((job) => [job.code, job]))
  }

  /** The verdict to act on for a job taken up now: read again first if a claim was lost since the last read. */
  async of(job: LoadedJob): Promise<Verdict> {
    const refreshable = this.waiting.delete(job.code)
    if (refreshable && (this.stale || this.reading !== null)) await this.refresh(job)
    return this.verdicts.get(job.code)!
  }

  /** A claim was lost to another server: the next job taken up reads the rest again. */
  lost(): void {
    this.stale = true
  }

  private async refresh(job: LoadedJob): Promise<void> {
    if (this.reading === null) {
      this.stale = false
      const jobs = [job, ...this.waiting.values()]
      this.reading = this.read(jobs.map((one) => one.code))
        .then(({histories, nowMs}) => {
          for (const one of jobs) this.verdicts.set(one.code, this.plan.decide(one, histories.get(one.code) ?? EMPTY_HISTORY, nowMs))
        })
        .catch(() => undefined)
        .finally(() => (this.reading = null))
    }
    await this.reading
  }
}
