import {failed, runOnce, type FromChild, type ToChild} from '../../core/tick/isolation'

/**
 * The process an isolated job's do() runs in (CronJobBase.isolate), forked by the tick for one
 * run (see fork-runner.ts): it takes its orders over IPC and sends back how do() ended.
 */
const send = (message: FromChild) => process.send?.(message)
const controller = new AbortController()
// What no await catches ends the run, as the tick's containment would in its own process.
const crash = (error: unknown) => {
  send(failed(error))
  process.exit(1)
}
process.on('unhandledRejection', crash)
process.on('uncaughtException', crash)
process.on('message', (message: ToChild) => {
  if (message.type === 'stop') controller.abort(new Error(message.why))
  else void runOnce(message, controller.signal, send).then(send)
})
