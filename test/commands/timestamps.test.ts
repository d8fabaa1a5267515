import {expect} from 'chai'
import {timestampedOutput} from '../../src/cli/output/command-io'
import {context, lines, Sandbox, type Result} from '../helpers/cli'

/** Each non-empty line of `text` split into its time and the rest; the time must be ISO 8601 UTC to the millisecond. */
function dated(text: string): Array<{ms: number; line: string}> {
  return lines(text).map((line) => {
    const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (.*)$/.exec(line)
    expect(match, `an undated line: ${line}`).not.to.equal(null)
    return {ms: Date.parse(match![1]), line: match![2]}
  })
}

/** Every line of the result dated with the real time of the call (not MANAGE_NOW's); the lines without their dates. */
function expectDated(result: Result, from: number, to: number): {stdout: string[]; stderr: string[]} {
  const out = dated(result.stdout)
  const err = dated(result.stderr)
  for (const {ms, line} of [...out, ...err]) expect(ms, `${line}\n${context(result)}`).to.be.within(from, to)
  return {stdout: out.map((entry) => entry.line), stderr: err.map((entry) => entry.line)}
}

describe('runcrons --timestamps: each line of the tick starts with the time it was written', function () {
  this.timeout(60_000)
  let box: Sandbox
  // The decision clock is pinned far from today: the dates written are the real time, not this one.
  const NOW = '2026-01-05T10:00:00Z'

  beforeEach(async () => {
    box = new Sandbox({tier: 'in-process'})
    await box.migrate()
  })
  afterEach(() => box.remove())

  it('the crontab form: a tick that runs jobs (stdout and stderr), then a no-op tick (the fast path)', async () => {
    const from = Date.now()
    const ran = await box.runcrons('SuccessJob,FailJob,BadTimeJob', NOW, ['--timestamps'])
    const noop = await box.runcrons('SuccessJob', NOW, ['--timestamps'])
    const to = Date.now()
    expect(ran.code, context(ran)).to.equal(1)
    expect(expectDated(ran, from, to)).to.deep.equal({
      stdout: ['[✔] test.success', '[✘] test.fail: Error: boom from test.fail'],
      stderr: ["[!] BadTimeJob: runAtTimes has '25:00', not a time: use 'HH:MM' on a 24-hour clock, e.g. '06:00' or '18:30'"],
    })
    expect(noop.code, context(noop)).to.equal(0)
    expect(expectDated(noop, from, to)).to.deep.equal({stdout: ['[ ] test.success'], stderr: []})
  })

  it('through the full command (a job by name, --force), -v 2 and a failure with its stack: every line dated', async () => {
    const from = Date.now()
    const result = await box.runcrons('SuccessJob,FailJob', NOW, ['FailJob', 'SuccessJob', '--force', '--timestamps', '-v', '2'])
    const to = Date.now()
    expect(result.code, context(result)).to.equal(1)
    const {stdout} = expectDated(result, from, to)
    expect(stdout[0]).to.equal('[✘] test.fail: Error: boom from test.fail')
    expect(stdout.slice(1).some((line) => /^ +at /.test(line)), context(result)).to.equal(true) // the stack's lines, each dated
    expect(stdout.at(-1)).to.match(/^2 job\(s\): 1 ran, 1 failed, .* now = 2026-01-05 10:00:00 UTC\)$/)
  })

  it("an error that ends the tick is dated too, on either path", async () => {
    for (const args of [['--timestamps'], ['SuccessJob', '--force', '--timestamps']]) {
      const from = Date.now()
      const result = await box.runcrons('SuccessJob', NOW, args, {DATABASE_URL: 'postgres://app:pw@127.0.0.1:1/db'})
      const to = Date.now()
      expect(result.code, context(result)).to.equal(1)
      expect(expectDated(result, from, to)).to.deep.equal({
        stdout: [],
        stderr: ['error: cannot connect to the postgres database postgres://app:***@127.0.0.1:1/db (ECONNREFUSED): is the server running? check DATABASE_URL'],
      })
    }
  })

  it('bin/manage, as cron runs it (stdout a pipe, written straight to fd 1 on the fast path): dated once', async () => {
    await box.runcrons('SuccessJob', NOW)
    const from = Date.now()
    const result = await box.spawn(['runcrons', '--timestamps'], {TEST_CRONS: 'SuccessJob', MANAGE_NOW: NOW})
    const to = Date.now()
    expect(result.code, context(result)).to.equal(0)
    expect(expectDated(result, from, to)).to.deep.equal({stdout: ['[ ] test.success'], stderr: []})
  })

  it('without the flag, no line is dated', async () => {
    const result = await box.runcrons('SuccessJob', NOW)
    expect(lines(result.stdout), context(result)).to.deep.equal(['[✔] test.success'])
  })

  it('dates each line once, at its start, whatever the pieces it is written in', () => {
    const written: string[] = []
    let now = Date.parse('2026-12-04T22:00:00.000Z')
    const output = timestampedOutput({write: (text) => written.push(text), isTTY: false}, () => now)
    output.write('one\ntwo\n')
    now += 1500
    output.write('three, ')
    output.write('')
    now += 1
    output.write('still three\nfour\n')
    expect(written.join('')).to.equal(
      '2026-12-04T22:00:00.000Z one\n2026-12-04T22:00:00.000Z two\n2026-12-04T22:00:01.500Z three, still three\n2026-12-04T22:00:01.501Z four\n',
    )
  })
})
