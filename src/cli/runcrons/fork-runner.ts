import path from 'node:path'
import type {ChildEnded, FromChild, IsolatedRun, IsolatedRunner, ToChild} from '../../core/tick/isolation'
import type {LogLevel} from '../../core/contract/run-types'
import {commandIO, PROCESS_IO} from '../output/command-io'

/**
 * Isolated runs as child processes of this one (isolated-child.ts beside this module, in dist/src
 * and in the bundled dist/entry alike). The child's output goes where the tick's goes: the
 * process's own streams, or callCommand's capture through a pipe.
 */
export const forkRunner: IsolatedRunner = {
  start(request: Extract<ToChild, {type: 'start'}>, onLog: (level: LogLevel, message: string) => void): IsolatedRun {
    const io = commandIO()
    const output = io === PROCESS_IO ? 'inherit' : 'pipe'
    // Loaded here, not at the top: only a tick with an isolated job starts a process.
    const {fork} = require('node:child_process') as typeof import('node:child_process')
    const child = fork(path.join(__dirname, 'isolated-child.js'), [], {stdio: ['ignore', output, output, 'ipc'], serialization: 'advanced'})
    child.stdout?.setEncoding('utf8').on('data', (text: string) => io.stdout.write(text))
    child.stderr?.setEncoding('utf8').on('data', (text: string) => io.stderr.write(text))
    const done = new Promise<ChildEnded>((resolve) => {
      child.on('message', (message: FromChild) => {
        if (message.type === 'log') onLog(message.level, message.message)
        else resolve(message)
      })
      child.on('exit', (code, signal) => resolve({type: 'exited', code, signal}))
      child.on('error', () => resolve({type: 'exited', code: null, signal: null}))
    })
    child.send(request)
    return {
      done,
      stop: (why) => void (child.connected && child.send({type: 'stop', why} satisfies ToChild)),
      kill: () => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')),
    }
  },
}
