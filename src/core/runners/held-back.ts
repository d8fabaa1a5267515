import type {LoadedJob} from '../jobs/load-jobs'
import type {Outcome} from '../tick/run-crons'

/**
 * The jobs their limit held back in one scheduler, by group. A held-back job stays due; the
 * scheduler tries it again at its next instant (the end of its period), or as soon as a run of its
 * group ends in this process, which may have freed the slot it waits for.
 */
export class HeldBack {
  private readonly waiting = new Map<string, string>()

  /**
   * A job of a limit group let go of its admission, with its last outcome: held back (it waits),
   * or anything else: the group's jobs held back here, which may try now (forgotten until held back again).
   */
  ended(job: LoadedJob, outcome: Outcome | undefined): string[] {
    const group = job.policy.limit
    if (group === null) return []
    if (outcome?.kind === 'limited') {
      this.waiting.set(job.code, group)
      return []
    }
    this.waiting.delete(job.code)
    const free: string[] = []
    for (const [code, waiting] of this.waiting) if (waiting === group) free.push(code)
    for (const code of free) this.waiting.delete(code)
    return free
  }
}
