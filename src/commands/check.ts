import path from 'node:path'
import {BaseCommand} from '../cli/base-command'
import {crontabProblems} from '../cli/tools/crontab'
import {checkProject} from '../core/project/check'
import {UsageError} from '../core/base/errors'
import {wantsStack} from '../cli/output/command-end'

export default class Check extends BaseCommand<typeof Check> {
  static summary = 'Check the settings, every cron class and the database, and print every problem with its fix.'

  static description = 'Like Django\'s `manage.py check`. Exit status 1 when there is an error (warnings alone exit 0); 2 for a malformed DATABASE_URL, as in every command. `manage runcrons` runs the cheap part of the same checks on every tick and skips a bad class without stopping the others.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --settings dist/src/settings.js']

  async run(): Promise<void> {
    // A malformed DATABASE_URL is bad input (one line, exit 2), as in every other command, not one problem among others.
    try {
      this.project.database()
    } catch (error) {
      if (error instanceof UsageError) throw error // any other failure is reported below as a database problem
    }
    const {problems: projectProblems, jobCount, failures, notes} = await checkProject(this.project)
    const problems = [...projectProblems, ...(await crontabProblems({root: this.project.paths.root, bin: path.join(this.config.root, 'bin', 'manage')}, this.io.env))]
    const errors = problems.filter((problem) => problem.level === 'error')
    const warnings = problems.filter((problem) => problem.level === 'warning')
    const noted = () => notes.forEach((note) => this.log(`${note.subject}: ${note.message}`))
    if (problems.length === 0) {
      this.log(`System check identified no issues (${jobCount} cron job(s)).`)
      noted()
      return
    }
    this.log('System check identified some issues:')
    for (const [title, list, paint] of [['ERRORS', errors, this.paint.error], ['WARNINGS', warnings, this.paint.warn]] as const) {
      if (list.length === 0) continue
      this.log(`\n${paint(title)}:`)
      for (const problem of list) this.log(`${problem.subject}: ${problem.message}`)
    }
    this.log(`\nSystem check identified ${problems.length} issue(s).`)
    noted()
    if (Boolean(this.flags.traceback) || wantsStack(this.argv, this.io.env)) {
      for (const failure of failures) this.io.stderr.write(`${(failure.cause instanceof Error ? failure.cause : failure).stack ?? String(failure)}\n`)
    }
    if (errors.length > 0) this.exit(1)
  }
}
