import {messageFromError} from '../jobs/message'
import {firstLine} from '../base/text'
import type {TickScope} from './tick-scope'

/** A run's claim on its job: its token, and whether this process still holds it (a parallel job's is let go at once). */
export interface Claim {
  token: string
  held: boolean
}

/**
 * Keep a running job's lease (its running row, and its claim while held) alive while do() runs,
 * renewed every `renewEveryMs`, so that only a dead process loses them. `stop` ends the renewals
 * at once and resolves when the last one has been answered.
 */
export function renewWhileRunning(scope: TickScope, code: string, runId: number, claim: Claim): {stop(): Promise<void>} {
  let renewing: Promise<void> = Promise.resolve()
  const renew = () => {
    const leaseNowMs = scope.leaseClock()
    const row = scope.store.renewRun(runId, leaseNowMs, scope.leaseMs)
    const locked = claim.held ? scope.lock.renew(code, claim.token, leaseNowMs, scope.leaseMs) : true
    renewing = Promise.all([row, locked]).then(
      ([rowRenewed, lockRenewed]) => {
        if (!rowRenewed || !lockRenewed) scope.log(code, 'warn', 'lost the claim while running (its lease ran out); another process may start this job')
      },
      (error: unknown) => scope.log(code, 'warn', `could not renew the lease: ${firstLine(messageFromError(error))}`),
    )
  }
  const timer = setInterval(renew, scope.renewEveryMs)
  timer.unref()
  return {
    stop() {
      clearInterval(timer)
      return renewing
    },
  }
}
