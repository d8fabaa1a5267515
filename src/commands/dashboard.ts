import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command'
import type {JobStarter} from '../core/operate/run-now'
import {childEnvironment, DashboardActions} from '../dashboard/actions'
import {authConfigured, checkBind, listen} from '../dashboard/listen'
import {checkDashboardAuth} from '../core/project/dashboard-settings'
import {checkMigrated} from '../core/db/migrations'
import {DashboardData} from '../dashboard/data'
import {checkTrustProxy} from '../dashboard/proxy'
import {dashboardHandler} from '../dashboard/server'
import {UsageError} from '../core/base/errors'
import {systemClock} from '../core/time/clock'

export default class Dashboard extends BaseCommand<typeof Dashboard> {
  static writesDatabase = true
  static writes = true

  static summary = 'Serve a web dashboard of the jobs and their runs (run now, pause, resume, unlock), with a JSON API.'

  static description =
    'It listens on 127.0.0.1 by default and always asks to sign in: with MANAGE_DASHBOARD_TOKEN (or the settings\' dashboard.token), or as one of the settings\' dashboard.users (passwords hashed with `manage dashboard:password`). With neither, on 127.0.0.1 only, it makes a token for this run and writes it to var/dashboard-token. API clients send Authorization: Bearer <token>. See README, "Dashboard".'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --port 8080 --read-only', 'MANAGE_DASHBOARD_TOKEN=… <%= config.bin %> <%= command.id %> --host 0.0.0.0']

  static flags = {
    host: Flags.string({description: 'The address to listen on (another than 127.0.0.1 needs authentication configured).', default: '127.0.0.1'}),
    port: Flags.integer({description: 'The port (0: any free one).', default: 8000, min: 0, max: 65535}),
    'read-only': Flags.boolean({description: 'Refuse every action (run now, pause, resume, unlock), whoever asks.'}),
  }

  async run(): Promise<void> {
    const {host, port} = this.flags
    const settings = await this.project.settings()
    const problems: string[] = []
    const auth = checkDashboardAuth(settings.values.dashboard, this.io.env.MANAGE_DASHBOARD_TOKEN, problems)
    const proxies = checkTrustProxy(settings.values.dashboard?.trustProxy, problems)
    if (problems.length > 0) throw new UsageError(problems.join('\n'))
    checkBind(host, auth)
    // Else it would start, then answer 500 on every page.
    await checkMigrated(this.project.db(), this.project.database().description)
    if (!authConfigured(auth)) {
      auth.token = randomBytes(24).toString('hex')
      const file = path.join(this.project.paths.root, 'var', 'dashboard-token')
      mkdirSync(path.dirname(file), {recursive: true})
      writeFileSync(file, `${auth.token}\n`, {mode: 0o600})
      chmodSync(file, 0o600)
      this.log(`No token is configured: one for this run is in ${path.relative(this.io.cwd, file) || file} (readable by you only). Sign in with it, or set MANAGE_DASHBOARD_TOKEN.`)
    }
    const clock = await this.project.clock()
    const source = this.project.runLogSource()
    const data = new DashboardData(source, settings)
    const actions = new DashboardActions(source, this.starter(), clock, systemClock)
    const stderr = this.io.stderr
    const log = (line: string) => stderr.write(`${new Date().toISOString()} ${line}\n`)
    const {server, url} = await listen(dashboardHandler({data, actions, auth, settings, readOnly: this.flags['read-only'] === true, clock, realClock: systemClock, proxies, log}), host, port)
    this.log(`Dashboard on ${url}${this.flags['read-only'] ? ' (read-only)' : ''}; Ctrl-C to stop.`)
    await new Promise<void>((resolve) => {
      const stop = () => server.close(() => resolve())
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
  }

  /** Run now: `manage runcrons CODE --force` of this project, in a process of its own (the tick's claim, containment and timeouts). */
  private starter(): JobStarter {
    const bin = path.join(this.config.root, 'bin', 'manage')
    const root = this.project.paths.root
    return (code) => {
      // Without the dashboard's secrets: a job must not be able to read the token and print it.
      const env = {...childEnvironment(this.io.env), MANAGE_SETTINGS: this.project.paths.settingsFile}
      const child = spawn(process.execPath, [bin, 'runcrons', code, '--force', '--silent', '--project', root], {cwd: root, env, stdio: 'ignore'})
      const ended = new Promise<{exitCode: number | null}>((resolve) => {
        child.on('error', () => resolve({exitCode: null}))
        child.on('close', (exitCode) => resolve({exitCode}))
      })
      // node is spawned directly, so its pid is the one a run it claims records.
      return {pid: child.pid, ended}
    }
  }
}
