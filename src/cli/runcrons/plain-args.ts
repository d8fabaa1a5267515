/** The plain crontab forms of `manage runcrons`: no names, no --force / --dry-run. */
export interface PlainRuncrons {
  silent: boolean
  verbosity: number
  traceback: boolean
  /** --timestamps: each line starts with the time it was written (the crontab line passes it). */
  timestamps: boolean
  color?: boolean
  /** --concurrency N: run up to N due jobs at the same time (1 unless given). */
  concurrency: number
  settings?: string
  project?: string
}

/**
 * The arguments after `runcrons` when they are a plain form (the global flags, --silent, --timestamps,
 * --concurrency N), else null: the oclif command takes everything else, and says what is wrong with a
 * bad flag (a --concurrency that is not a whole number ≥ 1 is left to it too).
 */
export function plainRuncrons(args: readonly string[]): PlainRuncrons | null {
  const plain: PlainRuncrons = {silent: false, verbosity: 1, traceback: false, timestamps: false, concurrency: 1}
  const level = (value: string | undefined) => (value !== undefined && /^[0-3]$/.test(value) ? Number(value) : null)
  const width = (value: string | undefined) => (value !== undefined && /^[1-9]\d{0,5}$/.test(value) ? Number(value) : null)
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    const inline = arg.startsWith('--verbosity=') ? level(arg.slice('--verbosity='.length)) : null
    if (arg === '--silent') plain.silent = true
    else if (arg === '--traceback') plain.traceback = true
    else if (arg === '--timestamps') plain.timestamps = true
    else if (arg === '--color' || arg === '--no-color') plain.color = arg === '--color'
    else if (arg === '--settings' && i + 1 < args.length) plain.settings = args[++i]
    else if (arg.startsWith('--settings=')) plain.settings = arg.slice('--settings='.length)
    else if (arg === '--project' && i + 1 < args.length) plain.project = args[++i]
    else if (arg.startsWith('--project=')) plain.project = arg.slice('--project='.length)
    else if ((arg === '-v' || arg === '--verbosity') && level(args[i + 1]) !== null) plain.verbosity = level(args[++i])!
    else if (inline !== null) plain.verbosity = inline
    else if (arg === '--concurrency' && width(args[i + 1]) !== null) plain.concurrency = width(args[++i])!
    else if (arg.startsWith('--concurrency=') && width(arg.slice('--concurrency='.length)) !== null) plain.concurrency = width(arg.slice('--concurrency='.length))!
    else return null
  }
  return plain
}
