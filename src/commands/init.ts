import {BaseCommand} from '../cli/base-command'
import {initProject} from '../cli/tools/init'
import {locateProject} from '../core/project/layout'

export default class Init extends BaseCommand<typeof Init> {
  static summary = 'Set manage up in this app: settings, knexfile, an example job and its test, folders, build and test scripts, .gitignore.'

  static description = `Run it in your app's folder (the nearest folder with a package.json, or --project DIR). It adds a "manage" section to package.json saying where manage's parts are (in a TypeScript app: where tsc really compiles from and to, its rootDir, else the common folder of its input files, and its outDir), then writes the settings module, a knexfile (a sqlite file in var/), an example job with its test, the commands and migrations folders, a "build" script if a TypeScript app has none, a "test" script (manage test) if the app has none, a tsconfig.json if it has none, and .gitignore lines for the sqlite file and var/. It never overwrites a file: one that exists is kept and listed. TypeScript (CommonJS or "type": "module") and plain JavaScript apps are supported.`

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --project ../my-app']

  static checksBuild = false

  async run(): Promise<void> {
    const report = initProject(locateProject(this.io.cwd, this.io.env, this.flags.project))
    this.log(`manage in ${report.root} (${report.language === 'typescript' ? 'TypeScript' : 'JavaScript'}, ${report.moduleType === 'module' ? 'ES modules' : 'CommonJS'})`)
    for (const edit of report.edits) this.log(`  ${this.paint.ok('+')} ${edit}`)
    for (const file of report.created) this.log(`  ${this.paint.ok('+')} ${file}`)
    for (const file of report.kept) this.log(`  = ${file} (exists: kept as it is)`)
    this.log('Next:')
    for (const [i, step] of report.nextSteps.entries()) this.log(`  ${i + 1}. ${step}`)
  }
}
