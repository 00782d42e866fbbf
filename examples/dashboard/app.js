// The fleet dashboard: MQTT over WebSocket with MQTT.js's browser bundle, which the broker
// serves at /vendor/mqtt.js (serveStatic). No build step, no CDN.
//
// Topics (see examples/sensors.ts):
//   {prefix}/sensors/{id}/{temperature|humidity|battery}  retained JSON {"value", "unit", "ts"} (or a bare number)
//   {prefix}/sensors/{id}/status                          retained online | offline
//   {prefix}/fans/{id}/state                              retained on | off
//   {prefix}/fans/{id}/set                                what the fan buttons publish
//
// Query parameters: ?broker=ws://host:port/path (default: this page's host, path /mqtt),
// ?prefix=fleet.
import mqtt from '/vendor/mqtt.js'
import { drawChart } from './chart.js'

const params = new URLSearchParams(location.search)
const prefix = params.get('prefix') ?? 'fleet'
const brokerUrl = params.get('broker') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`
const HISTORY_MS = 5 * 60_000
/** The chart spans the readings it has, between these two. */
const MIN_WINDOW_MS = 10_000
const METRICS = {
  temperature: { unit: '°C', digits: 1 },
  humidity: { unit: '%', digits: 0 },
  battery: { unit: '%', digits: 0 },
}
const COLORS = ['#38bdf8', '#f472b6', '#a3e635', '#fbbf24', '#c084fc', '#2dd4bf', '#fb923c', '#f87171', '#818cf8', '#e879f9']

/** id → { id, status, fan, isFanPending, values: { metric: { value, ts } }, history: { metric: [[ts, value]] }, card } */
const sensors = new Map()
let chartMetric = 'temperature'
let isDirty = false

const $ = (selector, root = document) => root.querySelector(selector)
const connection = $('.connection')
const sensorsEl = $('.sensors')
const canvas = $('.chart')
const legend = $('.legend')
const errorEl = $('.error')
$('.broker', connection).textContent = brokerUrl

const client = mqtt.connect(brokerUrl, {
  protocolVersion: 5,
  clientId: `dashboard-${Math.random().toString(16).slice(2, 10)}`,
  clean: true,
  reconnectPeriod: 2000,
  connectTimeout: 5000,
})
client.on('connect', () => {
  setConnection('connected', 'connected')
  errorEl.hidden = true
  client.subscribe([`${prefix}/sensors/+/+`, `${prefix}/fans/+/state`], { qos: 1 })
})
client.on('reconnect', () => setConnection('connecting', 'reconnecting…'))
client.on('close', () => setConnection('disconnected', 'disconnected'))
client.on('error', (err) => showError(err.message))
client.on('message', (topic, payload) => onMessage(topic, payload.toString()))

function setConnection(state, label) {
  connection.dataset.connection = state
  $('.label', connection).textContent = label
}

function showError(message) {
  errorEl.textContent = message
  errorEl.hidden = false
}

function onMessage(topic, text) {
  const [head, kind, id, leaf, ...rest] = topic.split('/')
  if (head !== prefix || id === undefined || leaf === undefined || rest.length > 0) return
  if (text === '') return // a retained message being cleared
  const sensor = sensorFor(id)
  if (kind === 'sensors' && leaf === 'status') {
    sensor.status = text
  } else if (kind === 'sensors' && leaf in METRICS) {
    const reading = parseReading(text)
    if (reading === undefined) return
    sensor.values[leaf] = reading
    const history = sensor.history[leaf]
    history.push([reading.ts, reading.value])
    history.sort((a, b) => a[0] - b[0])
    while (history.length > 0 && history[0][0] < Date.now() - HISTORY_MS) history.shift()
  } else if (kind === 'fans' && leaf === 'state') {
    sensor.fan = text
    sensor.isFanPending = false
  } else {
    return
  }
  updateCard(sensor)
  isDirty = true
}

/** `{"value": 21.5, "ts": ...}` or a bare number; readings without a time are taken as now. */
function parseReading(text) {
  let value
  let ts
  try {
    const parsed = JSON.parse(text)
    if (typeof parsed === 'number') value = parsed
    else if (parsed !== null && typeof parsed === 'object') ({ value, ts } = parsed)
  } catch {
    return undefined
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined
  return { value, ts: typeof ts === 'number' && Number.isFinite(ts) ? Math.min(ts, Date.now()) : Date.now() }
}

function sensorFor(id) {
  let sensor = sensors.get(id)
  if (sensor !== undefined) return sensor
  const card = $('#sensor-card').content.firstElementChild.cloneNode(true)
  card.dataset.sensor = id
  $('.name', card).textContent = id
  const button = $('.fan', card)
  button.dataset.fan = id
  button.addEventListener('click', () => toggleFan(sensor))
  sensor = { id, status: 'unknown', fan: undefined, isFanPending: false, values: {}, history: {}, card }
  for (const metric of Object.keys(METRICS)) sensor.history[metric] = []
  sensors.set(id, sensor)
  $('.empty')?.remove()
  // Keep the cards, their colours and the legend in id order.
  const ordered = [...sensors.keys()].sort()
  const next = ordered[ordered.indexOf(id) + 1]
  sensorsEl.insertBefore(card, next === undefined ? null : sensors.get(next).card)
  ordered.forEach((sid, i) => sensors.get(sid).card.style.setProperty('--swatch', COLORS[i % COLORS.length]))
  return sensor
}

function toggleFan(sensor) {
  const command = sensor.fan === 'on' ? 'off' : 'on'
  sensor.isFanPending = true
  updateCard(sensor)
  // The button shows the fan's reported state; it changes when the device says so.
  client.publish(`${prefix}/fans/${sensor.id}/set`, command, { qos: 1 })
}

function updateCard(sensor) {
  const { card } = sensor
  card.dataset.status = sensor.status
  $('[data-status-label]', card).textContent = sensor.status
  for (const [metric, { digits }] of Object.entries(METRICS)) {
    const reading = sensor.values[metric]
    $(`[data-metric="${metric}"]`, card).textContent = reading === undefined ? '–' : reading.value.toFixed(digits)
  }
  const battery = sensor.values.battery?.value
  const level = $('.battery .level', card)
  level.style.width = `${Math.max(0, Math.min(100, battery ?? 0))}%`
  level.classList.toggle('low', battery !== undefined && battery < 20)
  const button = $('.fan', card)
  button.setAttribute('aria-pressed', String(sensor.fan === 'on'))
  button.toggleAttribute('data-pending', sensor.isFanPending)
  $('.fan-label', card).textContent = sensor.isFanPending ? 'Fan: …' : `Fan: ${sensor.fan ?? 'unknown'}`
  updateAge(sensor)
}

function updateAge(sensor) {
  const latest = Math.max(0, ...Object.values(sensor.values).map((r) => r.ts))
  const el = $('.updated', sensor.card)
  if (latest === 0) {
    el.textContent = ''
    return
  }
  const seconds = Math.max(0, Math.round((Date.now() - latest) / 1000))
  el.textContent = seconds < 60 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`
}

