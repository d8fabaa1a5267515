// `npm run screenshots`: each view of the dashboard, with three days of runs, as a PNG in
// var/screenshots/ (Debian's Chromium, driven by playwright-core).
import {mkdirSync} from 'node:fs'
import path from 'node:path'
import {launchChromium} from '../test-browser/dashboard-session'
import {ROOT} from '../test/helpers/cli'
import {DEMO_TOKEN, startDemo} from './dashboard-demo'

async function main(): Promise<void> {
  const out = path.join(ROOT, 'var', 'screenshots')
  mkdirSync(out, {recursive: true})
  const demo = await startDemo({runs: 1200})
  const browser = await launchChromium()
  try {
    const page = await browser.newPage({viewport: {width: 1280, height: 900}})
    const shot = async (name: string) => {
      const file = path.join(out, `${name}.png`)
      await page.screenshot({path: file, fullPage: true})
      console.log(path.relative(ROOT, file))
    }
    await page.goto(demo.url)
    await shot('sign-in')
    await page.fill('#password', DEMO_TOKEN)
    await page.click('button[type=submit]')
    await page.waitForSelector('#jobs')
    await shot('jobs')
    await page.click('a:has-text("test.fail")')
    await page.waitForSelector('svg.chart')
    await shot('job')
    await page.goto(`${demo.url}jobs/test.fail/runs?status=failed`)
    await shot('history')
    await page.click('table.runs tbody tr a')
    await page.waitForSelector('pre#message')
    await shot('run')
    await page.goto(`${demo.url}runners`)
    await shot('runners')
  } finally {
    await browser.close()
    await demo.stop()
  }
}

main().catch((error: unknown) => {
  console.error(`screenshots: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
