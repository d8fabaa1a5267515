import {appendFile, mkdir} from 'node:fs/promises'
import path from 'node:path'
import {CronJobBase, type CronContext} from '../core/contract/cron-job-base'

/** The project's root: dist/src/crons → three folders up. */
const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..')

/**
 * Appends "DD/MM/YYYY-HH:MM:SS <app> is alive" to a log file every minute, so you can see
 * that the crontab line, the run log and the scheduler all work.
 */
export class HeartbeatCronJob extends CronJobBase {
  code = 'app.heartbeat'
  runEveryMins = 1
  // A crontab tick starts a little earlier or later each minute: without slack, "every minute"
  // would drift to every other minute (a classic django-cron complaint).
  runToleranceSeconds = 10

  async do(ctx: CronContext): Promise<string> {
    const app = String(ctx.settings.appName ?? 'app')
    const file = String(process.env.HEARTBEAT_FILE || ctx.settings.heartbeatFile || path.join(PROJECT_ROOT, 'var', 'heartbeat.log'))
    const line = `${ctx.now.toFormat('dd/MM/yyyy-HH:mm:ss')} ${app} is alive`
    await mkdir(path.dirname(file), {recursive: true})
    await appendFile(file, `${line}\n`)
    return `${line} (${file})`
  }
}
