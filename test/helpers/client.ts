import { once, type EventEmitter } from 'node:events'
import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt'

export type Version = 4 | 5

/** A real MQTT.js client; reconnect off so a test sees exactly what the broker did. */
export async function connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts })
}

export interface Received {
  topic: string
  payload: string
  qos: number
  retain: boolean
  dup: boolean
  messageId: number | undefined
  properties: Record<string, unknown> | undefined
}

const toReceived = (topic: string, payload: Buffer, packet: IPublishPacket): Received => ({
  topic,
  payload: payload.toString(),
  qos: packet.qos,
  retain: packet.retain,
  dup: packet.dup,
  messageId: packet.messageId,
  properties: packet.properties as Record<string, unknown> | undefined,
})

/**
 * Collects messages; `next(n)` waits (bounded) for the n-th message as MQTT.js hands it to the
 * application. MQTT.js emits a QoS 2 message only when PUBREL arrives, so QoS 1 and 2 messages
 * can reach 'message' out of wire order: `nextWire(n)` waits for the n-th PUBLISH in the order
 * it came off the wire.
 */
export function collect(client: MqttClient): {
  messages: Received[]
  wire: Received[]
  next: (count: number, ms?: number) => Promise<Received[]>
  nextWire: (count: number, ms?: number) => Promise<Received[]>
} {
  const messages: Received[] = []
  const wire: Received[] = []
  const waiters: Array<() => void> = []
  const wake = (): void => { for (const w of waiters.splice(0)) w() }
  client.on('message', (topic, payload, packet) => {
    messages.push(toReceived(topic, payload, packet))
    wake()
  })
  client.on('packetreceive', (packet) => {
    if (packet.cmd !== 'publish') return
    wire.push(toReceived(packet.topic, Buffer.from(packet.payload), packet))
    wake()
  })
  const waitIn = (list: Received[], what: string) => async (count: number, ms = 5000): Promise<Received[]> => {
    const deadline = Date.now() + ms
    while (list.length < count) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${count} ${what}, got ${list.length}: ${JSON.stringify(list.map((m) => m.topic + '=' + m.payload))}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
    return list.slice(0, count)
  }
  return { messages, wire, next: waitIn(messages, 'messages'), nextWire: waitIn(wire, 'PUBLISH packets') }
}

export const versions: Version[] = [4, 5]

export type Collector = ReturnType<typeof collect>

/** A connected client with its CONNACK and a collector attached before any message could arrive. */
export interface Opened {
  client: MqttClient
  connack: IConnackPacket
  got: Collector
}

/**
 * Connects and resolves with the CONNACK. The collector is attached before the socket opens,
 * so messages a resumed session sends right behind CONNACK are never missed. Rejects with
 * MQTT.js's error (its `code` is the CONNACK reason/return code) when the broker refuses.
 */
export async function open(url: string, opts: IClientOptions = {}): Promise<Opened> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts })
  const got = collect(client)
  return new Promise((resolve, reject) => {
    const done = (): void => {
      client.off('connect', onConnect)
      client.off('error', onError)
      client.off('close', onClose)
    }
    const onConnect = (connack: IConnackPacket): void => { done(); resolve({ client, connack, got }) }
    const onError = (err: Error): void => { done(); client.end(true); reject(err) }
    // MQTT.js reports a refusal as 'error' before the socket's 'close': let the error win.
    const onClose = (): void => { setImmediate(() => { done(); reject(new Error('connection closed before CONNACK')) }) }
    client.on('connect', onConnect)
    client.on('error', onError)
    client.on('close', onClose)
  })
}

/** The CONNACK code a plain MQTT.js CONNECT got (its refusal code), or 0 when it connected. */
export async function connackCode(url: string, opts: IClientOptions): Promise<number> {
  try {
    const { client } = await open(url, opts)
    await closeClient(client)
    return 0
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (typeof code !== 'number') throw err
    return code
  }
}

/**
 * Ends a client politely (DISCONNECT) if it is connected, bounded: a client still waiting for
 * acknowledgements is cut off after `ms`. Safe to call twice.
 */
export async function closeClient(client: MqttClient, ms = 2000): Promise<void> {
  if (!client.connected) {
    client.end(true)
    client.stream?.destroy()
    return
  }
  let timer: NodeJS.Timeout | undefined
  const ended = await Promise.race([
    client.endAsync().then(() => true),
    new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), ms) }),
  ])
  clearTimeout(timer)
  if (!ended) client.stream?.destroy()
}

/** Resolves with the first emission of `event` (its arguments), or rejects after `ms`. */
export async function waitFor<T extends unknown[] = unknown[]>(emitter: EventEmitter | MqttClient, event: string, ms = 5000): Promise<T> {
  try {
    return await once(emitter as EventEmitter, event, { signal: AbortSignal.timeout(ms) }) as T
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw new Error(`timed out after ${ms} ms waiting for '${event}'`, { cause: err })
    throw err
  }
}

/** Polls `check` until it holds; bounded by `ms`. For state the broker does not announce. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5000, what = 'a condition', every = 25): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, every))
  }
}

/** Just a delay: only for waiting out a time the test is about (a will delay, a session expiry). */
export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
