import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** The URL the MQTT.js browser bundle is served at, next to a `serveStatic` folder. */
export const MQTT_BUNDLE_URL = '/vendor/mqtt.js'

/**
 * MQTT.js's ES module browser bundle from node_modules (`mqtt/dist/mqtt.esm.js`), so a page
 * served by the broker can `import mqtt from '/vendor/mqtt.js'` without a CDN or a build step.
 * `undefined` when the `mqtt` package is not installed.
 */
export function mqttBrowserBundle(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve('mqtt/package.json')
    return join(dirname(manifest), 'dist', 'mqtt.esm.js')
  } catch {
    return undefined
  }
}
