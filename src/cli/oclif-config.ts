import {existsSync} from 'node:fs'
import path from 'node:path'
import type {Config, Interfaces} from '@oclif/core'
import {locateProject, readLayout, type ProjectLayout} from '../core/project/layout'
import {commandIO} from './output/command-io'

type Oclif = typeof import('@oclif/core')

/**
 * oclif's configuration for one command line: the package's built-in commands (and its plugins),
 * and the app's own commands (its compiled commands folder) beside them as one more plugin. An
 * app command named as a built-in is left out with a warning, so a built-in is never shadowed by
 * accident. Only compiled modules are loaded: the build is what runs, as on the crontab line.
 */
export async function oclifConfig(oclif: Oclif, packageRoot: string, argv: readonly string[], env: NodeJS.ProcessEnv, warn: (line: string) => void): Promise<Config> {
  oclif.settings.enableAutoTranspile = false
  const root = new oclif.Plugin({root: packageRoot, isRoot: true})
  await root.load()
  const plugins = new Map<string, Interfaces.Plugin>([[root.name, root]])
  for (const name of (root.pjson.oclif.plugins ?? []) as string[]) {
    const plugin = new oclif.Plugin({root: packageRoot, name, type: 'core'})
    await plugin.load()
    plugins.set(plugin.name, plugin)
  }
  const project = findLayout(argv, env)
  const app = project && (await appPlugin(oclif, packageRoot, project, warn, argv.includes('--traceback') || Boolean(env.DEBUG)))
  if (app) {
    const builtIn = new Set([...plugins.values()].flatMap((plugin) => plugin.commands.flatMap((command) => [command.id, ...(command.aliases ?? [])])))
    const shadowing = app.commands.filter((command) => builtIn.has(command.id))
    for (const command of shadowing) {
      warn(`warning: the app's command '${command.id}' (in ${app.commandsDir}) is not loaded: a built-in command has that name; rename it (e.g. app:${command.id})`)
    }
    app.commands = app.commands.filter((command) => !builtIn.has(command.id))
    plugins.set(app.name, app)
  }
  if (project) showSettingsDefault(plugins.values(), path.relative(commandIO().cwd, project.layout.build.settings) || project.layout.build.settings)
  return oclif.Config.load({root: packageRoot, plugins})
}

/** What --settings' help says its default is, until the project's layout names the file. */
export const SETTINGS_DEFAULT = 'the compiled settings module of the "manage" section in package.json'

/** --help names the project's own settings file as --settings' default (not this repository's). */
function showSettingsDefault(plugins: Iterable<Interfaces.Plugin>, file: string): void {
  for (const plugin of plugins) {
    // New objects: oclif may share the ones it read from the manifest with another call (callCommand).
    plugin.commands = plugin.commands.map((command) => {
      const flag = command.flags?.settings
      if (!flag?.description?.includes(SETTINGS_DEFAULT)) return command
      return {...command, flags: {...command.flags, settings: {...flag, description: flag.description.replace(SETTINGS_DEFAULT, file)}}}
    })
  }
}

/** The project this command line is about and its layout, or null (the command says what is wrong when it needs one). */
function findLayout(argv: readonly string[], env: NodeJS.ProcessEnv): {root: string; layout: ProjectLayout} | null {
  try {
    const root = locateProject(commandIO().cwd, env, projectFlag(argv))
    return {root, layout: readLayout(root)}
  } catch {
    return null
  }
}

/** The app's commands as a plugin, or null when there are none (or the project is this package itself). */
/** `stack`: --traceback or DEBUG, for a command that fails to load. */
async function appPlugin(oclif: Oclif, packageRoot: string, {root, layout}: {root: string; layout: ProjectLayout}, warn: (line: string) => void, stack: boolean): Promise<Interfaces.Plugin | null> {
  if (path.resolve(root) === path.resolve(packageRoot) || !existsSync(layout.build.commands)) return null
  try {
    const name = layout.name ?? path.basename(root)
    const plugin = new oclif.Plugin({
      root,
      name,
      type: 'link',
      ignoreManifest: true,
      pjson: {name, version: '0.0.0', type: layout.moduleType, oclif: {commands: layout.build.commands}} as Interfaces.PJSON,
    })
    // A command module that throws as it loads: one line (oclif's own warning is a dozen), the others still load.
    ;(plugin as unknown as {warn: (error: unknown, scope?: string) => void}).warn = (error, scope) => warn(commandLoadWarning(error, scope, layout.build.commands, stack))
    await plugin.load()
    return plugin
  } catch (error) {
    warn(`warning: the app's commands could not be loaded (${(error as Error).message.split('\n')[0]}): the built-in commands still work`)
    return null
  }
}

