#!/usr/bin/env node
// The house's size rule, checked in `npm test`: no file in src/ over 350 lines, no function over 80.
// A long function or file is where rules hide twice; splitting it is the fix, not raising the limit.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const ts = require('typescript')

const MAX_FILE_LINES = 350
const MAX_FUNCTION_LINES = 80
const SRC = path.resolve(__dirname, '..', 'src')

function sources(dir) {
  return fs.readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sources(full)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : []
  })
}

/** Each function-like node's name and line count. */
function functionsOf(file, text) {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const found = []
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line
      const end = source.getLineAndCharacterOfPosition(node.end).line
      const name = node.name ? node.name.getText(source) : ts.isArrowFunction(node) || ts.isFunctionExpression(node) ? `(anonymous at line ${start + 1})` : '(function)'
      found.push({name, line: start + 1, lines: end - start + 1})
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

const offences = []
for (const file of sources(SRC)) {
  const text = fs.readFileSync(file, 'utf8')
  const relative = path.relative(path.dirname(SRC), file)
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
  if (lines > MAX_FILE_LINES) offences.push(`${relative}: ${lines} lines (at most ${MAX_FILE_LINES}): split it by what its parts do`)
  for (const fn of functionsOf(file, text)) {
    if (fn.lines > MAX_FUNCTION_LINES) offences.push(`${relative}:${fn.line}: ${fn.name} is ${fn.lines} lines (at most ${MAX_FUNCTION_LINES}): split it into named steps`)
  }
}
if (offences.length > 0) {
  process.stderr.write(`check-sizes: ${offences.length} over the limit\n${offences.map((line) => `  ${line}\n`).join('')}`)
  process.exit(1)
}
