import {expect} from 'chai'
import {CronJobBase} from '../../src/core/contract/cron-job-base'
import {loadJob} from '../../src/core/jobs/load-jobs'
import {CronExpressionParser} from 'cron-parser'
import {DateTime} from 'luxon'
import {cronExpressionError, instantOfNaive, naiveMs, nextSlot, previousSlot, slotsPerMinute} from '../../src/core/time/cron-expression'

/** The problems loadJob reports for a class whose cron is `cron`. */
function cronProblems(cron: unknown): string[] {
  class Cron extends CronJobBase {
    code = 'test.cron'
    cron = cron as string
    async do() {}
  }
  return loadJob(Cron).problems.map((problem) => problem.message)
}

const FIELDS = "five fields (minute hour day-of-month month day-of-week, e.g. cron = '*/15 * * * *'), or six with seconds first (e.g. cron = '*/10 * * * * *')"
const FIX = `use ${FIELDS}`

describe("cron: five fields, or six with seconds first (cron-parser's own reading of fewer means something else)", () => {
  const table: Array<[what: string, cron: string, problem: string | null]> = [
    ['an empty string', '', `cron = '' has 0 fields, not five or six: ${FIX}`],
    ['a blank string', '   ', `cron = '   ' has 0 fields, not five or six: ${FIX}`],
    ['one field (every minute from Sunday to cron-parser)', '*/15', `cron = '*/15' has 1 field, not five or six: ${FIX}`],
    ['four fields (every minute of hours 0 and 15)', '*/15 * * *', `cron = '*/15 * * *' has 4 fields, not five or six: ${FIX}`],
    ['five fields', '*/15 * * * *', null],
    ['five fields, tabs and runs of spaces between them, spaces around', ' */15\t*  * *   1-5 ', null],
    ['six fields, seconds first: every 10 seconds', '*/10 * * * * *', null],
    ['six fields, seconds first: at second 0 of every 5th minute', '0 */5 * * * *', null],
    ['six fields with tabs and spaces around', ' 30\t0 6  * * 1-5 ', null],
    ['six fields with a second out of range', '60 * * * * *', `cron = '60 * * * * *' is not a cron expression (Constraint error, got value 60 expected range 0-59): ${FIX}`],
    ['six fields with a hashed H in the seconds (resolved from the code: test/unit/hashed-cron.test.ts)', 'H * * * * *', null],
    ['seven fields', '0 0 * * * * *', `cron = '0 0 * * * * *' has 7 fields, not five or six: ${FIX}`],
    ['a value out of range', '61 * * * *', `cron = '61 * * * *' is not a cron expression (Constraint error, got value 61 expected range 0-59): ${FIX}`],
    ['day names (the H of THU is no hash)', '0 9 * * MON,THU', null],
    ['a hashed H, resolved from the code', 'H * * * *', null],
    ['a hashed H with a step', '0 H/4 * * *', null],
    ['a hashed H that is no form of H', 'H5 * * * *', "cron = 'H5 * * * *' has H5 in the minute field, not a form of H: use H, H(a-b), H/n or H(a-b)/n, e.g. H(0-59)"],
    // cron-parser's macros have been accepted from the start, and are kept.
    ['@yearly', '@yearly', null],
    ['@annually', '@annually', null],
    ['@monthly', '@monthly', null],
    ['@weekly', '@weekly', null],
    ['@daily', '@daily', null],
    ['@hourly', '@hourly', null],
    ['@minutely', '@minutely', null],
    ['@weekdays', '@weekdays', null],
    ['@weekends', '@weekends', null],
    ['@daily with spaces around', ' @daily ', null],
  ]
  for (const [what, cron, problem] of table) {
    it(`${problem === null ? 'accepts' : 'refuses'} ${what}: ${JSON.stringify(cron)}`, () => {
      expect(cronProblems(cron)).to.deep.equal(problem === null ? [] : [problem])
    })
  }

  const macros = '@yearly, @annually, @monthly, @weekly, @daily, @hourly, @minutely, @weekdays, @weekends'
  for (const macro of ['@secondly', '@midnight', '@reboot', '@DAILY']) {
    it(`refuses ${macro}, naming the macros it reads`, () => {
      expect(cronProblems(macro)).to.deep.equal([`cron = '${macro}' is not a macro manage reads: use one of ${macros}, or ${FIELDS}`])
    })
  }

  it('refuses a cron that is not a string', () => {
    expect(cronProblems(15)).to.deep.equal([`cron = 15 is not a string: ${FIX}`])
  })

  it('keeps a valid expression trimmed', () => {
    class Trimmed extends CronJobBase {
      code = 'test.trimmed'
      cron = ' 0 6 * * * '
      async do() {}
    }
    expect(loadJob(Trimmed).job!.schedule.cron).to.equal('0 6 * * *')
  })
})

describe('slotsPerMinute: how often an expression fires within a minute (above 1, the crontab tick cannot keep it)', () => {
  const table: Array<[cron: string, slots: number]> = [
    ['*/15 * * * *', 1],
    ['@hourly', 1],
    ['0 */5 * * * *', 1],
    ['30 * * * * *', 1],
    ['*/10 * * * * *', 6],
    ['5,35 * * * * *', 2],
    ['* * * * * *', 60],
  ]
  for (const [cron, slots] of table) it(`${cron}: ${slots}`, () => expect(slotsPerMinute(cron)).to.equal(slots))
})

