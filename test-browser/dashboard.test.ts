import {expect} from 'chai'
import type {Browser, Page} from 'playwright-core'
import {Sandbox} from '../test/helpers/cli'
import {launchChromium, startDashboard} from './dashboard-session'

const TOKEN = 'browser-test-token-0123456789abcdef'

/** The dashboard in a real headless Chromium, against a real `bin/manage dashboard` and sqlite file. */
describe('manage dashboard in a real browser (headless Chromium)', function () {
  this.timeout(60_000)
  let browser: Browser
  let box: Sandbox
  let dashboard: Awaited<ReturnType<typeof startDashboard>>
  let page: Page

  before(async () => {
    box = new Sandbox()
    await box.migrate()
    // One tick: test.success succeeds, test.fail fails with its stack.
    await box.run(['runcrons'], {TEST_CRONS: 'SuccessJob,FailJob'})
    dashboard = await startDashboard({...box.env(), TEST_CRONS: 'SuccessJob,FailJob', MANAGE_DASHBOARD_TOKEN: TOKEN} as Record<string, string>)
    browser = await launchChromium()
    page = await browser.newPage()
  })
  after(async () => {
    await browser?.close()
    await dashboard?.stop()
    box?.remove()
  })

  it('signs in with the token', async () => {
    await page.goto(dashboard.url)
    expect(new URL(page.url()).pathname).to.equal('/signin')
    await page.fill('#password', 'not the token')
    await page.click('button[type=submit]')
    expect(await page.textContent('[role=alert]')).to.equal('Wrong user or password.')
    await page.fill('#password', TOKEN)
    await page.click('button[type=submit]')
    await page.waitForSelector('h1:has-text("Jobs")')
    expect(await page.textContent('header .who')).to.equal('token')
  })

  it('shows the jobs: last run, next due, failing streak', async () => {
    const rows = await page.$$eval('#jobs tbody tr', (trs) => trs.map((tr) => String((tr as unknown as {innerText: string}).innerText).replace(/\s+/g, ' ').trim()))
    expect(rows).to.have.length(2)
    expect(rows.find((row) => row.startsWith('test.success'))).to.match(/every 5 min succeeded \d{4}-\d{2}-\d{2}/)
    expect(rows.find((row) => row.startsWith('test.fail'))).to.include('1 failing')
  })

  it('opens a job and its chart', async () => {
    await page.click('a:has-text("test.success")')
    await page.waitForSelector('h1:has-text("test.success")')
    expect(await page.isVisible('svg.chart circle.ok')).to.equal(true)
    expect(await page.isVisible('svg.timeline rect.run')).to.equal(true)
    expect(await page.$$eval('section ol li', (items) => items.length)).to.equal(10)
  })

  it('runs it now, then shows the new run', async () => {
    const before = await page.$$eval('table.runs tbody tr', (rows) => rows.length)
    await page.click('button:has-text("Run now")')
    await page.waitForSelector('.flash')
    expect(await page.textContent('.flash')).to.match(/^run \d+ succeeded: hello from test\.success$/)
    expect(await page.$$eval('table.runs tbody tr', (rows) => rows.length)).to.equal(before + 1)
    expect(await page.textContent('table.actions-log tbody tr')).to.match(/token\s*run\s*run \d+ succeeded/)
  })

  it('pauses with a note, then resumes', async () => {
    await page.fill('input[name=note]', 'waiting for the new SMTP relay')
    await page.click('button:has-text("Pause")')
    await page.waitForSelector('.flash')
    expect(await page.textContent('.flash')).to.equal('test.success paused')
    expect(await page.textContent('table.facts')).to.include('waiting for the new SMTP relay')
    await page.goto(dashboard.url)
    expect(await page.textContent('#jobs tr[data-code="test.success"]')).to.include('paused').and.include('waiting for the new SMTP relay')
    await page.click('a:has-text("test.success")')
    await page.click('button:has-text("Resume")')
    await page.waitForSelector('.flash')
    expect(await page.textContent('.flash')).to.equal('test.success resumed')
    expect(await page.isVisible('button:has-text("Pause")')).to.equal(true)
  })

  it("shows a failed run's stack", async () => {
    await page.goto(`${dashboard.url}jobs/test.fail/runs?status=failed`)
    await page.click('table.runs tbody tr a')
    await page.waitForSelector('pre#message')
    const message = await page.textContent('pre#message')
    expect(message).to.match(/^Error: boom from test\.fail\n\s+at /)
    expect(await page.textContent('table.facts')).to.include('failed')
    expect(dashboard.output()).not.to.include(TOKEN)
  })
})
