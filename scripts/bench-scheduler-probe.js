// Preloaded (node -r) into some schedulers of scripts/bench-scheduler.js: counts the scheduler's
// planning wakes (each one runs Scheduler's tick: reads the run log and decides every job), so that
// a CPU delta read from /proc can be divided by them. On SIGUSR2 it writes the count so far to
// BENCH_PROBE. It adds a counter to each wake and nothing else.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const {Scheduler} = require(path.join(__dirname, '..', 'dist', 'src', 'core', 'runners', 'scheduler.js'))
let plans = 0
const tick = Scheduler.prototype.tick
if (typeof tick === 'function') {
  Scheduler.prototype.tick = function countedTick(...args) {
    plans++
    return tick.apply(this, args)
  }
}
process.on('SIGUSR2', () => fs.writeFileSync(process.env.BENCH_PROBE, JSON.stringify({plans: typeof tick === 'function' ? plans : null})))
