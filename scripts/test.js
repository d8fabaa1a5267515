#!/usr/bin/env node
// `npm test`: the build, then the suite; the layer and size checks and the type check run beside
// them (started first: the build's compiler keeps one core busy and leaves the other free), their
// output shown when they end. Any failure fails the run. Arguments go to mocha (e.g.
// `npm test -- --grep lease`).
'use strict'
const {spawn} = require('node:child_process')

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const SUITE = ['--parallel', '--jobs', '3', 'test/processes/**/*.test.ts', 'test/commands/**/*.test.ts', 'test/unit/**/*.test.ts']

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

/** A command with its output shown as it comes; resolves to its exit status. */
function loudly(command, args) {
  return new Promise((resolve) => spawn(command, args, {stdio: 'inherit'}).on('close', (code) => resolve(code ?? 1)))
}

async function main() {
  const checks = [quietly('lint (layers, sizes)', ['lint']), quietly('typecheck', ['typecheck'])]
  const built = await loudly(npm, ['run', '--silent', 'build'])
  const suiteCode = built === 0 ? await loudly(process.execPath, [require.resolve('mocha/bin/mocha.js'), ...SUITE, ...process.argv.slice(2)]) : built
  let failed = suiteCode !== 0
  for (const {name, code, output} of await Promise.all(checks)) {
    if (code === 0) {
      process.stdout.write(`${name}: ok\n`)
      continue
    }
    failed = true
    process.stderr.write(`\n${name} failed (exit ${code}):\n${output}\n`)
  }
  process.exit(failed ? 1 : 0)
}

main()
