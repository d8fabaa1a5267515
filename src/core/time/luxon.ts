import type * as Luxon from 'luxon'

let loaded: typeof Luxon | undefined

/**
 * luxon, loaded on first use. A no-op tick of interval jobs in UTC never needs it, and loading
 * it is a good part of such a tick, so manage reaches luxon only
 * through this function (types may be imported directly).
 */
export function luxon(): typeof Luxon {
  if (loaded === undefined) {
    loaded = require('luxon') as typeof Luxon
    // Dates are shown in one locale everywhere (cron's environment rarely has one), and asking the
    // system for its locale is, by measurement, the largest single cost of a tick's luxon use.
    if (!loaded.Settings.defaultLocale) loaded.Settings.defaultLocale = 'en-US'
  }
  return loaded
}
