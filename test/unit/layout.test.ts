import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {expect} from 'chai'
import ts from 'typescript'

const SRC = path.resolve(__dirname, '..', '..', 'src')

function sources(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true, recursive: true})
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name))
}

/** Every function, method and arrow with a body, and how many lines it spans. */
function functionLengths(file: string): Array<{name: string; lines: number}> {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const found: Array<{name: string; lines: number}> = []
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const lines = source.getLineAndCharacterOfPosition(node.end).line - source.getLineAndCharacterOfPosition(node.getStart()).line + 1
      const named = (node as {name?: ts.Node}).name ?? (node.parent as {name?: ts.Node}).name
      found.push({name: `${path.relative(SRC, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${named?.getText() ?? '(anonymous)'}`, lines})
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

/** The callee of every call in a file, as written (e.g. 'process.exit', 'console.log'). */
function callsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const callees: string[] = []
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node)) callees.push(node.expression.getText())
    ts.forEachChild(node, visit)
  }
  visit(source)
  return callees
}

/** The shape of the house (issue #9): parts small enough to read, and the core apart from the CLI. */
describe('the layout of src/', () => {
  const files = sources(SRC)

  it('has no file longer than 350 lines and no function longer than 100; runCrons, the tick, at most 60', () => {
    expect(files.filter((file) => readFileSync(file, 'utf8').split('\n').length > 350).map((file) => path.relative(SRC, file))).to.deep.equal([])
    const functions = files.flatMap(functionLengths)
    expect(functions.filter((fn) => fn.lines > 100).map((fn) => `${fn.name} (${fn.lines} lines)`)).to.deep.equal([])
    const tick = functions.find((fn) => fn.name.startsWith('core/tick/run-crons.ts') && fn.name.endsWith(' runCrons'))
    expect(tick?.lines).to.be.at.most(60)
  })

  it('keeps the core free of the CLI: no import of src/cli or src/commands, no oclif, console or process.exit', () => {
    const core = files.filter((file) => file.startsWith(path.join(SRC, 'core') + path.sep))
    const offences = core.flatMap((file) => {
      const text = readFileSync(file, 'utf8')
      const found: string[] = []
      for (const [, target] of text.matchAll(/from '([^']+)'/g)) {
        const resolved = target.startsWith('.') ? path.resolve(path.dirname(file), target) : target
        if (resolved.startsWith(path.join(SRC, 'cli')) || resolved.startsWith(path.join(SRC, 'commands')) || target.startsWith('@oclif/')) found.push(`imports ${target}`)
      }
      if (callsOf(file).some((callee) => callee === 'process.exit' || callee.startsWith('console.'))) found.push('writes to the console or exits')
      return found.map((what) => `${path.relative(SRC, file)} ${what}`)
    })
    expect(offences).to.deep.equal([])
  })

  it("keeps the dashboard out of the per-minute entry: no module of src/dashboard in dist/entry's bundles", () => {
    const entry = path.join(SRC, '..', 'dist', 'entry')
    const bundled = readdirSync(entry)
      .filter((name) => name.endsWith('.js'))
      .flatMap((name) => [...readFileSync(path.join(entry, name), 'utf8').matchAll(/^\/\/ (dist\/src\/\S+)/gm)].map((match) => `${name}: ${match[1]}`))
    expect(bundled.filter((line) => line.includes('/tick/')), 'the bundles name their modules').not.to.deep.equal([])
    expect(bundled.filter((line) => line.includes('/dashboard/') || line.includes('/commands/'))).to.deep.equal([])
  })
})
