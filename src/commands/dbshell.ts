import {BaseCommand} from '../cli/base-command'
import {runDbShell} from '../cli/tools/db-shell'

export default class DbShell extends BaseCommand<typeof DbShell> {
  static summary = "Open the database's own command-line client: sqlite3, psql, or mysql/mariadb."

  static description = `Connects with the project's database settings (DATABASE_URL or the knexfile). Passwords are passed in the client's environment (PGPASSWORD, MYSQL_PWD), never on its command line. Arguments after -- go to the client. Exits with the client's status.`

  static examples = ['<%= config.bin %> <%= command.id %>', "echo 'SELECT count(*) FROM cron_job_log;' | <%= config.bin %> <%= command.id %>", '<%= config.bin %> <%= command.id %> -- -c "\\dt"']

  // Everything after -- is the client's.
  static strict = false

  async run(): Promise<void> {
    const status = await runDbShell(this.project.database(), this.io.env, this.argList)
    if (status !== 0) this.exit(status)
  }
}
