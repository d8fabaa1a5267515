// Preloaded (node -r) into some schedulers of scripts/bench-scheduler.js: counts the scheduler's
// planning wakes (each one runs Scheduler's tick: reads the run log and decides every job), so that
// a CPU delta read from /proc can be divided by them; on SIGUSR2 it writes the count so far to
// BENCH_PROBE. And on PostgreSQL and MySQL, where the scheduler decides on the database server's
// clock (an offset from this host's, measured each minute), it appends each offset measured to
// BENCH_DIR/offsets.log ('<Date.now()> <offset ms>'), so that do()'s start (on this host's clock)
// is compared with its due instant on the clock the scheduler used.
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

const {MeasuredClock} = require(path.join(__dirname, '..', 'dist', 'src', 'core', 'time', 'measured-clock.js'))
const remeasure = MeasuredClock.prototype.remeasure
if (typeof remeasure === 'function') {
  MeasuredClock.prototype.remeasure = async function loggedRemeasure(...args) {
    await remeasure.apply(this, args)
    fs.appendFileSync(path.join(process.env.BENCH_DIR, 'offsets.log'), `${Date.now()} ${this.offsetMs}\n`)
  }
}
