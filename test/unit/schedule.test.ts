import {expect} from 'chai'
import {CronJobBase} from '../../src/core/contract/cron-job-base'
import {loadJob, loadJobs} from '../../src/core/jobs/load-jobs'
import {parseSlot} from '../../src/core/jobs/schedule'

class Good extends CronJobBase {
  code = 'test.good'
  runEveryMins = 5
  runAtTimes = ['0:05', '23:59', '0:05']
  async do() {
    return 'ok'
  }
}

function classWith(options: Record<string, unknown>, name = 'Configured'): unknown {
  const cls = class extends CronJobBase {
    constructor() {
      super()
      Object.assign(this, {code: 'test.configured', ...options})
    }
    async do() {
      return null
    }
  }
  Object.defineProperty(cls, 'name', {value: name})
  return cls
}

function problemsOf(options: Record<string, unknown>): string[] {
  return loadJob(classWith(options)).problems.filter((p) => p.level === 'error').map((p) => p.message)
}

describe('parseSlot', () => {
  for (const [text, slot, minute] of [
    ['0:00', '00:00', 0],
    ['00:05', '00:05', 5],
    ['9:30', '09:30', 570],
    ['23:59', '23:59', 1439],
  ] as const) {
    it(`reads '${text}' as ${slot}`, () => expect(parseSlot(text)).to.deep.equal({slot, minuteOfDay: minute}))
  }
  for (const text of ['24:00', '25:00', '12:60', '1230', '12:3', 'noon', '', ' :30', '-1:00']) {
    it(`rejects '${text}'`, () => expect(parseSlot(text)).to.equal(null))
  }
})

