import {expect} from 'chai'
import {DateTime} from 'luxon'
import {UsageError} from '../../src/core/base/errors'
import {clockFromEnv, parseInstant} from '../../src/core/time/clock'

describe('parseInstant (MANAGE_NOW)', () => {
  it('reads full UTC times without luxon, to the same instant luxon gives', () => {
    for (const raw of ['2026-03-02T10:00Z', '2026-03-02T10:00:59Z', '2026-03-02T10:00:00.123Z', '2024-02-29T23:59:59.999Z', '1999-12-31T00:00:00Z']) {
      expect(parseInstant(raw, 'Europe/Paris', 'MANAGE_NOW'), raw).to.equal(DateTime.fromISO(raw).toMillis())
    }
  })

  it('refuses a UTC time that does not exist, rather than rolling it over to the next month', () => {
    for (const raw of ['2026-02-30T10:00:00Z', '2025-02-29T00:00Z', '2026-13-01T00:00Z', '2026-01-01T24:30Z']) {
      expect(() => parseInstant(raw, 'UTC', 'MANAGE_NOW'), raw).to.throw(UsageError, `MANAGE_NOW='${raw}' is not an ISO-8601 time`)
    }
  })

  it('reads offsets and local times (in the given zone) through luxon', () => {
    expect(parseInstant('2026-03-02T11:00:00+01:00', 'UTC', 'MANAGE_NOW')).to.equal(Date.parse('2026-03-02T10:00:00Z'))
    expect(parseInstant('2026-07-01T12:00', 'Europe/Paris', 'MANAGE_NOW')).to.equal(Date.parse('2026-07-01T10:00:00Z'))
    expect(parseInstant(' 2026-03-02T10:00:00.5Z ', 'UTC', 'MANAGE_NOW')).to.equal(Date.parse('2026-03-02T10:00:00.500Z'))
  })

  it('clockFromEnv pins the clock with MANAGE_NOW and follows the system clock without it', () => {
    expect(clockFromEnv({MANAGE_NOW: '2026-03-02T10:00Z'}, 'UTC')()).to.equal(Date.parse('2026-03-02T10:00:00Z'))
    const before = Date.now()
    const now = clockFromEnv({}, 'UTC')()
    expect(now).to.be.within(before, Date.now())
  })
})
