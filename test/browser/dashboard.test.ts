import { copyFile, mkdir, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { startFleet } from '../../examples/sensors.js'
import { startBroker, type TestBroker } from '../helpers/broker.js'
import { collect, connect } from '../helpers/client.js'
import { requireProgram } from '../helpers/programs.js'

/*
 * The dashboard in a real browser: Debian's Chromium, headless, driven by playwright-core (which
 * downloads no browser). The page is served by the broker under test (serveStatic), talks MQTT
 * over its WebSocket port with MQTT.js's browser bundle, and the test plays the devices over TCP.
 *
 * HALYARD_SCREENSHOT=docs/dashboard.png also copies the simulator run's screenshot there.
 */

const dashboard = fileURLToPath(new URL('../../examples/dashboard/', import.meta.url))
const chromiumPath = requireProgram('chromium', 'chromium')

/** Waits in the page until `selector`'s text is exactly `text` (Playwright's `:text-is`). */
async function waitForText(page: Page, selector: string, text: string, timeout = 10_000): Promise<void> {
  await page.waitForSelector(`${selector}:text-is(${JSON.stringify(text)})`, { timeout })
}

async function waitForAttribute(page: Page, selector: string, name: string, value: string, timeout = 10_000): Promise<void> {
  await page.waitForSelector(`${selector}[${name}=${JSON.stringify(value)}]`, { state: 'attached', timeout })
}

/** Waits until the chart says it has drawn at least `count` points. */
async function waitForChartPoints(page: Page, count: number, timeout = 10_000): Promise<void> {
  await page.waitForFunction(`Number(document.querySelector('canvas.chart')?.dataset.points) >= ${count}`, undefined, { timeout })
}

/** Opens the dashboard from `b` and waits for its MQTT connection; `problems` collects page errors. */
async function openDashboard(t: Test, browser: Browser, b: TestBroker): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } })
  t.teardown(() => page.close())
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`) })
  const response = await page.goto(`http://127.0.0.1:${b.wsPort}/`)
  t.equal(response?.status(), 200, 'the broker serves the dashboard')
  await waitForAttribute(page, '.connection', 'data-connection', 'connected')
  return { page, problems }
}

if ('skip' in chromiumPath) {
  // Not under CI (requireProgram throws there): skip, saying why.
  t.plan(0, chromiumPath.skip)
} else {
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({
    executablePath: chromiumPath.path,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  })
  t.teardown(() => browser.close())
  const b = await startBroker({ ws: true, memory: true, config: { serveStatic: dashboard } })
  t.teardown(() => b.close())

  t.test('values published over TCP appear on the page, and a fan toggle reaches a TCP subscriber', async (t) => {
    const device = await connect(b.url, { clientId: 'browser-test-device' })
    t.teardown(() => device.endAsync())
    const commands = collect(device)
    await device.subscribeAsync('fleet/fans/+/set', { qos: 1 })
    const { page, problems } = await openDashboard(t, browser, b)

    const now = Date.now()
    await device.publishAsync('fleet/sensors/test-1/status', 'online', { qos: 1, retain: true })
    await device.publishAsync('fleet/fans/test-1/state', 'off', { qos: 1, retain: true })
    for (let i = 5; i >= 0; i--) {
      const reading = { value: 21.5 - i * 0.3, unit: '°C', ts: now - i * 2000 }
      await device.publishAsync('fleet/sensors/test-1/temperature', JSON.stringify(reading), { qos: 1, retain: true })
    }
    await device.publishAsync('fleet/sensors/test-1/humidity', '{"value":40.4,"unit":"%"}', { qos: 1, retain: true })
    await device.publishAsync('fleet/sensors/test-1/battery', '88', { qos: 1, retain: true })

    const card = '[data-sensor="test-1"]'
    await waitForText(page, `${card} [data-metric="temperature"]`, '21.5')
    await waitForText(page, `${card} [data-metric="humidity"]`, '40')
    await waitForText(page, `${card} [data-metric="battery"]`, '88')
    await waitForAttribute(page, card, 'data-status', 'online')
    t.pass('last values and online status are shown')
    await waitForChartPoints(page, 6)
    t.pass('the chart draws the six temperature readings')

    await page.click(`button[data-fan="test-1"]`)
    const [command] = await commands.next(1)
    t.same([command?.topic, command?.payload], ['fleet/fans/test-1/set', 'on'], 'the toggle published "on" to the fan\'s set topic')
    await device.publishAsync('fleet/fans/test-1/state', 'on', { qos: 1, retain: true })
    await waitForAttribute(page, `button[data-fan="test-1"]`, 'aria-pressed', 'true')
    t.pass('the fan\'s reported state is shown')

    await device.publishAsync('fleet/sensors/test-1/status', 'offline', { qos: 1, retain: true })
    await waitForAttribute(page, card, 'data-status', 'offline')
    t.pass('offline is shown')

    const shot = join(t.testdir(), 'dashboard.png')
    await page.screenshot({ path: shot, fullPage: true })
    t.ok((await stat(shot)).size > 10_000, `screenshot saved: ${shot}`)
    t.same(problems, [], 'no errors in the page')
  })

  t.test('with the fleet simulator: sensors come online, readings chart, a fan toggles round trip', async (t) => {
    // A broker of its own, so the first test's retained sensor does not appear here.
    const fresh = await startBroker({ ws: true, memory: true, config: { serveStatic: dashboard } })
    t.teardown(() => fresh.close())
    const fleet = await startFleet({ url: fresh.url, count: 6, intervalMs: 250 })
    t.teardown(() => fleet.stop())
    const watcher = await connect(fresh.url, { clientId: 'browser-test-watcher' })
    t.teardown(() => watcher.endAsync())
    const commands = collect(watcher)
    await watcher.subscribeAsync('fleet/fans/sensor-02/set', { qos: 1 })
    const { page, problems } = await openDashboard(t, browser, fresh)

    for (const id of fleet.ids) await waitForAttribute(page, `[data-sensor="${id}"]`, 'data-status', 'online')
    t.pass(`${fleet.ids.length} sensors online`)
    // Let the chart run a few seconds with every fan off, then switch one on: its line drops.
    await waitForChartPoints(page, 6 * 16)
    await page.click('button[data-fan="sensor-02"]')
    t.equal((await commands.next(1))[0]?.payload, 'on', 'the command reached a TCP subscriber')
    await waitForAttribute(page, 'button[data-fan="sensor-02"]', 'aria-pressed', 'true')
    t.pass('the simulated fan reported its new state and the page shows it')
    // Fifteen seconds of readings, so the cooled sensor's line has somewhere to go.
    await waitForChartPoints(page, 6 * 60, 30_000)

    const shot = join(t.testdir(), 'dashboard-fleet.png')
    await page.screenshot({ path: shot, fullPage: true })
    t.ok((await stat(shot)).size > 10_000, `screenshot saved: ${shot}`)
    const docs = process.env.HALYARD_SCREENSHOT
    if (docs !== undefined && docs !== '') {
      const target = resolve(docs)
      await mkdir(dirname(target), { recursive: true })
      await copyFile(shot, target)
      t.comment(`screenshot copied to ${target}`)
    }

    await fleet.stop()
    for (const id of fleet.ids) await waitForAttribute(page, `[data-sensor="${id}"]`, 'data-status', 'offline')
    t.pass('a clean simulator stop shows every sensor offline')
    t.same(problems, [], 'no errors in the page')
  })
}
