import {createHash} from 'node:crypto'
import {expect} from 'chai'
import {CronJobBase} from '../../src/core/contract/cron-job-base'
import {loadJob} from '../../src/core/jobs/load-jobs'
import {describeSchedule} from '../../src/core/schedule/describe'
import {historyFromRuns} from '../../src/core/schedule/history'
import {isDue} from '../../src/core/schedule/is-due'
import {nextDueTimes} from '../../src/core/schedule/next-due'
import {isHashed} from '../../src/core/time/cron-expression'
import {resolveHashedCron} from '../../src/core/time/hashed-cron'
import {at, run, runPolicy} from '../helpers/schedule'

/** The resolved expression, or the problem. */
function resolved(expression: string, code: string): string {
  const answer = resolveHashedCron(expression, code)
  return answer.problem ?? answer.cron
}

/** The class loader's view of a class with this code and cron. */
function loaded(cron: unknown, code: unknown = 'app.job_0') {
  class Hashed extends CronJobBase {
    code = code as string
    cron = cron as string
    async do() {}
  }
  return loadJob(Hashed)
}

/** The values of one resolved field (a number or a comma list). */
const values = (field: string) => field.split(',').map(Number)

const CODES = Array.from({length: 100}, (_, i) => `app.job_${i}`)

describe('hashed cron: Jenkins H resolved from the SHA-256 of the code', () => {
  describe('pinned resolutions (any change of the hashing moves every H job: these fail first)', () => {
    // Checked by hand outside Node: Python's hashlib.sha256(code).digest(), words 4i..4i+3 big-endian.
    // app.job_0: words mod (60, 60, 24, 28, 12, 7) → second 46, minute 43, hour 3, day 10, month 6, weekday 0.
    const table: Array<[expression: string, code: string, expected: string]> = [
      ['H * * * *', 'app.job_0', '43 * * * *'],
      ['H * * * *', 'app.job_1', '48 * * * *'],
      ['H 3 * * *', 'app.job_0', '43 3 * * *'],
      ['H(0-29) * * * *', 'app.job_0', '13 * * * *'],
      ['H/15 * * * *', 'app.job_0', '13,28,43,58 * * * *'],
      ['H H H H H', 'app.job_0', '43 3 10 6 0'],
      ['H H H H H H', 'app.job_0', '46 43 3 10 6 0'],
      ['H(0-29)/10 H(9-17) * * H(1-5)', 'app.job_1', '8,18,28 10 * * 2'],
    ]
    for (const [expression, code, expected] of table) {
      it(`'${expression}' for ${code} → '${expected}'`, () => expect(resolved(expression, code)).to.equal(expected))
    }

    it('derives each field from its own four bytes (seconds first), so fields are independent', () => {
      const digest = createHash('sha256').update('app.job_7').digest()
      const word = (i: number) => digest.readUInt32BE(4 * i)
      const expected = [word(0) % 60, word(1) % 60, word(2) % 24, 1 + (word(3) % 28), 1 + (word(4) % 12), word(5) % 7].join(' ')
      expect(resolved('H H H H H H', 'app.job_7')).to.equal(expected)
      // A seconds field does not move the minute: field i reads its bytes whatever the count.
      expect(resolved('H H H H H', 'app.job_7')).to.equal(expected.split(' ').slice(1).join(' '))
    })
  })

  describe('forms, per field', () => {
    const table: Array<[what: string, expression: string, check: (fields: string[]) => void]> = [
      ['H in the minutes: one minute', 'H * * * *', ([m]) => expect(values(m)).to.have.length(1)],
      ['H(a-b): a + hash mod (b-a+1)', 'H(10-14) * * * *', ([m]) => expect(Number(m)).to.be.within(10, 14)],
      ['H(a-a): a', 'H(7-7) * * * *', ([m]) => expect(m).to.equal('7')],
      ['H/n: every n from a start below n', 'H/20 * * * *', ([m]) => expectStepped(values(m), 0, 59, 20)],
      ['H(a-b)/n: from a + hash mod n, every n up to b', 'H(30-59)/10 * * * *', ([m]) => expectStepped(values(m), 30, 59, 10)],
      ['H/1: every value', 'H/1 * * * *', ([m]) => expect(values(m)).to.deep.equal(Array.from({length: 60}, (_, i) => i))],
      ['H in the hours: 0-23', '0 H * * *', ([, h]) => expect(Number(h)).to.be.within(0, 23)],
      ['H/6 in the hours', '0 H/6 * * *', ([, h]) => expectStepped(values(h), 0, 23, 6)],
      ['H in the days of the month: 1-28, valid in every month', '0 0 H * *', ([, , d]) => expect(Number(d)).to.be.within(1, 28)],
      ['H(1-31) in the days of the month: the whole range when written', '0 0 H(1-31) * *', ([, , d]) => expect(Number(d)).to.be.within(1, 31)],
      ['H/7 in the days of the month: up to 28', '0 0 H/7 * *', ([, , d]) => expectStepped(values(d), 1, 28, 7)],
      ['H in the months: 1-12', '0 0 1 H *', ([, , , mo]) => expect(Number(mo)).to.be.within(1, 12)],
      ['H in the days of the week: 0-6 (Sunday once)', '0 0 * * H', ([, , , , w]) => expect(Number(w)).to.be.within(0, 6)],
      ['H(1-5) in the days of the week: a weekday', '0 0 * * H(1-5)', ([, , , , w]) => expect(Number(w)).to.be.within(1, 5)],
      ['H in a list beside numbers', 'H(0-29),45 * * * *', ([m]) => expect(values(m)[1]).to.equal(45)],
      ['lowercase h reads as H', 'h * * * *', ([m]) => expect(values(m)).to.have.length(1)],
    ]
    for (const [what, expression, check] of table) {
      it(`${what}: '${expression}', for 100 codes`, () => {
        for (const code of CODES) {
          const answer = resolved(expression, code)
          expect(answer, `${code}: ${answer}`).to.match(/^[\d,* ]+$/)
          check(answer.split(' '))
        }
      })
    }

    it('H(a-b) takes every value of its range over 100 codes (no value left out)', () => {
      expect(new Set(CODES.map((code) => resolved('H(10-14) * * * *', code))).size).to.equal(5)
    })

    it('leaves names, macros and expressions without H alone (the H of THU is no hash)', () => {
      for (const expression of ['0 9 * * MON,THU', '0 9 * * thu', '*/15 * * * *', '@hourly', '0 0 * * SAT-THU']) {
        expect(isHashed(expression), expression).to.equal(false)
      }
      for (const expression of ['H * * * *', '0 H/4 * * *', '0 0 * * H(1-5)', '0 9 * * THU,H']) expect(isHashed(expression), expression).to.equal(true)
      expect(resolved('0 9 * * THU,H', 'app.job_0')).to.match(/^0 9 \* \* THU,[0-6]$/)
    })
  })

  describe('spread', () => {
    it("100 codes on 'H * * * *' take at least 45 distinct minutes", () => {
      const minutes = new Set(CODES.map((code) => resolved('H * * * *', code)))
      expect(minutes.size).to.be.at.least(45)
    })

    it("on 'H/15 * * * *' each code has 4 minutes 15 apart, and the starts cover 0-14", () => {
      const starts = new Set<number>()
      for (const code of CODES) {
        const minutes = values(resolved('H/15 * * * *', code).split(' ')[0])
        expect(minutes, code).to.have.length(4)
        expect(minutes.slice(1).map((minute, i) => minute - minutes[i]), code).to.deep.equal([15, 15, 15])
        starts.add(minutes[0])
      }
      expect(Math.max(...starts)).to.be.below(15)
      expect(starts.size).to.be.at.least(12)
    })
  })
})

