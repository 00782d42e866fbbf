import { randomBytes } from 'node:crypto'
import type { MqttClient } from 'mqtt'
import pino, { type Logger } from 'pino'
import type { Test as Tap } from 'tap'
import { connect } from './client.js'

/**
 * The bystanders of the wire and adversarial suites: a publisher and a subscriber that keep
 * working, over their own connections, while a test attacks the broker next to them.
 *
 * The publisher sends numbered QoS 1 messages, one every `intervalMs` and at most `max` of them
 * (a bounded loop: a test that forgets to stop it still ends), each awaiting its PUBACK. `stop()`
 * waits for the last ones to arrive and reports what went wrong: messages that never arrived,
 * a connection that dropped, the slowest PUBACK. A broker that stalls while it chews on some
 * attacker's bytes shows up as a slow PUBACK even when nothing is lost. The subscriber keeps
 * subscribing too: every `SUBSCRIBE_EVERY` messages it subscribes to a fresh topic below its own and
 * unsubscribes again, and a refused or slow SUBACK/UNSUBACK counts like a slow PUBACK.
 */
export interface TrafficReport {
  sent: number
  received: number
  /** Sequence numbers published (and acknowledged) but never received. */
  missing: number[]
  /** SUBSCRIBE/UNSUBSCRIBE rounds of the subscriber that completed. */
  subscribes: number
  /** Dropped connections, refused publishes and subscriptions. */
  errors: string[]
  /** Slowest PUBLISH → PUBACK (or SUBSCRIBE → UNSUBACK) round trip, ms. */
  slowestAckMs: number
}

export interface TrafficOptions {
  /** Messages published at most (default 2000). */
  max?: number
  intervalMs?: number
}

/** Messages between two SUBSCRIBE/UNSUBSCRIBE rounds of the healthy subscriber. */
const SUBSCRIBE_EVERY = 10

export class HealthyTraffic {
  readonly #pub: MqttClient
  readonly #sub: MqttClient
  readonly #topic: string
  readonly #received = new Set<number>()
  readonly #errors: string[] = []
  #sent = 0
  #subscribes = 0
  #slowestAckMs = 0
  #isStopping = false
  #loop: Promise<void> = Promise.resolve()
  #stopped: Promise<TrafficReport> | undefined

  private constructor(pub: MqttClient, sub: MqttClient, topic: string) {
    this.#pub = pub
    this.#sub = sub
    this.#topic = topic
    for (const [name, client] of [['publisher', pub], ['subscriber', sub]] as const) {
      client.on('close', () => { if (!this.#isStopping) this.#errors.push(`the healthy ${name} lost its connection`) })
      client.on('error', (err) => this.#errors.push(`the healthy ${name}: ${err.message}`))
    }
    sub.on('message', (_topic, payload) => this.#received.add(Number(payload.toString())))
  }

  /** Connects the pair (publisher at 5.0, subscriber at 3.1.1) and starts publishing. */
  static async start(url: string, opts: TrafficOptions = {}): Promise<HealthyTraffic> {
    const tag = randomBytes(4).toString('hex')
    // A `$` topic: the `#` subscriptions of the tests around it never see it [MQTT-4.7.2-1].
    const topic = `$healthy/${tag}`
    const sub = await connect(url, { protocolVersion: 4, clientId: `healthy-sub-${tag}` })
    await sub.subscribeAsync(topic, { qos: 1 })
    const pub = await connect(url, { protocolVersion: 5, clientId: `healthy-pub-${tag}` })
    const traffic = new HealthyTraffic(pub, sub, topic)
    traffic.#loop = traffic.#run(opts.max ?? 2000, opts.intervalMs ?? 20)
    return traffic
  }

  async #run(max: number, intervalMs: number): Promise<void> {
    for (let i = 0; i < max && !this.#isStopping; i++) {
      const start = Date.now()
      try {
        await this.#pub.publishAsync(this.#topic, String(i), { qos: 1 })
      } catch (err) {
        this.#errors.push(`healthy publish ${i} failed: ${(err as Error).message}`)
        return
      }
      this.#sent = i + 1
      this.#slowestAckMs = Math.max(this.#slowestAckMs, Date.now() - start)
      if (i % SUBSCRIBE_EVERY === 0 && !(await this.#resubscribe(i))) return
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  }

  /** One SUBSCRIBE and UNSUBSCRIBE round trip of the subscriber; false (and an error noted) when refused. */
  async #resubscribe(i: number): Promise<boolean> {
    const start = Date.now()
    try {
      const [grant] = await this.#sub.subscribeAsync(`${this.#topic}/${i}`, { qos: 1 })
      if (grant === undefined || grant.qos === 128) throw new Error(`SUBACK ${grant?.qos ?? 'empty'}`)
      await this.#sub.unsubscribeAsync(`${this.#topic}/${i}`)
    } catch (err) {
      this.#errors.push(`healthy subscribe ${i} failed: ${(err as Error).message}`)
      return false
    }
    this.#subscribes++
    this.#slowestAckMs = Math.max(this.#slowestAckMs, Date.now() - start)
    return true
  }

  /** Stops publishing, waits (bounded) for every acknowledged message to arrive, disconnects. */
  stop(ms = 5000): Promise<TrafficReport> {
    return this.#stopped ??= this.#stop(ms)
  }

  async #stop(ms: number): Promise<TrafficReport> {
    this.#isStopping = true
    await this.#loop
    const deadline = Date.now() + ms
    while (this.#received.size < this.#sent && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    const missing: number[] = []
    for (let i = 0; i < this.#sent; i++) if (!this.#received.has(i)) missing.push(i)
    await Promise.all([this.#pub, this.#sub].map((c) => c.endAsync(true).catch(() => undefined)))
    return {
      sent: this.#sent, received: this.#received.size, missing, subscribes: this.#subscribes,
      errors: [...this.#errors], slowestAckMs: this.#slowestAckMs,
    }
  }
}

/** The checks every suite makes of its bystanders at the end. */
export function assertTraffic(t: Tap, report: TrafficReport, slowestAckMs = 2000): void {
  t.ok(report.sent > 0, `the healthy publisher published throughout (${report.sent} messages)`)
  t.ok(report.subscribes > 0, `the healthy subscriber subscribed and unsubscribed throughout (${report.subscribes} rounds)`)
  t.same(report.missing.slice(0, 20), [], `every one of them reached the healthy subscriber (${report.received}/${report.sent})`)
  t.same(report.errors, [], 'neither healthy client lost its connection or had a publish or subscription refused')
  t.ok(report.slowestAckMs < slowestAckMs, `no PUBACK or SUBACK/UNSUBACK took ${slowestAckMs} ms or more (slowest ${report.slowestAckMs} ms)`)
}

/**
 * A pino logger for an embedded broker that remembers every line at error level or above
 * (50+: broker bugs, by docs/architecture's rules). Lines are also written to stdout when
 * HALYARD_TEST_LOG asks for a level, for debugging.
 */
export function errorCatchingLogger(): { logger: Logger; errors: string[] } {
  const errors: string[] = []
  const level = process.env.HALYARD_TEST_LOG ?? 'error'
  const logger = pino({ level: level === 'silent' ? 'error' : level }, {
    write(line: string): void {
      const entry = JSON.parse(line) as { level?: number }
      if ((entry.level ?? 0) >= 50) errors.push(line.trim())
      if (process.env.HALYARD_TEST_LOG !== undefined && level !== 'silent') process.stdout.write(line)
    },
  })
  return { logger, errors }
}
