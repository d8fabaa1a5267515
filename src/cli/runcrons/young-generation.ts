/**
 * `manage scheduler` owns its process, so it may tune V8 for a resident process: it holds V8's
 * young generation at the size it has now. V8 doubles the young generation (up to 2 × 16 MB on
 * 64-bit) each time what survives its scavenges adds up to its size, and shrinks it only while
 * the process allocates less than ~1 MB a second; a scheduler starting many short runs a second
 * allocates more than that, and some of each run is still alive at a scavenge, so its RSS grows by
 * the young generation's growth while its live heap stays small. The growth factor is the one
 * young-generation flag V8 still reads once the heap exists (the maximum size is fixed at start-up),
 * hence set here and not on a command line. Never in startScheduler: the host's process and its V8
 * flags are the host's. An operator's own semi-space flag (node's options or NODE_OPTIONS) wins.
 * Returns whether it set the flag.
 */
export function holdYoungGeneration(execArgv: readonly string[], nodeOptions: string | undefined, setFlags: (flags: string) => void = setV8Flags): boolean {
  if ([...execArgv, nodeOptions ?? ''].some((option) => /semi[-_]space/.test(option))) return false
  setFlags('--semi-space-growth-factor=1')
  return true
}

// node:v8 loaded only by the scheduler command.
function setV8Flags(flags: string): void {
  ;(require('node:v8') as typeof import('node:v8')).setFlagsFromString(flags)
}
