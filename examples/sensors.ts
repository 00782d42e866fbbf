/**
 * A simulated sensor fleet for Halyard, with MQTT.js.
 *
 *   npm run example:sensors -- --url mqtt://127.0.0.1:1883 --count 5 --interval 2000
 *
 * Every sensor is its own MQTT connection (one device, one client id) and carries a fan:
 *
 *   fleet/sensors/{id}/temperature   retained  {"value":21.4,"unit":"°C","ts":1700000000000}
 *   fleet/sensors/{id}/humidity      retained  {"value":45.2,"unit":"%","ts":...}
 *   fleet/sensors/{id}/battery       retained  {"value":87,"unit":"%","ts":...}
 *   fleet/sensors/{id}/status        retained  online | offline   (offline is the will)
 *   fleet/fans/{id}/set              commands  on | off | toggle  (subscribed)
 *   fleet/fans/{id}/state            retained  on | off
 *
 * Readings are retained, so a dashboard that opens later sees every sensor's last value at once.
 * `offline` is the will: the broker publishes it if the simulator dies or the network goes; a
 * clean stop (Ctrl-C) publishes it itself, since a normal DISCONNECT discards the will.
 * A running fan cools its sensor, so toggling one shows up in the temperature chart.
 */
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import mqtt, { type MqttClient } from 'mqtt'

export interface FleetOptions {
  /** Broker URL: mqtt://, mqtts://, ws:// or wss://. */
  url: string
  /** Number of sensors (each with its fan). */
  count: number
  /** Milliseconds between two readings of one sensor. */
  intervalMs: number
  /** First topic level; default `fleet`. */
  prefix?: string
  log?: (line: string) => void
}

export interface Fleet {
  readonly ids: readonly string[]
  /** Publishes `offline` for every sensor and disconnects; resolves when all are gone. */
  stop(): Promise<void>
}

interface Reading {
  value: number
  unit: string
  ts: number
}

/** One device: three sensors, a fan, one MQTT connection. */
class SimulatedSensor {
  readonly id: string
  readonly #client: MqttClient
  readonly #topic: (kind: 'sensors' | 'fans', leaf: string) => string
  #timer: NodeJS.Timeout | undefined
  /** Where this sensor's room settles with the fan off (°C) and its usual humidity (%). */
  readonly #ambient: number
  readonly #usualHumidity: number
  #temperature: number
  #humidity: number
  #battery: number
  #lastTick = Date.now()
  #isFanOn = false

  constructor(
    id: string,
    index: number,
    opts: Required<Pick<FleetOptions, 'url' | 'intervalMs' | 'prefix'>> & { offsetMs: number },
    log: (line: string) => void,
  ) {
    this.id = id
    this.#topic = (kind, leaf) => `${opts.prefix}/${kind}/${id}/${leaf}`
    // Each sensor starts somewhere different so the chart shows separate lines.
    this.#ambient = 24 + ((index * 1.9) % 6)
    this.#usualHumidity = 38 + ((index * 5.3) % 20)
    this.#temperature = this.#ambient - 3 + ((index * 0.7) % 2)
    this.#humidity = this.#usualHumidity
    this.#battery = 100 - ((index * 7) % 30)
    this.#client = mqtt.connect(opts.url, {
      clientId: `sim-${id}`,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 2000,
      will: { topic: this.#topic('sensors', 'status'), payload: Buffer.from('offline'), qos: 1, retain: true },
    })
    this.#client.on('connect', () => {
      log(`${id}: connected`)
      this.#announce()
    })
    this.#client.on('message', (_topic, payload) => this.#command(payload.toString().trim().toLowerCase()))
    this.#client.on('error', (err) => log(`${id}: ${err.message}`))
    // The fleet's readings are spread over the interval rather than all sent at once.
    this.#timer = setTimeout(() => {
      this.#timer = setInterval(() => this.#tick(), opts.intervalMs)
      this.#tick()
    }, opts.offsetMs)
  }

  /** Waits for the first CONNACK (or the first error, e.g. connection refused). */
  async connected(): Promise<void> {
    if (this.#client.connected) return
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        this.#client.off('connect', onConnect)
        this.#client.off('error', done)
        if (err === undefined) resolve()
        else reject(err)
      }
      const onConnect = (): void => done()
      this.#client.on('connect', onConnect)
      this.#client.on('error', done)
    })
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    if (this.#client.connected) {
      await this.#client.publishAsync(this.#topic('sensors', 'status'), 'offline', { qos: 1, retain: true }).catch(() => undefined)
    }
    await this.#client.endAsync()
  }

  #announce(): void {
    this.#publish('sensors', 'status', 'online', 1)
    this.#publish('fans', 'state', this.#isFanOn ? 'on' : 'off', 1)
    this.#client.subscribe(this.#topic('fans', 'set'), { qos: 1 })
  }

  #command(command: string): void {
    const next = command === 'toggle' ? !this.#isFanOn : command === 'on' ? true : command === 'off' ? false : undefined
    if (next === undefined) return
    this.#isFanOn = next
    this.#publish('fans', 'state', next ? 'on' : 'off', 1)
  }

  /**
   * The model runs on elapsed time, not ticks, so any --interval gives the same curves: the
   * temperature relaxes towards the ambient value (fan off) or 17 °C (fan on) with a time
   * constant of a minute, humidity towards its usual value; a running fan drains the battery
   * faster, and an empty battery is swapped for a full one.
   */
  #tick(): void {
    const ts = Date.now()
    const minutes = Math.min(1, (ts - this.#lastTick) / 60_000)
    this.#lastTick = ts
    const target = this.#isFanOn ? 17 : this.#ambient
    this.#temperature += (target - this.#temperature) * (1 - Math.exp(-minutes)) + noise(0.06)
    this.#humidity = clamp(this.#humidity + (this.#usualHumidity - this.#humidity) * minutes + noise(0.3), 15, 90)
    this.#battery = this.#battery <= 5 ? 100 : this.#battery - minutes * (this.#isFanOn ? 2 : 0.5)
    this.#reading('temperature', { value: round(this.#temperature, 2), unit: '°C', ts })
    this.#reading('humidity', { value: round(this.#humidity, 1), unit: '%', ts })
    this.#reading('battery', { value: round(this.#battery, 0), unit: '%', ts })
  }

  #reading(metric: string, reading: Reading): void {
    this.#publish('sensors', metric, JSON.stringify(reading), 0)
  }

  #publish(kind: 'sensors' | 'fans', leaf: string, payload: string, qos: 0 | 1): void {
    if (!this.#client.connected) return
    this.#client.publish(this.#topic(kind, leaf), payload, { qos, retain: true })
  }
}

