// What the two stress scripts share (stress.js: the claim race; stress-scheduler.js: mixed runners):
// their knobs, the test servers, a fresh database per backend, the processes they start, the table.
'use strict'
const {spawn} = require('node:child_process')
const {randomBytes} = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..')
const BIN = path.join(ROOT, 'bin', 'manage')
const ALL_BACKENDS = ['sqlite', 'postgres', 'mysql']
const SERVER_URLS = {
  postgres: process.env.MANAGE_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  mysql: process.env.MANAGE_TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/mysql',
}

/** `tool`: the script's name in its messages (e.g. 'stress:scheduler'). */
function knobs(tool) {
  return {
    /** A whole number ≥ 1 from the environment variable `name`, or `fallback`; anything else: one line, exit 2. */
    wholeNumber(name, fallback) {
      const raw = process.env[name]
      if (raw === undefined || raw === '') return fallback
      const value = Number(raw)
      if (!Number.isInteger(value) || value < 1) {
        console.error(`${tool}: ${name}=${raw} is not a whole number ≥ 1`)
        process.exit(2)
      }
      return value
    },
    /** A comma-separated list of some of `all` from the environment variable `name` (default: all). */
    list(name, all) {
      const values = (process.env[name] || all.join(',')).split(',').map((value) => value.trim()).filter(Boolean)
      for (const value of values) {
        if (!all.includes(value)) {
          console.error(`${tool}: ${name} has '${value}': use a comma-separated list of ${all.join(', ')}`)
          process.exit(2)
        }
      }
      return values
    },
    /** The build the processes run: without it, one line and exit 2. */
    requireBuild(npmScript) {
      if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'index.js'))) {
        console.error(`${tool}: dist/ is missing: run \`npm run build\` (or \`npm run ${npmScript}\`, which builds first)`)
        process.exit(2)
      }
    },
  }
}

/** `bin/manage ARGS` with its output kept; `alive` (a Set), when given, holds the child until it ends. */
function start(args, env, alive) {
  const child = spawn(process.execPath, [BIN, ...args], {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']})
  alive?.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk))
  const done = new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      alive?.delete(child)
      resolve({pid: child.pid, args, code, signal, stdout, stderr})
    })
  })
  return {child, pid: child.pid, done}
}

/** A fresh database of this kind: {url, name, drop()}. */
async function createDatabase(backend) {
  const {configFromUrl, openDatabase} = require(path.join(ROOT, 'dist', 'src', 'core', 'db', 'database.js'))
  if (backend === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manage-stress-'))
    const url = `sqlite://${path.join(dir, 'stress.sqlite3')}`
    return {url, name: url, drop: async () => fs.rmSync(dir, {recursive: true, force: true})}
  }
  const name = `manage_stress_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = openDatabase(configFromUrl(SERVER_URLS[backend], ROOT))
  try {
    await admin.raw(`CREATE DATABASE ${name}`)
  } catch (error) {
    throw new Error(`cannot create a database on ${SERVER_URLS[backend]} (is the server running?): ${error.message}`)
  } finally {
    await admin.destroy()
  }
  const url = new URL(SERVER_URLS[backend])
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    name,
    async drop() {
      const dropper = openDatabase(configFromUrl(SERVER_URLS[backend], ROOT))
      try {
        await dropper.raw(backend === 'postgres' ? `DROP DATABASE IF EXISTS ${name} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${name}`)
      } finally {
        await dropper.destroy()
      }
    },
  }
}

/** Rows of like objects as a Markdown table on stdout. */
function printTable(rows) {
  if (rows.length === 0) return
  const columns = Object.keys(rows[0])
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => String(row[column]).length)))
  const line = (cells) => `| ${cells.map((cell, i) => String(cell).padEnd(widths[i])).join(' | ')} |`
  console.log(line(columns))
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`)
  for (const row of rows) console.log(line(columns.map((column) => row[column])))
}

const iso = (ms) => new Date(ms).toISOString()

module.exports = {ROOT, BIN, ALL_BACKENDS, SERVER_URLS, knobs, start, createDatabase, printTable, iso}