/** Values from low + (something below step), every step, up to high. */
function expectStepped(found: number[], low: number, high: number, step: number): void {
  expect(found[0]).to.be.within(low, low + step - 1)
  found.forEach((value, i) => expect(value).to.equal(found[0] + i * step))
  expect(found[found.length - 1]).to.be.at.most(high)
  expect(found[found.length - 1] + step).to.be.above(high)
}

describe('hashed cron in the loader: Schedule.cron resolved, cronWritten as written', () => {
  it('resolves an H from the class code, and keeps the written form', () => {
    const {job, problems} = loaded(' H 3 * * * ', 'app.job_0')
    expect(problems).to.deep.equal([])
    expect(job!.schedule).to.deep.include({cron: '43 3 * * *', cronWritten: 'H 3 * * *'})
  })

  it('leaves cronWritten null without an H', () => {
    expect(loaded('0 9 * * MON,THU').job!.schedule).to.deep.include({cron: '0 9 * * MON,THU', cronWritten: null})
  })

  const FIELDS = "five fields (minute hour day-of-month month day-of-week, e.g. cron = '*/15 * * * *'), or six with seconds first (e.g. cron = '*/10 * * * * *')"
  const errors: Array<[what: string, cron: string, problem: string]> = [
    ['a range from high to low', 'H(30-10) * * * *', "cron = 'H(30-10) * * * *' has H(30-10) in the minute field, a range from high to low: write it low to high, e.g. H(10-30)"],
    ['a step of 0', 'H/0 * * * *', "cron = 'H/0 * * * *' has H/0 in the minute field, a step outside 1-60 (the values of 0-59): use a step from 1 to 60, e.g. H/15"],
    ['a range beyond the minutes', 'H(0-99) * * * *', "cron = 'H(0-99) * * * *' has H(0-99) in the minute field, beyond 0-59: keep the range within 0-59, e.g. H(0-59)"],
    ['a step longer than its range', 'H(0-9)/12 * * * *', "cron = 'H(0-9)/12 * * * *' has H(0-9)/12 in the minute field, a step outside 1-10 (the values of 0-9): use a step from 1 to 10, e.g. H(0-9)/10"],
    ['a day of the month beyond 31', '0 0 H(1-32) * *', "cron = '0 0 H(1-32) * *' has H(1-32) in the day-of-month field, beyond 1-31: keep the range within 1-31, e.g. H(1-31)"],
    ['an hour beyond 23', '0 H(12-24) * * *', "cron = '0 H(12-24) * * *' has H(12-24) in the hour field, beyond 0-23: keep the range within 0-23, e.g. H(12-23)"],
    ['a form Jenkins does not have', 'H5 * * * *', "cron = 'H5 * * * *' has H5 in the minute field, not a form of H: use H, H(a-b), H/n or H(a-b)/n, e.g. H(0-59)"],
    ['H in a range', '1-H * * * *', "cron = '1-H * * * *' has 1-H in the minute field, not a form of H: use H, H(a-b), H/n or H(a-b)/n, e.g. H(0-59)"],
    ['a wrong field count (said as for any expression)', 'H * * *', `cron = 'H * * *' has 4 fields, not five or six: use ${FIELDS}`],
    ['a bad field beside the H (cron-parser on the resolved expression)', 'H 25 * * *', `cron = 'H 25 * * *' is not a cron expression (Constraint error, got value 25 expected range 0-23): use ${FIELDS}`],
  ]
  for (const [what, cron, problem] of errors) {
    it(`refuses ${what} in one line naming the value and the fix: '${cron}'`, () => {
      expect(loaded(cron).problems.map((p) => p.message)).to.deep.equal([problem])
    })
  }

  it('a class with an H and no usable code: one line per problem (the code; the H if it is wrong)', () => {
    expect(loaded('H * * * *', 42).problems.map((p) => p.message)).to.deep.equal(["code 42 is not a string: use a unique string such as 'app.my_job'"])
    expect(loaded('H/0 * * * *', 42).problems.map((p) => p.message)).to.have.length(2)
  })

  it('shows both forms where the schedule is described', () => {
    const {schedule} = loaded('H 3 * * *').job!
    expect(describeSchedule(schedule, runPolicy())).to.equal("cron 'H 3 * * *' (here: '43 3 * * *') (At 03:43)")
  })
})