const clamp = (v: number, min: number, max: number): number => Math.min(max, Math.max(min, v))
const noise = (amplitude: number): number => (Math.random() * 2 - 1) * amplitude
const round = (v: number, digits: number): number => Number(v.toFixed(digits))

/** Starts `count` sensors; resolves once every one of them is connected. */
export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const log = opts.log ?? (() => undefined)
  const width = String(opts.count).length < 2 ? 2 : String(opts.count).length
  const settings = { url: opts.url, intervalMs: opts.intervalMs, prefix: opts.prefix ?? 'fleet' }
  const sensors = Array.from({ length: opts.count }, (_, i) => new SimulatedSensor(
    `sensor-${String(i + 1).padStart(width, '0')}`, i, { ...settings, offsetMs: (opts.intervalMs * i) / opts.count }, log))
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => (stopping ??= Promise.all(sensors.map((s) => s.stop())).then(() => undefined))
  try {
    await Promise.all(sensors.map((s) => s.connected()))
  } catch (err) {
    await stop()
    throw err
  }
  return { ids: sensors.map((s) => s.id), stop }
}

const HELP = `Usage: npm run example:sensors -- [--url URL] [--count N] [--interval MS]

  --url URL       broker to connect to (default mqtt://127.0.0.1:1883; ws://127.0.0.1:8080/mqtt works too)
  --count N       number of sensors, each with a fan (default 5)
  --interval MS   milliseconds between readings of one sensor (default 2000)
`

function positive(name: string, text: string, min: number): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`sensors: --${name} must be an integer >= ${min}, not "${text}"\n\n${HELP}`)
    process.exit(2)
  }
  return n
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      count: { type: 'string', default: '5' },
      interval: { type: 'string', default: '2000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(HELP)
    return
  }
  const count = positive('count', values.count, 1)
  const intervalMs = positive('interval', values.interval, 10)
  const log = (line: string): void => { process.stdout.write(`${line}\n`) }
  log(`connecting ${count} sensors to ${values.url}, one reading each every ${intervalMs} ms; Ctrl-C stops`)
  const fleet = await startFleet({ url: values.url, count, intervalMs, log })
  log(`running: ${fleet.ids.join(', ')}`)
  let isStopping = false
  process.on('SIGINT', () => {
    if (isStopping) process.exit(130)
    isStopping = true
    log('stopping: publishing offline for every sensor')
    fleet.stop().then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`sensors: ${String(err)}\n`)
      process.exit(1)
    })
  })
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`sensors: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  })
}
