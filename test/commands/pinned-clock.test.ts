import {expect} from 'chai'
import {context, lines, Sandbox} from '../helpers/cli'

const WARNING = 'warning: MANAGE_NOW=2026-12-06T00:00:01Z pins the clock: the rows written are dated then, not now (use --dry-run to only see what would run)'

/** A command that writes under MANAGE_NOW says, in one line, that its rows are dated then (README: MANAGE_NOW). */
describe('MANAGE_NOW on a command that writes: one warning line', function () {
  this.timeout(30_000)
  let box: Sandbox
  beforeEach(async () => {
    box = new Sandbox({tier: 'in-process'})
    await box.migrate()
  })
  afterEach(() => box.remove())
  // The tests' own quiet (PINNED_CLOCK_QUIET) is lifted here.
  const pinned = {TEST_CRONS: 'SuccessJob', MANAGE_NOW: '2026-12-06T00:00:01Z', MANAGE_NOW_QUIET: undefined}

  it('the crontab\'s plain runcrons, runcrons NAME --force and crons:pause warn once on stderr; their output is unchanged', async () => {
    for (const args of [['runcrons'], ['runcrons', 'test.success', '--force'], ['crons:pause', 'test.success'], ['crons:clean', '--older-than', '30d']]) {
      const result = await box.run(args, pinned)
      expect(result.code, context(result)).to.equal(0)
      expect(lines(result.stderr), `${args.join(' ')}\n${context(result)}`).to.deep.equal([WARNING])
    }
  })

  it('the plain runcrons in a process of its own (the bundle\'s fast path) warns too', async () => {
    const result = await box.spawn(['runcrons'], pinned)
    expect(lines(result.stderr), context(result)).to.deep.equal([WARNING])
    expect(lines(result.stdout)).to.deep.equal(['[✔] test.success'])
  })

  it('no warning without MANAGE_NOW, with --dry-run, for a command that only reads, or at -v 0', async () => {
    const {MANAGE_NOW: _, ...unpinned} = pinned
    for (const [args, env] of [
      [['runcrons'], unpinned],
      [['runcrons', '--dry-run'], pinned],
      [['runcrons', 'test.success', '--force', '--dry-run'], pinned],
      [['crons:clean', '--older-than', '30d', '--dry-run'], pinned],
      [['crons:list'], pinned],
      [['runcrons', '-v', '0'], pinned],
    ] as const) {
      const result = await box.run(args, env)
      expect(result.stderr, `${args.join(' ')}\n${context(result)}`).to.equal('')
    }
  })
})
