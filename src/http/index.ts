export { staticFiles } from './static-files.js'
export type { StaticFilesOptions } from './static-files.js'
export { MQTT_BUNDLE_URL, mqttBrowserBundle } from './vendor.js'