describe('slots around an instant, kept per expression (a scheduler asks the same questions at every wake)', () => {
  const parsed = (expression: string, naive: number, way: 'prev' | 'next') => {
    try {
      const iterator = CronExpressionParser.parse(expression, {currentDate: new Date(way === 'prev' ? naive + 1 : naive), tz: 'UTC'})
      return (way === 'prev' ? iterator.prev() : iterator.next()).getTime()
    } catch {
      return null
    }
  }
  const start = Date.UTC(2026, 2, 29, 0, 59, 58, 500)

  it("answers as cron-parser does, asked forwards, backwards, on slots and 1 ms either side of them", () => {
    const expressions = ['*/2 * * * * *', '0 30 1 * * *', '15 3 * * 1-5', '*/15 * * * *', '@daily', '0 0 29 2 *']
    const instants: number[] = []
    for (let i = 0; i < 120; i++) instants.push(start + i * 499)
    instants.push(...[...instants].reverse())
    for (const slot of [Date.UTC(2026, 2, 29, 1, 0, 0), Date.UTC(2026, 2, 29, 1, 30, 0), Date.UTC(2026, 2, 30, 3, 15, 0)]) instants.push(slot - 1, slot, slot + 1, slot, slot - 1)
    for (const expression of expressions) {
      for (const naive of instants) {
        expect(previousSlot(expression, naive), `previousSlot('${expression}', ${new Date(naive).toISOString()})`).to.equal(parsed(expression, naive, 'prev'))
        expect(nextSlot(expression, naive), `nextSlot('${expression}', ${new Date(naive).toISOString()})`).to.equal(parsed(expression, naive, 'next'))
      }
    }
  })

  it('checks an expression once, and gives the same answer again', () => {
    expect(cronExpressionError('*/7 * * * *')).to.equal(null)
    expect(cronExpressionError('*/7 * * * *')).to.equal(null)
    const problem = cronExpressionError('61 * * * *')
    expect(problem).to.match(/^is not a cron expression/)
    expect(cronExpressionError('61 * * * *')).to.equal(problem)
    // An H reaches cron-parser only resolved: left in, it would be drawn at random on each parse.
    expect(cronExpressionError('H * * * *')).to.match(/^has an H, which only a job's code resolves/)
  })

  it('keeps answering right past the memo limit (more distinct expressions than it keeps)', () => {
    for (let i = 0; i < 1100; i++) {
      const expression = `${i % 60} ${Math.floor(i / 60) % 24} * * *`
      expect(previousSlot(expression, start)).to.equal(parsed(expression, start, 'prev'))
    }
    expect(previousSlot('0 0 * * *', start)).to.equal(Date.UTC(2026, 2, 29, 0, 0, 0))
  })
})

describe("a zone's wall clock, kept per minute (naiveMs) and per instant (instantOfNaive)", () => {
  const wall = (ms: number, zone: string) => {
    const local = DateTime.fromMillis(ms, {zone})
    return Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second, local.millisecond)
  }
  // Around offset changes: New York and Paris (DST), Kathmandu (+5:45), Lord Howe (a 30-minute DST), Chatham (+12:45 / +13:45).
  const changes: Array<[string, string]> = [
    ['America/New_York', '2026-03-08T07:00:00Z'],
    ['America/New_York', '2026-11-01T06:00:00Z'],
    ['Europe/Paris', '2026-03-29T01:00:00Z'],
    ['Australia/Lord_Howe', '2026-04-04T15:00:00Z'],
    ['Australia/Lord_Howe', '2026-10-03T15:30:00Z'],
    ['Pacific/Chatham', '2026-04-04T14:00:00Z'],
    ['Asia/Kathmandu', '2026-06-01T00:00:00Z'],
  ]

  it('gives luxon\'s wall clock at every second around offset changes, asked forwards and backwards', () => {
    for (const [zone, iso] of changes) {
      const change = Date.parse(iso)
      const instants: number[] = []
      for (let ms = change - 120_000; ms <= change + 120_000; ms += 999) instants.push(ms)
      for (const ms of [...instants, ...[...instants].reverse(), change - 1, change, change + 1]) expect(naiveMs(ms, zone), `${zone} ${new Date(ms).toISOString()}`).to.equal(wall(ms, zone))
    }
  })

  it('keeps nothing for instants before 1973 (offsets with seconds: Monrovia, 1971)', () => {
    const ms = Date.UTC(1971, 5, 1, 12, 0, 30)
    expect(naiveMs(ms, 'Africa/Monrovia')).to.equal(wall(ms, 'Africa/Monrovia'))
    expect(naiveMs(ms + 20, 'Africa/Monrovia')).to.equal(wall(ms + 20, 'Africa/Monrovia'))
  })

  it('finds the instant of a wall-clock time again, the gap\'s included, the same each time asked', () => {
    const gapTime = Date.UTC(2026, 2, 8, 2, 30) // 02:30 on the day New York springs forward: there is none
    const first = instantOfNaive(gapTime, 'America/New_York')
    expect(first).to.equal(Date.parse('2026-03-08T07:00:00Z'))
    expect(instantOfNaive(gapTime, 'America/New_York')).to.equal(first)
    expect(instantOfNaive(Date.UTC(2026, 2, 29, 12, 0), 'Europe/Paris')).to.equal(Date.parse('2026-03-29T10:00:00Z'))
  })
})
