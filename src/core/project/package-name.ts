/** The name apps install manage under and import it by (test/layout.test.ts holds it to package.json). */
export const PACKAGE_NAME = 'manage-cli'