function render() {
  const ordered = [...sensors.keys()].sort()
  const series = ordered.map((id, i) => ({ color: COLORS[i % COLORS.length], points: sensors.get(id).history[chartMetric] }))
  const { unit, digits } = METRICS[chartMetric]
  const now = Date.now()
  const earliest = Math.min(now, ...series.map((s) => s.points[0]?.[0] ?? now))
  const windowMs = Math.min(HISTORY_MS, Math.max(MIN_WINDOW_MS, now - earliest))
  canvas.dataset.points = String(drawChart(canvas, { windowMs, now, unit, digits, series }))
  legend.replaceChildren(...ordered.map((id, i) => {
    const li = document.createElement('li')
    li.textContent = id
    li.style.setProperty('--swatch', COLORS[i % COLORS.length])
    return li
  }))
}

for (const tab of document.querySelectorAll('[data-chart-metric]')) {
  tab.addEventListener('click', () => {
    chartMetric = tab.dataset.chartMetric
    for (const other of document.querySelectorAll('[data-chart-metric]')) {
      other.setAttribute('aria-selected', String(other === tab))
    }
    isDirty = true
  })
}

// Redraw at most once a frame when something changed, and every second so the window slides.
function frame() {
  if (isDirty) {
    isDirty = false
    render()
  }
  requestAnimationFrame(frame)
}
requestAnimationFrame(frame)
setInterval(() => {
  for (const sensor of sensors.values()) updateAge(sensor)
  isDirty = true
}, 1000)
window.addEventListener('resize', () => { isDirty = true })
render()