describe('loadJob: validation, one clear line per problem', () => {
  it('accepts a good class and normalises its slots (duplicates dropped)', () => {
    const {job, problems} = loadJob(Good)
    expect(problems).to.deep.equal([])
    expect(job!.code).to.equal('test.good')
    expect(job!.schedule.runAtTimes.map((s) => s.slot)).to.deep.equal(['00:05', '23:59'])
    expect(job!.schedule.runToleranceSeconds).to.equal(0)
    expect(job!.policy).to.deep.equal({allowParallelRuns: false, isolate: false, timeoutMins: null, removeSuccessfulCronLogs: false, catchUp: null, catchUpWindowMs: null, overlap: null, pauseAfterFailures: null, limit: null})
    expect(job!.schedule).to.not.have.any.keys('allowParallelRuns', 'isolate', 'timeoutMins', 'removeSuccessfulCronLogs')
  })

  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a missing code', {code: undefined}, /has no code: add a unique code/],
    ['an empty code', {code: ''}, /has no code/],
    ['a code that is not a string', {code: 42}, /code 42 is not a string/],
    ['negative minutes', {runEveryMins: -5}, /runEveryMins = -5 is not a whole number of minutes ≥ 0/],
    ['fractional minutes', {runEveryMins: 2.5}, /runEveryMins = 2.5/],
    ['minutes as a string', {retryAfterFailureMins: '5'}, /retryAfterFailureMins = '5'/],
    ['a malformed HH:MM', {runAtTimes: ['25:00']}, /runAtTimes has '25:00', not a time: use 'HH:MM'/],
    ['runAtTimes that is not a list', {runAtTimes: '10:00'}, /runAtTimes = '10:00' is not a list/],
    ['a weekday outside 0–6', {runWeeklyOnDays: [7]}, /runWeeklyOnDays has 7: use whole numbers from 0 to 6 \(Monday = 0/],
    ['a month day outside 1–31', {runMonthlyOnDays: [0, 32]}, /runMonthlyOnDays has 0, 32/],
    ['a negative tolerance', {runToleranceSeconds: -1}, /runToleranceSeconds = -1/],
    ['a non-boolean flag', {allowParallelRuns: 'yes'}, /allowParallelRuns = 'yes' is not true or false/],
    ['a code with a line break', {code: 'app.\nreport'}, /^code 'app\.\\nreport' has a control character \(a line break, an escape, NUL…\): use printable characters only/],
    ['a code with an ANSI escape', {code: '\u001b[31mred'}, /^code '\\u001b\[31mred' has a control character/],
    ['a code with a NUL byte', {code: 'app\u0000x'}, /^code 'app\\u0000x' has a control character/],
    ['a code with a bidirectional override', {code: 'app\u202ex'}, /has a control character/],
    ['zero seconds', {runEveryMins: undefined, runEverySeconds: 0}, /^runEverySeconds = 0 is not a whole number of seconds ≥ 1: use e\.g\. runEverySeconds = 5$/],
    ['fractional seconds', {runEveryMins: undefined, runEverySeconds: 0.5}, /^runEverySeconds = 0\.5 is not a whole number of seconds ≥ 1/],
    ['negative seconds', {runEveryMins: undefined, runEverySeconds: -5}, /^runEverySeconds = -5 is not a whole number of seconds ≥ 1/],
    ['seconds as a string', {runEveryMins: undefined, runEverySeconds: '5'}, /^runEverySeconds = '5' is not a whole number of seconds ≥ 1/],
    ['both runEveryMins and runEverySeconds', {runEveryMins: 5, runEverySeconds: 30}, /^sets both runEveryMins \(5\) and runEverySeconds \(30\): keep one, e\.g\. runEverySeconds = 300$/],
    ['a tolerance as long as runEverySeconds', {runEveryMins: undefined, runEverySeconds: 5, runToleranceSeconds: 5}, /^runToleranceSeconds = 5 is not less than runEverySeconds = 5, so a run would be due again as soon as it starts/],
    ['pauseAfterFailures of 0', {pauseAfterFailures: 0}, /^pauseAfterFailures = 0 is not a whole number of failures ≥ 1: use e\.g\. pauseAfterFailures = 3 \(or leave it unset never to pause\)$/],
    ['fractional pauseAfterFailures', {pauseAfterFailures: 2.5}, /^pauseAfterFailures = 2\.5 is not a whole number of failures ≥ 1/],
    ['pauseAfterFailures as a string', {pauseAfterFailures: '3'}, /^pauseAfterFailures = '3' is not a whole number of failures ≥ 1/],
  ]
  for (const [what, options, message] of cases) {
    it(`reports ${what}`, () => {
      const problems = problemsOf({runEveryMins: 5, ...options})
      expect(problems).to.have.length(1)
      expect(problems[0]).to.match(message)
      expect(problems[0]).not.to.include('\n')
    })
  }

  it('reads pauseAfterFailures into the run policy (null when unset or null)', () => {
    expect(loadJob(classWith({runEveryMins: 5, pauseAfterFailures: 3})).job!.policy.pauseAfterFailures).to.equal(3)
    expect(loadJob(classWith({runEveryMins: 5, pauseAfterFailures: null})).job!.policy.pauseAfterFailures).to.equal(null)
    expect(loadJob(classWith({runEveryMins: 5})).job!.policy.pauseAfterFailures).to.equal(null)
  })

  it('reads runEverySeconds as an interval in ms, beside a tolerance below it and a retry wait', () => {
    const {job, problems} = loadJob(classWith({runEverySeconds: 5, runToleranceSeconds: 1, retryAfterFailureMins: 2}))
    expect(problems).to.deep.equal([])
    expect(job!.schedule).to.deep.include({intervalMs: 5000, runToleranceSeconds: 1, retryAfterFailureMins: 2})
    expect(loadJob(classWith({runEveryMins: 5})).job!.schedule.intervalMs).to.equal(300_000)
    expect(loadJob(classWith({runEveryMins: 0})).job!.schedule.intervalMs).to.equal(0)
    expect(loadJob(classWith({runEverySeconds: null})).job!.schedule.intervalMs).to.equal(null)
  })

  it('reports every problem of a class, not just the first', () => {
    expect(problemsOf({code: undefined, runEveryMins: -1, runAtTimes: ['7pm']})).to.have.length(3)
  })

  it('names the class in each problem', () => {
    const {problems} = loadJob(classWith({runEveryMins: -1}, 'BrokenCronJob'))
    expect(problems[0].subject).to.equal('BrokenCronJob')
  })

  it('reports a constructor that throws, and a value that is not a class', () => {
    class Throws extends CronJobBase {
      code = 'x'
      constructor() {
        super()
        throw new Error('no config')
      }
      async do() {}
    }
    expect(loadJob(Throws).problems[0].message).to.match(/constructor threw "no config"/)
    expect(loadJob({code: 'x'}).problems[0].message).to.match(/is not a class/)
  })

  it('reports a class without do()', () => {
    const NoDo = class {
      code = 'x'
      runEveryMins = 1
    }
    expect(loadJob(NoDo).problems.map((p) => p.message)).to.deep.include('has no do() method: add "async do(ctx) { … }"')
  })

  it('warns (not errors) about a class with no schedule: it runs only with --force', () => {
    const {job, problems} = loadJob(classWith({}))
    expect(job).to.not.equal(undefined)
    expect(problems).to.have.length(1)
    expect(problems[0].level).to.equal('warning')
  })
})

describe('loadJobs: a bad class never takes the good ones down', () => {
  it('skips the bad class and keeps the others, in order', () => {
    const A = classWith({code: 'a', runEveryMins: 1}, 'A')
    const Bad = classWith({code: 'bad', runEveryMins: -1}, 'Bad')
    const C = classWith({code: 'c', runEveryMins: 1}, 'C')
    const {jobs, problems} = loadJobs([A, Bad, C])
    expect(jobs.map((job) => job.code)).to.deep.equal(['a', 'c'])
    expect(problems.map((p) => p.subject)).to.deep.equal(['Bad'])
  })

  it('runs none of the classes that share a code, and says which', () => {
    const One = classWith({code: 'same', runEveryMins: 1}, 'One')
    const Two = classWith({code: 'same', runEveryMins: 1}, 'Two')
    const Other = classWith({code: 'other', runEveryMins: 1}, 'Other')
    const {jobs, problems} = loadJobs([One, Two, Other])
    expect(jobs.map((job) => job.code)).to.deep.equal(['other'])
    expect(problems).to.have.length(1)
    expect(problems[0].subject).to.equal('One, Two')
    expect(problems[0].message).to.match(/share the code 'same'/)
  })
})
