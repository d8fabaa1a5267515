import type {RunPolicy} from '../jobs/run-policy'
import {windowText} from './describe'

/** What each catch-up and overlap policy does, in words (manage check): one sentence each, none for a job that sets neither. */
export function policySentences(policy: Pick<RunPolicy, 'catchUp' | 'catchUpWindowMs' | 'overlap'> & Partial<Pick<RunPolicy, 'limit'>>): string[] {
  const sentences: string[] = []
  const window = policy.catchUpWindowMs ? `, within ${windowText(policy.catchUpWindowMs)} (older ones are skipped, outside the catch-up window)` : ''
  if (policy.catchUp === 'none') sentences.push("catch-up 'none': a period missed by more than a tick is skipped, and recorded so; the next period on time runs")
  if (policy.catchUp === 'latest') sentences.push(`catch-up 'latest': after missed periods, the latest runs once, late${window}; the ones before it are recorded skipped`)
  if (policy.catchUp === 'all') sentences.push(`catch-up 'all': each missed period runs, oldest first, one at a time${window}; past the latest 100 they are recorded skipped`)
  if (policy.overlap === 'skip') sentences.push("overlap 'skip': a period that falls due while a run is live, on any server, is recorded skipped")
  if (policy.overlap === 'bufferOne') sentences.push("overlap 'bufferOne': the latest period that falls due while a run is live starts right after it ends; the others are recorded skipped")
  if (policy.overlap === 'bufferAll') sentences.push("overlap 'bufferAll': each period that falls due while a run is live runs after it, in order")
  if (policy.overlap === 'cancelOther') sentences.push("overlap 'cancelOther': a period that falls due while a run is live stops it (ctx.signal; recorded cancelled) and starts once it has ended")
  if (policy.limit) sentences.push(`limit '${policy.limit}': at most the settings' limits.${policy.limit} runs of its group at once, on every server; held back, it stays due`)
  if (policy.overlap !== null && policy.catchUp === null && policy.overlap !== 'allowAll') sentences.push("catch-up (not set): after missed periods the latest runs once, as django-cron would, and the ones before it are recorded skipped")
  return sentences
}
