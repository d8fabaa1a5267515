import {messageFromError} from '../jobs/message'
import {firstLine} from '../base/text'
import type {TickScope} from './tick-scope'

/**
 * A run's claim on its job: its token, and whether this process still holds it (a parallel job's is
 * let go at once); and the group of its limit while it holds a slot of it (by the same token).
 */
export interface Claim {
  token: string
  held: boolean
  slot: string | null
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
    const slotted = claim.slot !== null ? scope.lock.renewSlot(claim.slot, claim.token, leaseNowMs, scope.leaseMs) : true
    renewing = Promise.all([row, locked, slotted]).then(
      ([rowRenewed, lockRenewed, slotRenewed]) => {
        if (!rowRenewed || !lockRenewed) scope.log(code, 'warn', 'lost the claim while running (its lease ran out); another process may start this job')
        if (!slotRenewed) scope.log(code, 'warn', `lost its slot of limit '${claim.slot}' while running (its lease ran out); another run of the group may take it`)
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
