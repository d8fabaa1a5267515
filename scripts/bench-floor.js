// The floor of a sqlite tick, for scripts/bench.js: what any per-minute process on this driver pays
// before it does anything of its own. Node, the sqlite3 driver, the database opened, one read of the
// run log, then BENCH_FLOOR_WRITES durable commits (default 1: a no-op tick's heartbeat; 100: one
// outcome made durable per due job, the least a tick that runs 100 jobs can write), and closed.
// Usage: node scripts/bench-floor.js <sqlite file>
'use strict'
const sqlite3 = require('sqlite3')

const writes = Number(process.env.BENCH_FLOOR_WRITES || 1)
const db = new sqlite3.Database(process.argv[2])
const fail = (error) => {
  if (!error) return
  console.error(`bench-floor: ${error.message}`)
  process.exit(1)
}
// sqlite's default, which manage keeps: every commit is durable (synchronous = FULL, in WAL mode).
db.run('PRAGMA synchronous = FULL', fail)
db.all('SELECT code, max(start_time) AS last_start FROM cron_job_log GROUP BY code', (error) => {
  fail(error)
  const insert = db.prepare("INSERT INTO cron_job_log (code, status, start_time, host, pid) VALUES (?, 'succeeded', '2026-03-02T10:00:00.000Z', 'floor', 1)", fail)
  let left = writes
  const next = () => {
    if (left-- === 0) return insert.finalize(() => db.close(fail))
    insert.run([`floor.${left}`], (failed) => {
      fail(failed)
      next()
    })
  }
  next()
})
