import path from 'node:path'
import type {Knex} from 'knex'
import {driverSource, knexSource, type ConnectionSource, type DriverSource} from '../db/connection-source'
import {openDatabase, resolveDatabaseConfig, type DatabaseConfig} from '../db/database'
import type {MigrationFolders} from '../db/migrations'
import {databaseNow, SqlRunStore, type RunStore} from '../run-log/run-store'
import {FileSpool, type OutcomeSpool} from '../run-log/spool'
import {clockFromEnv, type Clock} from '../time/clock'
import {MeasuredClock} from '../time/measured-clock'
import {CommandError} from '../base/errors'
import {misplacedSettingsLine} from './build-state'
import {codeVersion} from './code-version'
import {readLayout, type ProjectLayout} from './layout'
import {DEFAULT_CONNECT_TIMEOUT_SECONDS, loadSettings, type Settings} from './settings'

/** Where a project's parts are (its layout, see layout.ts), as the commands use them. */
export interface ProjectPaths {
  root: string
  layout: ProjectLayout
  /** The compiled settings module (or the one --settings / MANAGE_SETTINGS names). */
  settingsFile: string
  knexfile: string
  cronsDir: string
  /** The sources of cronsDir (null: a JavaScript project, nothing is built). */
  cronsSourceDir: string | null
  commandsDir: string
  /** The project's own migrations: their sources, and the build `migrate` runs. */
  migrations: MigrationFolders
  /** Where outcomes wait when the database cannot take them, unless the settings say otherwise (see OutcomeSpool). */
  spoolDir: string
}

export function projectPaths(root: string, settingsFile?: string): ProjectPaths {
  const layout = readLayout(root)
  return {
    root,
    layout,
    settingsFile: settingsFile ? path.resolve(settingsFile) : layout.build.settings,
    knexfile: layout.build.knexfile,
    cronsDir: layout.build.crons,
    cronsSourceDir: path.resolve(layout.source.dir) === path.resolve(layout.build.dir) ? null : layout.source.crons,
    commandsDir: layout.build.commands,
    migrations: {source: layout.source.migrations, build: layout.build.migrations},
    spoolDir: path.join(root, 'var', 'spool'),
  }
}

/**
 * A command's view of the project: settings, clock and database, each made on first use, so a
 * command pays only for what it touches. The CLI makes one and closes it when the command ends.
 */
export class Project {
  readonly paths: ProjectPaths
  private settingsPromise?: Promise<Settings>
  private databaseConfig?: DatabaseConfig
  private knex?: Knex
  private driver?: DriverSource
  private knexSource?: ConnectionSource
  private store?: RunStore
  private loaded?: Settings
  private serverClock?: MeasuredClock
  private version?: {value: string | null}

  /** `createDatabase`: whether db() may make a missing sqlite file (default true; the read-only commands say false). */
  constructor(
    root: string,
    private readonly env: NodeJS.ProcessEnv,
    settingsFile?: string,
    private readonly options: {createDatabase?: boolean} = {},
  ) {
    this.paths = projectPaths(root, settingsFile ?? (env.MANAGE_SETTINGS || undefined))
  }

  settings(): Promise<Settings> {
    this.settingsPromise ??= loadSettings(this.paths.settingsFile, {cronsDir: this.paths.cronsDir, spoolDir: this.paths.spoolDir, cronsSourceDir: this.paths.cronsSourceDir}).then(
      (settings) => (this.loaded = settings),
      (error: unknown) => {
        // Built, but not where the layout says (tsc compiled from another folder): say where it is instead.
        const misplaced = misplacedSettingsLine(this.paths.layout, this.paths.settingsFile)
        throw misplaced === null ? error : new CommandError(misplaced)
      },
    )
    return this.settingsPromise
  }

  /**
   * The tick's clock: MANAGE_NOW when set; else on PostgreSQL and MySQL the database server's
   * clock (kept as an offset, measured again when asked for after a minute: see MeasuredClock), so
   * servers whose clocks disagree agree on due periods; else the local clock. A process that runs
   * many ticks asks for it at each.
   */
  async clock(): Promise<Clock> {
    const clock = clockFromEnv(this.env, (await this.settings()).timeZone)
    if (this.env.MANAGE_NOW || this.database().dialect === 'sqlite') return clock
    this.serverClock ??= new MeasuredClock(async () => databaseNow(await this.tickSource()))
    return this.serverClock.fresh()
  }

  /** The version of the app's code each run records (see codeVersion): read once, when a job first runs. */
  codeVersion(): string | null {
    this.version ??= {value: codeVersion(this.paths.root, this.env)}
    return this.version.value
  }

  database(): DatabaseConfig {
    this.databaseConfig ??= resolveDatabaseConfig(this.env, this.paths.knexfile, this.paths.root)
    return this.databaseConfig
  }

  /** The database config if it was resolved already (for error messages), without resolving it. */
  resolvedDatabase(): DatabaseConfig | undefined {
    return this.databaseConfig
  }

  /** SQL statements sent so far (MANAGE_SQL_COUNT=1 prints it; the benchmark reads it). */
  statements = 0

  /**
   * A connection of the driver's own for the tick's SQL (runcrons): knex is loaded only when a job
   * uses ctx.db. Statements are counted with knex's; the settings' connect and statement timeouts
   * apply. The first call decides whether a missing sqlite file is created (the fast path never
   * creates one: a missing file is the tick's to report).
   */
  async tickSource(options: {create?: boolean} = {}): Promise<DriverSource> {
    const settings = await this.settings()
    this.driver ??= driverSource(this.database(), {
      onStatement: () => this.statements++,
      create: options.create,
      connectTimeoutMs: settings.connectTimeoutMs,
      statementTimeoutMs: settings.statementTimeoutMs,
    })
    return this.driver
  }

  /** Outcomes kept on this machine for this database while it could not take them (the settings' spoolDir). */
  spool(settings: Pick<Settings, 'spoolDir'>): OutcomeSpool {
    return new FileSpool(settings.spoolDir, this.database().description)
  }

  /** The run log over knex's connections, for the commands. */
  runStore(): RunStore {
    this.store ??= new SqlRunStore(this.runLogSource())
    return this.store
  }

  /** Knex's connections as a source for the run log's statements (the commands' SQL). */
  runLogSource(): ConnectionSource {
    this.knexSource ??= knexSource(this.db(), this.database().dialect)
    return this.knexSource
  }

  /**
   * The project's knex instance (the commands' SQL, and ctx.db). Its connections wait the settings'
   * connectTimeoutSeconds when the settings are loaded (the tick loads them first), else the default.
   */
  db(): Knex {
    if (!this.knex) {
      this.knex = openDatabase(this.database(), {connectTimeoutMs: this.loaded?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_SECONDS * 1000, create: this.options.createDatabase})
      this.knex.on('query', () => this.statements++)
    }
    return this.knex
  }

  /** Close knex's connections (ctx.db, the commands' SQL), if they were opened; the next db() opens new ones. */
  async closeDb(): Promise<void> {
    const {knex} = this
    this.knex = undefined
    this.knexSource = undefined
    this.store = undefined
    await knex?.destroy()
  }

  async close(): Promise<void> {
    const {knex, driver} = this
    this.knex = undefined
    this.driver = undefined
    this.knexSource = undefined
    this.store = undefined
    await Promise.all([knex?.destroy(), driver?.close()])
  }
}
