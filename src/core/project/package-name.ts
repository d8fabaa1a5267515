/** The name apps install manage under and import it by (test/unit/layout.test.ts holds it to package.json). */
export const PACKAGE_NAME = 'manage-cli'

/** The version each server's tick records (cron_tick.version); test/commands/project-layout.test.ts holds it to package.json. */
export const PACKAGE_VERSION = '0.1.0'
