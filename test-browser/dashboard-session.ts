import {chromium, type Browser} from 'playwright-core'

/** Debian's Chromium (apt-get install -y chromium): browser builds cannot be downloaded here. */
export const CHROMIUM = process.env.MANAGE_CHROMIUM || '/usr/bin/chromium'

export function launchChromium(): Promise<Browser> {
  return chromium.launch({executablePath: CHROMIUM, args: ['--no-sandbox']})
}

export {startDashboard} from '../test/helpers/dashboard'
