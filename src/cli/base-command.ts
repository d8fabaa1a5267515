import {format, inspect} from 'node:util'
import {Command, Flags, type Interfaces} from '@oclif/core'
import {staleBuildLine, staleSources} from '../core/project/build-state'
import {locateProject} from '../core/project/layout'
import {Project} from '../core/project/project'
import {SETTINGS_DEFAULT} from './oclif-config'
import {commandIO, type CommandIO} from './output/command-io'
import {endCommand, reportError, wantsStack} from './output/command-end'
import {painter, type Painter} from './output/render'
import {warnIfClockPinned} from './output/pinned-clock'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/** The --json flag of every command that prints JSON (which it prints with printJson). */
export function jsonFlag(description = 'Print JSON.') {
  return Flags.boolean({description})
}


/**
 * What every command shares (Django's BaseCommand): the global flags, the project, and the one
 * place where errors become a message and an exit status.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static baseFlags = {
    project: Flags.string({
      helpGroup: 'GLOBAL',
      description: "The app's folder [default: the nearest folder at or above the working directory with a package.json; env: MANAGE_PROJECT]",
    }),
    settings: Flags.string({
      helpGroup: 'GLOBAL',
      description: `Settings module to use: a compiled .js/.cjs/.mjs file [default: ${SETTINGS_DEFAULT}; env: MANAGE_SETTINGS]`,
    }),
    traceback: Flags.boolean({helpGroup: 'GLOBAL', description: 'Show the stack trace when a command fails (as does DEBUG=1).'}),
    verbosity: Flags.integer({
      char: 'v',
      helpGroup: 'GLOBAL',
      min: 0,
      max: 3,
      default: 1,
      description: 'Output level: 0 = errors only, 1 = normal, 2 = verbose (reasons, timings, job logs), 3 = debug.',
    }),
    color: Flags.boolean({helpGroup: 'GLOBAL', allowNo: true, description: 'Colour the output [default: when writing to a terminal; NO_COLOR turns it off].'}),
  }

  /** Whether the command warns when the build is older than the sources (not `init`, which makes the layout). */
  static checksBuild = true

  /** The command writes to the database (migrate too, unlike `writes`), so it may create a missing sqlite file; the others say the file is missing. */
  static writesDatabase = false

  /** The command writes rows dated by its clock (the run log, actions, alerts): under MANAGE_NOW it warns, unless --dry-run or --read-only. */
  static writes = false

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  /** Positional arguments in order (for commands that take a list, such as runcrons NAME…). */
  protected argList: string[] = []
  private projectInstance?: Project

  public async init(): Promise<void> {
    await super.init()
    const {args, flags, argv} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    this.argList = argv as string[]
    this.warnIfStale()
    const options = flags as {'dry-run'?: boolean; 'read-only'?: boolean}
    if ((this.ctor as typeof BaseCommand).writes && !options['dry-run'] && !options['read-only'] && this.verbosity > 0) warnIfClockPinned(this.io.env, this.paint)
  }

  /** One line when the build is older than its sources: the command would run the old code. */
  private warnIfStale(): void {
    if (!(this.ctor as typeof BaseCommand).checksBuild) return
    let stale
    try {
      stale = staleSources(this.project.paths.layout)[0]
    } catch {
      return // no project here (yet): the command says so if it needs one
    }
    if (stale && (this.flags?.verbosity ?? 1) > 0) this.io.stderr.write(`${this.paint.warn('warning:')} ${staleBuildLine(stale)}\n`)
  }

  /** The environment, working directory and output of this command (the process's, or callCommand's). */
  protected get io(): CommandIO {
    return commandIO()
  }

  protected get project(): Project {
    const {cwd, env} = this.io
    this.projectInstance ??= new Project(locateProject(cwd, env, this.flags?.project), env, this.flags?.settings, {createDatabase: (this.ctor as typeof BaseCommand).writesDatabase})
    return this.projectInstance
  }

  /** A line on stdout (oclif's log, through this command's IO). */
  public log(message: unknown = '', ...args: unknown[]): void {
    const text = typeof message === 'string' ? message : inspect(message)
    this.io.stdout.write(`${args.length > 0 ? format(text, ...args) : text}\n`)
  }

  /** A command's --json output: the value as JSON on stdout (indented unless `compact`). */
  protected printJson(value: unknown, options: {compact?: boolean} = {}): void {
    this.log(options.compact ? JSON.stringify(value) : JSON.stringify(value, null, 2))
  }

  protected get paint(): Painter {
    return painter(this.flags?.color)
  }

  protected get verbosity(): number {
    return this.flags?.verbosity ?? 1
  }

  protected async finally(error: Error | undefined): Promise<void> {
    await endCommand(this.projectInstance, this.io.env)
    return super.finally(error)
  }

  protected async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}; code?: string}): Promise<unknown> {
    // A flag the command does not have: one line with the nearest flag, not the whole usage.
    const unknownFlags = (error as {flags?: unknown}).flags
    if (/^Nonexistent flags?: /.test(error.message) && Array.isArray(unknownFlags) && unknownFlags.length > 0) {
      const {unknownFlagLine} = require('./oclif-config') as typeof import('./oclif-config')
      const flags = {...(BaseCommand.baseFlags as object), ...((this.ctor.flags ?? {}) as object)} as Parameters<typeof unknownFlagLine>[3]
      this.io.stderr.write(`${this.paint.error('error:')} ${unknownFlagLine(this.config.bin, this.id ?? '', unknownFlags as string[], flags)}\n`)
      process.exitCode = 2
      this.exit(2)
    }
    // oclif's own errors (a bad flag value, --help, this.exit) keep oclif's handling and exit codes.
    if (error.code === 'EEXIT' || error.oclif?.exit !== undefined) return super.catch(error)

    const showStack = Boolean(this.flags?.traceback) || wantsStack(this.argv, this.io.env)
    const code = reportError(error, {project: this.projectInstance, showStack, paint: this.paint})
    process.exitCode = code
    this.exit(code)
  }
}
