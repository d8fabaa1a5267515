import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command'
import {UsageError} from '../../core/base/errors'
import {codeProblem} from '../../core/jobs/load-jobs'
import {localOperatorName, projectOperator} from '../../core/operate/operator'
import {reportOrRefuse} from '../../core/operate/unlock'

export default class CronsUnlock extends BaseCommand<typeof CronsUnlock> {
  static writesDatabase = true
  static writes = true

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
    // A code the job loader refuses (a control character, too long) is no job's: refused before it is printed or looked up.
    const problem = codeProblem(this.args.code)
    if (problem !== undefined) throw new UsageError(problem)
    const operator = await projectOperator(this.project)
    const report = reportOrRefuse(await operator.unlock(this.args.code, {force: this.flags.force}))
    let outcome = `${this.args.code} is not locked.`
    if (report.released) {
      const who = `pid ${report.holder?.pid ?? '?'} on ${report.holder?.host ?? '?'}`
      outcome = `Released ${this.args.code} (held by ${who}${report.wasLive ? ', lease still alive: forced' : ', lease had run out'}); ${report.interrupted} running row(s) recorded as interrupted.`
      await operator.record({code: this.args.code, action: 'unlock', by: localOperatorName(), note: this.flags.force ? '--force' : null, outcome})
    }
    this.log(outcome)
  }
}
