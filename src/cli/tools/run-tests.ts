import {spawn} from 'node:child_process'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {constants, tmpdir} from 'node:os'
import path from 'node:path'
import {CommandError} from '../../core/base/errors'
import {migrate} from '../../core/db/migrations'
import {staleBuildLine, staleSources} from '../../core/project/build-state'
import {Project} from '../../core/project/project'

const TEST_FILE = /\.test\.(c|m)?js$/

/** The compiled test files of the project's jobs and commands (what startcron and startcommand write), sorted. */
export function projectTestFiles(project: Project): string[] {
  const found: string[] = []
  const walk = (dir: string) => {
    let entries
    try {
      entries = readdirSync(dir, {withFileTypes: true})
    } catch {
      return // no such folder: no tests there
    }
    for (const entry of entries) {
      const file = path.join(dir, entry.name)
      if (entry.isDirectory() && entry.name !== 'node_modules') walk(file)
      else if (entry.isFile() && TEST_FILE.test(entry.name)) found.push(file)
    }
  }
  walk(project.paths.cronsDir)
  walk(project.paths.commandsDir)
  return found.sort()
}

export interface TestRunOptions {
  env: NodeJS.ProcessEnv
  /** The settings module given by --settings, passed on as MANAGE_SETTINGS. */
  settingsFile?: string
  /** After `--`: more arguments for `node --test` (e.g. --test-name-pattern=…). */
  nodeArgs: readonly string[]
  stdout: {write(text: string): void}
  stderr: {write(text: string): void}
  /** Said once the run log is ready, before the tests run. */
  announce: (line: string) => void
}

/**
 * `manage test` (Django's `manage.py test`): the project's job and command tests with `node --test`,
 * against a run log of their own (a sqlite file in a folder of its own, migrated with the framework's
 * and the project's migrations, deleted afterwards), never the project's database. Returns
 * node's exit status. Refused when the build is older than the sources: the tests would test old code.
 */
export async function runProjectTests(project: Project, options: TestRunOptions): Promise<number> {
  const stale = staleSources(project.paths.layout)[0]
  if (stale) throw new CommandError(staleBuildLine(stale))
  const files = projectTestFiles(project)
  if (files.length === 0) {
    const folders = [project.paths.cronsDir, project.paths.commandsDir].map((dir) => path.relative(project.paths.root, dir) || '.')
    throw new CommandError(`no test files (*.test.js) in ${folders.join(' or ')}: run \`npm run build\`, or write one (manage startcron NAME writes a job and its test)`)
  }
  const folder = mkdtempSync(path.join(tmpdir(), 'manage-test-'))
  try {
    const env: NodeJS.ProcessEnv = {...options.env, DATABASE_URL: `sqlite://${path.join(folder, 'run-log.sqlite3')}`, MANAGE_PROJECT: project.paths.root}
    if (options.settingsFile) env.MANAGE_SETTINGS = path.resolve(options.settingsFile)
    const runLog = new Project(project.paths.root, env, options.settingsFile)
    try {
      await migrate(runLog.db(), runLog.paths.migrations)
    } finally {
      await runLog.close()
    }
    options.announce(`${files.length} test file(s), on a throw-away run log (${runLog.database().description})`)
    return await nodeTest(files, env, project.paths.root, options)
  } finally {
    rmSync(folder, {recursive: true, force: true})
  }
}

/** `node --test FILE…` from the project folder, its output passed on as it comes; its exit status. */
function nodeTest(files: readonly string[], env: NodeJS.ProcessEnv, cwd: string, options: TestRunOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--test', ...options.nodeArgs, ...files], {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
    child.stdout.setEncoding('utf8').on('data', (text: string) => options.stdout.write(text))
    child.stderr.setEncoding('utf8').on('data', (text: string) => options.stderr.write(text))
    // Ctrl-C reaches the tests too: wait for them to stop, so the throw-away run log is still deleted.
    const ignore = () => undefined
    process.on('SIGINT', ignore)
    const done = () => process.off('SIGINT', ignore)
    child.on('error', (error) => {
      done()
      reject(new CommandError(`cannot run node --test: ${error.message}`, 1, error))
    })
    child.on('close', (code, signal) => {
      done()
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0))
    })
  })
}
