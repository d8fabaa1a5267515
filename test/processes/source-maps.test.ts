import {expect} from 'chai'
import {context, Sandbox} from '../helpers/cli'

/**
 * bin/manage turns Node's source maps on only for --traceback and DEBUG (reading them costs
 * start-up time on every tick): then a stack points at the TypeScript sources, through the
 * bundle's map and tsc's; otherwise at the bundle.
 */
describe('stacks point at the TypeScript sources with --traceback or DEBUG, at the bundle otherwise', function () {
  this.timeout(60_000)
  const boxes: Sandbox[] = []
  afterEach(() => boxes.splice(0).forEach((box) => box.remove()))
  const NOW = '2026-11-23T12:00:00Z'

  async function failure(args: string[], extra: Record<string, string> = {}): Promise<string> {
    const box = new Sandbox()
    boxes.push(box)
    await box.migrate()
    const result = await box.runcrons('FailJob', NOW, args, extra)
    expect(result.code, context(result)).to.equal(1)
    return result.stdout
  }

  it('the crontab form (the bundle): --traceback and DEBUG map, -v 2 does not', async () => {
    for (const [args, extra] of [[['--traceback'], {}], [['-v', '2'], {DEBUG: '1'}]] as const) {
      const stack = await failure([...args], extra)
      expect(stack, args.join(' ')).to.match(/at call \(\S+\/src\/core\/tick\/job-run\.ts:\d+:\d+\)/)
      expect(stack).not.to.include('dist/entry/')
    }
    const plain = await failure(['-v', '2'])
    expect(plain).to.match(/at call \(\S+\/dist\/entry\/direct-tick\.js:\d+:\d+\)/)
    expect(plain).not.to.match(/\.ts:\d+/)
  })

  it('the full command (tsc output): --traceback maps', async () => {
    const stack = await failure(['FailJob', '--force', '--traceback'])
    expect(stack).to.match(/at call \(\S+\/src\/core\/tick\/job-run\.ts:\d+:\d+\)/)
  })
})
