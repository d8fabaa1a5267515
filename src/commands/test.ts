import {BaseCommand} from '../cli/base-command'
import {runProjectTests} from '../cli/tools/run-tests'

export default class Test extends BaseCommand<typeof Test> {
  static summary = "Run the app's job and command tests (node --test) against a throw-away run log."

  static description = `Like Django's \`manage.py test\`: finds the compiled tests of your jobs and commands (*.test.js in the build's crons and commands folders, as startcron and startcommand write them), makes a sqlite run log in a temporary folder with every migration applied (the framework's and yours), and runs \`node --test\` on them from the app's folder with DATABASE_URL pointing at it, so a test that runs \`manage\` or opens the database never touches yours. The run log is deleted afterwards. Refused when the build is older than its sources (run \`npm run build\`). Arguments after -- go to node --test. Exits with node's status.`

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> -- --test-name-pattern=Example']

  // Everything after -- is node --test's.
  static strict = false

  // A stale build is an error here, not a warning (runProjectTests says so).
  static checksBuild = false

  async run(): Promise<void> {
    const status = await runProjectTests(this.project, {
      env: this.io.env,
      settingsFile: this.flags.settings,
      nodeArgs: this.argList,
      stdout: this.io.stdout,
      stderr: this.io.stderr,
      announce: (line) => this.verbosity > 0 && this.io.stderr.write(`${line}\n`),
    })
    if (status !== 0) this.exit(status)
  }
}
