import {BaseCommand} from '../../cli/base-command'
import {hashPassword} from '../../dashboard/auth'
import {UsageError} from '../../core/base/errors'

export default class DashboardPassword extends BaseCommand<typeof DashboardPassword> {
  static summary = "Hash a password for the settings' dashboard.users: reads it from standard input, prints the hash."

  static examples = ["printf '%s' \"$PASSWORD\" | <%= config.bin %> <%= command.id %>"]

  async run(): Promise<void> {
    let input = ''
    for await (const chunk of process.stdin) input += chunk
    const password = input.replace(/\r?\n$/, '')
    if (password.length < 12) throw new UsageError('the password on standard input is shorter than 12 characters: use a longer one')
    this.log(hashPassword(password))
  }
}
