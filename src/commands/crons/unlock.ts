import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command'
import {unlockJob} from '../../core/run-log/unlock'
import {systemClock} from '../../core/time/clock'

export default class CronsUnlock extends BaseCommand<typeof CronsUnlock> {
  static summary = "Release a job's claim by hand (after a crash, instead of waiting for its lease to run out)."

  static description = `A claim whose lease is still being renewed belongs to a live process and is refused unless --force. The job's running rows are recorded as interrupted.`

  static examples = ['<%= config.bin %> <%= command.id %> news.fetch', '<%= config.bin %> <%= command.id %> news.fetch --force']

  static args = {
    code: Args.string({description: "The job's code.", required: true}),
  }

  static flags = {
    force: Flags.boolean({description: 'Release it even though its lease is still alive.'}),
  }

  async run(): Promise<void> {
    const clock = await this.project.clock()
    const report = await unlockJob(this.project.runLogSource(), this.args.code, {force: this.flags.force, nowMs: clock(), leaseNowMs: systemClock()})
    if (!report.released) {
      this.log(`${this.args.code} is not locked.`)
      return
    }
    const who = `pid ${report.holder?.pid ?? '?'} on ${report.holder?.host ?? '?'}`
    this.log(`Released ${this.args.code} (held by ${who}${report.wasLive ? ', lease still alive: forced' : ', lease had run out'}); ${report.interrupted} running row(s) recorded as interrupted.`)
  }
}
