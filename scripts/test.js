#!/usr/bin/env node
// `npm test`: build, then the checks and the suite side by side. The suite spends much of its time
// waiting on processes, database servers and timers, so the layer and size checks and the type
// check run beside it rather than before it; their output is shown when they end, and any failure
// fails the run. Arguments go to mocha (e.g. `npm test -- --grep lease`).
'use strict'
const {spawn, spawnSync} = require('node:child_process')

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const built = spawnSync(npm, ['run', '--silent', 'build'], {stdio: 'inherit'})
if (built.status !== 0) process.exit(built.status ?? 1)

/** A command whose output is kept and shown when it ends. */
function quietly(name, args) {
  return new Promise((resolve) => {
    const child = spawn(npm, ['run', '--silent', ...args], {stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('close', (code) => resolve({name, code, output}))
  })
}

const suite = ['--parallel', '--jobs', '3', 'test/processes/**/*.test.ts', 'test/commands/**/*.test.ts', 'test/unit/**/*.test.ts', ...process.argv.slice(2)]
const checks = [quietly('lint (layers, sizes)', ['lint']), quietly('typecheck', ['typecheck'])]
const mocha = new Promise((resolve) => spawn(process.execPath, [require.resolve('mocha/bin/mocha.js'), ...suite], {stdio: 'inherit'}).on('close', (code) => resolve(code)))

Promise.all([mocha, ...checks]).then(([suiteCode, ...results]) => {
  let failed = suiteCode !== 0
  for (const {name, code, output} of results) {
    if (code === 0) {
      process.stdout.write(`${name}: ok\n`)
      continue
    }
    failed = true
    process.stderr.write(`\n${name} failed (exit ${code}):\n${output}\n`)
  }
  process.exit(failed ? 1 : 0)
})
