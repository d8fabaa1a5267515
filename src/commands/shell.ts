import {BaseCommand} from '../cli/base-command'
import {runShell, shellContext} from '../cli/tools/shell'
import * as api from '../index'

export default class Shell extends BaseCommand<typeof Shell> {
  static writesDatabase = true

  static summary = 'Open a Node REPL with the settings, the database and the cron classes loaded.'

  static description = `In scope: settings (the settings module's values), db (the knex instance), crons (the settings' cron classes by class name) and manage (the framework: runCrons, KnexRunStore, checkProject, migrate, …). Top-level await works: \`await db('cron_job_log').count()\`. The database is closed when the REPL exits (.exit or Ctrl-D).`

  static examples = ["<%= config.bin %> <%= command.id %>", "echo \"db('cron_job_log').count().then(console.log)\" | <%= config.bin %> <%= command.id %>"]

  async run(): Promise<void> {
    const {context, banner} = await shellContext(this.project, api)
    this.log(banner)
    await runShell(this.project, context, {input: process.stdin, output: process.stdout})
  }
}
