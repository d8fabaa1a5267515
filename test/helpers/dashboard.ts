import {spawn, type ChildProcess} from 'node:child_process'
import {BIN, ROOT} from './cli'

/** A real `bin/manage dashboard` on a free port, with this environment; stopped by stop(). */
export async function startDashboard(env: Record<string, string>, args: string[] = []): Promise<{url: string; output: () => string; stop(): Promise<void>}> {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'dashboard', '--port', '0', ...args], {cwd: ROOT, env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the dashboard did not start:\n${output}`)), 15_000)
    const look = () => {
      const match = /Dashboard on (http:\/\/\S+?)[;\s]/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1])
      }
    }
    child.stdout!.on('data', look)
    child.on('exit', (code) => reject(new Error(`the dashboard exited (${code}):\n${output}`)))
  })
  return {
    url,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGINT')
      }),
  }
}