describe("isDue with cron = 'H * * * *': due at the job's hashed minute, at no other", () => {
  const {schedule} = loaded('H * * * *', 'app.job_0').job!
  const decide = (now: string, runs = [] as ReturnType<typeof run>[]) => isDue(schedule, historyFromRuns(runs, at(now)), at(now), {timeZone: 'UTC'})

  it('a new job: due in minute 43 (its hash), not due in any other minute of the hour', () => {
    const due = Array.from({length: 60}, (_, minute) => minute).filter((minute) => decide(`2026-01-05T10:${String(minute).padStart(2, '0')}:10`).due)
    expect(due).to.deep.equal([43])
  })

  it('ran at 10:43: not due at 11:42, due at 11:43; the reason names both forms', () => {
    const runs = [run('succeeded', '2026-01-05T10:43:00')]
    expect(decide('2026-01-05T11:42:10', runs).due).to.equal(false)
    const decision = decide('2026-01-05T11:43:10', runs)
    expect(decision.due).to.equal(true)
    expect(decision.reason).to.equal("cron 'H * * * *' (here: '43 * * * *'): slot 2026-01-05 11:43 has not run")
  })

  it('its next due times are its hashed minute of each hour', () => {
    const now = at('2026-01-05T10:00:00')
    const times = nextDueTimes(schedule, historyFromRuns([], now), 'app.job_0', now, 3, {timeZone: 'UTC'})
    expect(times.map((time) => new Date(time.atMs).toISOString())).to.deep.equal(['2026-01-05T10:43:00.000Z', '2026-01-05T11:43:00.000Z', '2026-01-05T12:43:00.000Z'])
  })
})