/** The line for an app command that failed to load (oclif's scope names it: "findCommand (seed-sessions)"), its stack under it when asked. */
function commandLoadWarning(error: unknown, scope: string | undefined, commandsDir: string, stack: boolean): string {
  const id = /^findCommand \((.+)\)$/.exec(scope ?? '')?.[1]
  const base = id === undefined ? undefined : path.join(commandsDir, ...id.split(':'))
  const file = base === undefined ? commandsDir : (['.js', '.cjs', '.mjs'].map((extension) => `${base}${extension}`).find((candidate) => existsSync(candidate)) ?? base)
  const what = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error)
  const line = `warning: the app's command ${id === undefined ? '' : `'${id}' `}(${file}) failed to load, the others work: ${what}`
  if (!stack) return `${line} (run with --traceback for the stack trace)`
  return error instanceof Error && error.stack ? `${line}\n${error.stack.replace(/^/gm, '  ')}` : line
}

/** --project DIR (or --project=DIR) anywhere on the command line. */
function projectFlag(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--project') return argv[i + 1]
    if (argv[i].startsWith('--project=')) return argv[i].slice('--project='.length)
  }
  return undefined
}

/**
 * The error line for a command line whose command does not exist, with the nearest names
 * ("did you mean runcrons?"), or null when it names a command, a topic, or nothing at all.
 */
export function unknownCommandLine(config: Config, argv: readonly string[]): string | null {
  const id = argv[0]
  if (id === undefined || id.startsWith('-') || config.findCommand(id) || config.findTopic(id)) return null
  const ids = config.commandIDs.filter((candidate) => !config.findCommand(candidate)?.hidden)
  const nearest = nearestNames(id, ids)
  const hint = nearest.length > 0 ? `did you mean ${nearest.join(' or ')}?` : `see \`${config.bin} --help\` for the commands`
  return `error: ${config.bin} has no command '${id}': ${hint}`
}

/** Up to three of `candidates` within a few edits of `wanted`, nearest first: the "did you mean" of a mistyped command or flag. */
export function nearestNames(wanted: string, candidates: readonly string[]): string[] {
  const {distance} = require('fastest-levenshtein') as typeof import('fastest-levenshtein')
  return candidates
    .map((candidate) => ({candidate, far: distance(wanted, candidate)}))
    .filter(({far, candidate}) => far <= Math.max(2, Math.floor(candidate.length / 3)))
    .sort((a, b) => a.far - b.far)
    .slice(0, 3)
    .map(({candidate}) => candidate)
}

/** The error line for flags a command does not have, with the nearest of its own ("did you mean --force?"). */
export function unknownFlagLine(bin: string, id: string, unknown: readonly string[], flags: Record<string, {char?: string; allowNo?: boolean; type?: string}>): string {
  const names = Object.entries(flags).flatMap(([name, flag]) => [`--${name}`, ...(flag.allowNo ? [`--no-${name}`] : []), ...(flag.char ? [`-${flag.char}`] : [])])
  const given = unknown[0].replace(/=.*$/s, '')
  // A one-letter flag is one edit from every other: only a long one gets a guess.
  const nearest = given.startsWith('--') ? nearestNames(given, names.filter((name) => name.startsWith('--'))) : []
  const hint = nearest.length > 0 ? `did you mean ${nearest.join(' or ')}?` : `see \`${bin} ${id} --help\` for its flags`
  return `${bin} ${id} has no flag ${unknown.map((flag) => `'${flag}'`).join(', ')}: ${hint}`
}
