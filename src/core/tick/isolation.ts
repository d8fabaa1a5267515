import type {LogLevel} from '../contract/run-types'
import {loadJob} from '../jobs/load-jobs'
import {messageFromResult} from '../jobs/message'
import {selectByName} from '../jobs/select-jobs'
import {Project} from '../project/project'
import {runLogView} from '../run-log/run-store'
import {cronContext, type ContextRun} from './context'

/**
 * Isolation (CronJobBase.isolate): an isolated job's do() runs in a process of its own, forked by
 * the CLI (cli/runcrons/isolated-child.ts) for one run. Whatever the job does there (native code, a
 * leak, a hung loop, process.exit) ends that process at worst; the tick records it and kills the
 * process when it does not stop in time. This module is both sides' part that is not the process:
 * the messages, what the tick asks of a runner, and the child's one run.
 */

/** How the tick starts an isolated run and stops it (the CLI's forking runner). */
export interface IsolatedRunner {
  start(request: Extract<ToChild, {type: 'start'}>, onLog: (level: LogLevel, message: string) => void): IsolatedRun
}

export interface IsolatedRun {
  /** How it ended: the child's answer, or its process ending without one. */
  done: Promise<ChildEnded>
  /** Ask do() to stop (ctx.signal fires in the child). */
  stop(why: string): void
  /** End the process now (past the grace period, or once it has answered). */
  kill(): void
}

/** What the tick sends. */
export type ToChild =
  | {type: 'start'; root: string; settingsFile: string; code: string; run: ContextRun}
  | {type: 'stop'; why: string}

/** What the child sends back. */
export type FromChild = {type: 'log'; level: LogLevel; message: string} | {type: 'done'; ok: true; message: string | null} | {type: 'done'; ok: false; error: {name: string; message: string; stack?: string}}

/** How an isolated run ended: the child's answer, or its process ending without one. */
export type ChildEnded = Extract<FromChild, {type: 'done'}> | {type: 'exited'; code: number | null; signal: NodeJS.Signals | null}

/** An error as the child sends it. */
export function failed(error: unknown): FromChild {
  const value = error instanceof Error ? error : new Error(`thrown value (not an Error): ${String(error)}`)
  return {type: 'done', ok: false, error: {name: value.name, message: value.message, stack: value.stack}}
}

/** The child's one run: load the settings, find the class by its code, build ctx, call do(). */
export async function runOnce(start: Extract<ToChild, {type: 'start'}>, signal: AbortSignal, send: (message: FromChild) => void): Promise<FromChild> {
  const project = new Project(start.root, process.env, start.settingsFile)
  try {
    const settings = await project.settings()
    const [cls] = selectByName([start.code], settings.crons, settings.cronsDir)
    const {job} = loadJob(cls)
    if (!job) throw new Error(`the class of ${start.code} no longer loads in its own process`)
    const reach = {log: (level: LogLevel, message: string) => send({type: 'log', level, message}), db: () => project.db(), runLog: () => runLogView(project.runStore()), settings: settings.values}
    const ctx = cronContext(job.code, start.run, signal, reach)
    return {type: 'done', ok: true, message: messageFromResult(await job.job.do(ctx))}
  } catch (error) {
    return failed(error)
  } finally {
    await project.close().catch(() => undefined)
  }
}
