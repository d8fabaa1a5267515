/** When a job is due, validated and normalised (slots as 'HH:MM'); what happens around a run is its RunPolicy. */
export interface Schedule {
  /**
   * The interval, in ms, from runEveryMins or runEverySeconds (a class sets one or neither): due
   * once this long has passed since the last successful start (0: at every tick). null: none.
   */
  intervalMs: number | null
  retryAfterFailureMins: number | null
  /** Slot strings as 'HH:MM', in list order, with their minute of the day. */
  runAtTimes: Array<{slot: string; minuteOfDay: number}>
  runWeeklyOnDays: number[] | null
  runMonthlyOnDays: number[] | null
  runToleranceSeconds: number
  /**
   * A cron expression (e.g. '0 3 * * 1-5'), read on the zone's wall clock, or null. Any H is
   * already resolved for the job's code ('H 3 * * *' → '37 3 * * *'): every decision reads this.
   */
  cron: string | null
  /** The expression as the class wrote it when it had an H (shown beside `cron`), else null. */
  cronWritten: string | null
  /** The class's own zone for cron, runAtTimes and the day filters (null: the settings'). */
  timeZone: string | null
}

/** The expression in quotes, with the written form first when it had an H: "'H 3 * * *' (here: '37 3 * * *')". */
export function cronQuoted(schedule: Pick<Schedule, 'cron' | 'cronWritten'>): string {
  return schedule.cronWritten === null ? `'${schedule.cron}'` : `'${schedule.cronWritten}' (here: '${schedule.cron}')`
}

const SLOT = /^([01]?\d|2[0-3]):([0-5]\d)$/

/** Parse 'H:MM' or 'HH:MM' to its minute of the day, or null when malformed. */
export function parseSlot(text: unknown): {slot: string; minuteOfDay: number} | null {
  if (typeof text !== 'string') return null
  const match = SLOT.exec(text.trim())
  if (!match) return null
  const hours = Number(match[1])
  const minutes = Number(match[2])
  return {slot: `${String(hours).padStart(2, '0')}:${match[2]}`, minuteOfDay: hours * 60 + minutes}
}
