import { connect as netConnect, type Socket } from 'node:net'
import type { MqttClient } from 'mqtt'
import type { Test as Tap } from 'tap'
import { startBroker, type TestBroker } from './broker.js'
import { collect, connect } from './client.js'
import { HealthyTraffic, assertTraffic, errorCatchingLogger } from './traffic.js'

/**
 * A raw MQTT client for wire tests: a plain TCP socket, hand-written bytes out, bytes and whole
 * packets in, each wait bounded by a timeout. Nothing here validates what it sends: the point
 * is to send what a well-behaved client never would.
 */

/** How long the broker gets to answer or close. The wire suite's promise is 1 s. */
export const WAIT_MS = 1000

export class RawClient {
  readonly #socket: Socket
  #buffer: Buffer = Buffer.alloc(0)
  #isClosed = false
  #error: Error | undefined
  #waiters: Array<() => void> = []

  private constructor(socket: Socket) {
    this.#socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk])
      this.#wake()
    })
    // 'end' is the broker's FIN: for these tests that is the broker closing the connection.
    socket.on('end', () => { this.#isClosed = true; this.#wake() })
    socket.on('close', () => { this.#isClosed = true; this.#wake() })
    socket.on('error', (err) => { this.#error = err; this.#isClosed = true; this.#wake() })
  }

  static async open(port: number): Promise<RawClient> {
    const socket = netConnect({ host: '127.0.0.1', port, noDelay: true })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    return new RawClient(socket)
  }

  get isClosed(): boolean {
    return this.#isClosed
  }

  send(...parts: Array<Buffer | number[]>): void {
    this.#socket.write(Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p)))))
  }

  /** The next `n` bytes; rejects on timeout or if the connection closes first. */
  async read(n: number, ms = WAIT_MS): Promise<Buffer> {
    await this.#until(() => this.#buffer.length >= n, ms, () => `${n} bytes`)
    const out = this.#buffer.subarray(0, n)
    this.#buffer = this.#buffer.subarray(n)
    return out
  }

  /** The next whole MQTT packet (fixed header included), as bytes. */
  async readPacket(ms = WAIT_MS): Promise<Buffer> {
    await this.#until(() => frameLength(this.#buffer) !== null, ms, () => 'a complete packet')
    return this.read(frameLength(this.#buffer) ?? 0, 0)
  }

  /**
   * Waits for the broker to close the connection and returns whatever it sent before closing
   * that was not read yet (a plain close returns an empty buffer).
   */
  async closed(ms = WAIT_MS): Promise<Buffer> {
    await this.#until(() => this.#isClosed, ms, () => 'the broker to close the connection')
    const rest = this.#buffer
    this.#buffer = Buffer.alloc(0)
    return rest
  }

  /** Like `closed`, but also returns how long the close took from the moment of the call. */
  async timeClose(ms: number): Promise<{ elapsed: number; rest: Buffer }> {
    const start = Date.now()
    const rest = await this.closed(ms)
    return { elapsed: Date.now() - start, rest }
  }

  destroy(): void {
    this.#socket.destroy()
  }

  /** Stops reading the socket: the broker's writes back up, as with a client that hung. */
  pauseReading(): void {
    this.#socket.pause()
  }

  resumeReading(): void {
    this.#socket.resume()
  }

  /** This end's port: what the broker's log lines name as `remote`. */
  get localPort(): number | undefined {
    return this.#socket.localPort
  }

  /** Bytes received and not read yet. */
  get unread(): number {
    return this.#buffer.length
  }

  /** Drops what was received so far (a test that only counts bytes). */
  discard(): void {
    this.#buffer = Buffer.alloc(0)
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w()
  }

  async #until(isDone: () => boolean, ms: number, what: () => string): Promise<void> {
    const deadline = Date.now() + ms
    for (;;) {
      if (isDone()) return
      if (this.#isClosed) {
        // 'end' comes after the last 'data': nothing more can arrive.
        throw new Error(`connection closed while waiting for ${what()}; unread: ${hex(this.#buffer)}` +
          (this.#error === undefined ? '' : ` (${this.#error.message})`))
      }
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what()}; unread: ${hex(this.#buffer)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }
}

/** Opens a raw connection and registers its teardown. */
export async function openRaw(t: Tap, port: number): Promise<RawClient> {
  const raw = await RawClient.open(port)
  t.teardown(() => raw.destroy())
  return raw
}

/** Length of the first complete frame in `buf`, or null if it is not all there yet. */
function frameLength(buf: Buffer): number | null {
  let value = 0
  let multiplier = 1
  for (let i = 1; i <= 4 && i < buf.length; i++) {
    const byte = buf.readUInt8(i)
    value += (byte & 0x7f) * multiplier
    if ((byte & 0x80) === 0) return buf.length >= i + 1 + value ? i + 1 + value : null
    multiplier *= 128
  }
  return null
}

export const hex = (buf: Buffer): string => buf.toString('hex').replace(/(..)(?!$)/g, '$1 ')

// ---------------------------------------------------------------------------------------------
// Byte builders. Hand-written on purpose: mqtt-packet's generator refuses, or silently fixes,
// most of what these tests need to send.

/** A Variable Byte Integer in the fewest bytes (section 1.5.5 / 2.2.3). */
export function varint(n: number): Buffer {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return Buffer.from(out)
}

export const u16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff])
export const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }

/** A UTF-8 Encoded String or Binary Data: two-byte length, then the bytes as given. */
export function str(s: string | Buffer | number[]): Buffer {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s)
  return Buffer.concat([u16(bytes.length), bytes])
}

/** A whole packet: first byte, minimal Remaining Length, body. */
export function packet(first: number, ...body: Array<Buffer | number[]>): Buffer {
  const b = Buffer.concat(body.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))))
  return Buffer.concat([Buffer.from([first]), varint(b.length), b])
}

/** 5.0 properties: one identifier byte and its value each, wrapped in a Property Length. */
export const prop = {
  byte: (id: number, v: number): Buffer => Buffer.from([id, v]),
  u16: (id: number, v: number): Buffer => Buffer.concat([Buffer.from([id]), u16(v)]),
  u32: (id: number, v: number): Buffer => Buffer.concat([Buffer.from([id]), u32(v)]),
  varint: (id: number, v: number): Buffer => Buffer.concat([Buffer.from([id]), varint(v)]),
  str: (id: number, v: string): Buffer => Buffer.concat([Buffer.from([id]), str(v)]),
}
export function props(...items: Buffer[]): Buffer {
  const b = Buffer.concat(items)
  return Buffer.concat([varint(b.length), b])
}

export const Prop = {
  MessageExpiryInterval: 0x02,
  SubscriptionIdentifier: 0x0b,
  SessionExpiryInterval: 0x11,
  AssignedClientIdentifier: 0x12,
  TopicAliasMaximum: 0x22,
  TopicAlias: 0x23,
} as const

export interface ConnectOptions {
  version?: 3 | 4 | 5
  /** Overrides the name the version implies ("MQIsdp" for 3, else "MQTT"). */
  protocolName?: string
  /** Overrides the level byte the version implies. */
  level?: number
  clientId?: string | Buffer
  clean?: boolean
  keepalive?: number
  will?: { topic: string | Buffer; payload?: string; qos?: number; retain?: boolean }
  username?: string | Buffer
  password?: string
  /** Raw flag bits OR-ed into the Connect Flags byte (reserved bit, stray will bits ...). */
  extraFlags?: number
  /** 5.0 CONNECT properties, already wrapped by `props()`; default: none. */
  properties?: Buffer
}

/** CONNECT for 3.1 (MQIsdp, 3), 3.1.1 (MQTT, 4) or 5.0 (MQTT, 5), section 3.1. */
export function connectPacket(o: ConnectOptions = {}): Buffer {
  const version = o.version ?? 4
  const name = o.protocolName ?? (version === 3 ? 'MQIsdp' : 'MQTT')
  const level = o.level ?? version
  let flags = 0
  if (o.clean ?? true) flags |= 0x02
  if (o.will !== undefined) flags |= 0x04 | ((o.will.qos ?? 0) << 3) | (o.will.retain === true ? 0x20 : 0)
  if (o.password !== undefined) flags |= 0x40
  if (o.username !== undefined) flags |= 0x80
  flags |= o.extraFlags ?? 0
  const is5 = version === 5
  const parts: Buffer[] = [str(name), Buffer.from([level, flags]), u16(o.keepalive ?? 60)]
  if (is5) parts.push(o.properties ?? props())
  parts.push(str(o.clientId ?? ''))
  if (o.will !== undefined) {
    if (is5) parts.push(props())
    parts.push(str(o.will.topic), str(o.will.payload ?? ''))
  }
  if (o.username !== undefined) parts.push(str(o.username))
  if (o.password !== undefined) parts.push(str(o.password))
  return packet(0x10, ...parts)
}

export interface PublishOptions {
  version?: 4 | 5
  topic: string | Buffer
  qos?: number
  id?: number
  dup?: boolean
  retain?: boolean
  payload?: string
  /** 5.0 properties, already wrapped by `props()`; default: none. */
  properties?: Buffer
}

export function publishPacket(o: PublishOptions): Buffer {
  const qos = o.qos ?? 0
  const first = 0x30 | (o.dup === true ? 0x08 : 0) | (qos << 1) | (o.retain === true ? 0x01 : 0)
  const parts: Buffer[] = [str(o.topic)]
  if (qos > 0) parts.push(u16(o.id ?? 1))
  if (o.version === 5) parts.push(o.properties ?? props())
  parts.push(Buffer.from(o.payload ?? '', 'utf8'))
  return packet(first, ...parts)
}

/** SUBSCRIBE with [filter, options byte] pairs; flags 0b0010 [MQTT-3.8.1-1]. */
export function subscribePacket(o: { version?: 4 | 5; id?: number; filters: Array<[string | Buffer, number]>; properties?: Buffer }): Buffer {
  const parts: Buffer[] = [u16(o.id ?? 1)]
  if (o.version === 5) parts.push(o.properties ?? props())
  for (const [filter, options] of o.filters) parts.push(str(filter), Buffer.from([options]))
  return packet(0x82, ...parts)
}

export const pubrelPacket = (id: number): Buffer => packet(0x62, u16(id))
export const pingreqPacket = (): Buffer => Buffer.from([0xc0, 0x00])

/** DISCONNECT; at 5.0 with a reason code and properties when given. */
export function disconnectPacket(o: { reasonCode?: number; properties?: Buffer } = {}): Buffer {
  if (o.reasonCode === undefined && o.properties === undefined) return Buffer.from([0xe0, 0x00])
  return packet(0xe0, [o.reasonCode ?? 0], o.properties ?? props())
}

// ---------------------------------------------------------------------------------------------
// What the broker sends, byte for byte.

/** 3.1.1 CONNACK: session present flag and return code (section 3.2). */
export const connack311 = (returnCode: number, sessionPresent = false): Buffer =>
  Buffer.from([0x20, 0x02, sessionPresent ? 1 : 0, returnCode])

/** Byte sizes of the fixed-size 5.0 properties a server sends; the rest are length-prefixed. */
const FIXED_SIZES: Record<number, number> = {
  0x01: 1, 0x02: 4, 0x11: 4, 0x13: 2, 0x21: 2, 0x22: 2, 0x23: 2, 0x24: 1, 0x25: 1, 0x27: 4, 0x28: 1, 0x29: 1, 0x2a: 1,
}

/** Walks a 5.0 property section at `pos`; returns each property's raw value and the end. */
function readProperties(buf: Buffer, pos: number): { properties: Map<number, Buffer>; end: number } {
  let length = 0
  let multiplier = 1
  for (;;) {
    const byte = buf.readUInt8(pos++)
    length += (byte & 0x7f) * multiplier
    if ((byte & 0x80) === 0) break
    multiplier *= 128
  }
  const end = pos + length
  const properties = new Map<number, Buffer>()
  while (pos < end) {
    const id = buf.readUInt8(pos++)
    let size = FIXED_SIZES[id] ?? 2 + buf.readUInt16BE(pos)
    // User Property (0x26) is a pair of strings: keep both, as one value.
    if (id === 0x26) size += 2 + buf.readUInt16BE(pos + size)
    properties.set(id, buf.subarray(pos, pos + size))
    pos += size
  }
  if (pos !== end) throw new Error(`property section overruns its length: ${hex(buf)}`)
  return { properties, end }
}

/** Offset of the byte after the fixed header. */
function bodyStart(buf: Buffer): number {
  let pos = 1
  while ((buf.readUInt8(pos) & 0x80) !== 0) pos++
  return pos + 1
}

/**
 * Reads a 5.0 CONNACK and returns its reason code and the identifiers of its properties with
 * their raw bytes, so a test can assert one property without pinning every other one.
 */
export function parseConnack5(buf: Buffer): { sessionPresent: boolean; reasonCode: number; properties: Map<number, Buffer> } {
  if (buf[0] !== 0x20) throw new Error(`not a CONNACK: ${hex(buf)}`)
  let pos = bodyStart(buf)
  const sessionPresent = (buf.readUInt8(pos++) & 0x01) === 1
  const reasonCode = buf.readUInt8(pos++)
  const { properties, end } = readProperties(buf, pos)
  if (end !== buf.length) throw new Error(`CONNACK has bytes after its properties: ${hex(buf)}`)
  return { sessionPresent, reasonCode, properties }
}

/**
 * Reads a 5.0 DISCONNECT sent by the server: its reason code and properties. Remaining Length 0
 * means 0x00 and none (5.0 section 3.14.2.1).
 */
export function parseDisconnect5(buf: Buffer): { reasonCode: number; properties: Map<number, Buffer> } {
  if (buf[0] !== 0xe0) throw new Error(`not a DISCONNECT (first byte must be 0xE0 [MQTT-3.14.1-1]): ${hex(buf)}`)
  const pos = bodyStart(buf)
  if (pos === buf.length) return { reasonCode: 0, properties: new Map() }
  const reasonCode = buf.readUInt8(pos)
  if (pos + 1 === buf.length) return { reasonCode, properties: new Map() }
  const { properties, end } = readProperties(buf, pos + 1)
  if (end !== buf.length) throw new Error(`DISCONNECT has bytes after its properties: ${hex(buf)}`)
  return { reasonCode, properties }
}

/**
 * A raw client that has completed CONNECT/CONNACK. At 5.0 the CONNACK's properties are
 * returned too (Topic Alias Maximum and friends).
 */
export async function connected(t: Tap, port: number, o: ConnectOptions & { clientId: string }): Promise<{ raw: RawClient; connack: Buffer }> {
  const raw = await openRaw(t, port)
  raw.send(connectPacket(o))
  const connack = await raw.readPacket()
  const code = (o.version ?? 4) === 5 ? parseConnack5(connack).reasonCode : connack[3]
  if (code !== 0) throw new Error(`CONNECT refused: ${hex(connack)}`)
  return { raw, connack }
}

/** What `wireBroker` started next to its healthy client, for `assertHealthy` to check. */
const bystanders = new WeakMap<MqttClient, { traffic: HealthyTraffic; errors: string[] }>()

/**
 * A broker for one wire file, and a healthy MQTT.js 5.0 client connected before any
 * misbehaving one; `assertHealthy` checks it at the end of the file. Beside it, a healthy
 * publisher/subscriber pair keeps exchanging messages for the whole file (test/helpers/traffic.ts),
 * and every error-level log line of the broker is kept: both are checked by `assertHealthy` too.
 */
export async function wireBroker(t: Tap, opts: Parameters<typeof startBroker>[0] = {}): Promise<{ b: TestBroker; healthy: MqttClient }> {
  const caught = opts.logger === undefined ? errorCatchingLogger() : undefined
  const b = await startBroker(caught === undefined ? opts : { ...opts, logger: caught.logger })
  const healthy = await connect(b.url, { protocolVersion: 5, clientId: 'healthy' })
  const traffic = await HealthyTraffic.start(b.url)
  bystanders.set(healthy, { traffic, errors: caught?.errors ?? [] })
  t.teardown(async () => {
    await traffic.stop(0)
    await healthy.endAsync()
    await b.close()
  })
  return { b, healthy }
}

/**
 * The shared check of every wire file: a client that was connected before the misbehaving ones
 * is still connected, and can still subscribe, publish and receive; the background pair got
 * every message through; the broker logged nothing at error level (a bug, by definition).
 */
export async function assertHealthy(t: Tap, client: MqttClient, topic: string): Promise<void> {
  t.ok(client.connected, 'the healthy client is still connected')
  const got = collect(client)
  await client.subscribeAsync(topic, { qos: 1 })
  await client.publishAsync(topic, 'still here', { qos: 1 })
  const [m] = await got.next(1, 2000)
  t.equal(m?.payload, 'still here', 'the healthy client still publishes and receives')
  const around = bystanders.get(client)
  if (around === undefined) return
  bystanders.delete(client)
  assertTraffic(t, await around.traffic.stop())
  t.same(around.errors, [], 'the broker logged nothing at error level')
}

/** The broker closes within 1 s and sends nothing (more) before it does. */
export async function expectClose(t: Tap, raw: RawClient, message = 'closes the connection without a reply'): Promise<void> {
  const rest = await raw.closed()
  t.equal(hex(rest), '', message)
}

/**
 * 5.0: DISCONNECT with exactly this reason code, then the close within 1 s. Besides the code it
 * may carry only what a server's DISCONNECT may: Reason String, User Property, Server Reference
 * (5.0 section 3.14.2.2).
 */
export async function expectDisconnect(t: Tap, raw: RawClient, reasonCode: number): Promise<void> {
  const got = await raw.readPacket()
  const { reasonCode: code, properties } = parseDisconnect5(got)
  t.equal(code, reasonCode, `DISCONNECT 0x${reasonCode.toString(16)} (${hex(got)})`)
  const others = [...properties.keys()].filter((id) => id !== 0x1f && id !== 0x26 && id !== 0x1c)
  t.same(others, [], 'and no property a DISCONNECT may not carry')
  await expectClose(t, raw, 'then closes the connection')
}

/** What ends a connection after CONNACK: 5.0 DISCONNECT with the reason code, 3.1.1 a plain close. */
export async function expectRefusal(t: Tap, raw: RawClient, version: 4 | 5, reasonCode: number): Promise<void> {
  if (version === 5) await expectDisconnect(t, raw, reasonCode)
  else await expectClose(t, raw)
}

/**
 * Reads a 5.0 PUBACK, PUBREC, PUBREL or PUBCOMP (Packet Identifier, Reason Code, properties) or
 * SUBACK / UNSUBACK (Packet Identifier, properties, one code per filter) sent by the server.
 */
export function parseAck5(buf: Buffer): { messageId: number; reasonCodes: number[]; properties: Map<number, Buffer> } {
  const type = (buf[0] ?? 0) >> 4
  let pos = bodyStart(buf)
  const messageId = buf.readUInt16BE(pos)
  pos += 2
  if (type === 9 || type === 11) {
    const { properties, end } = readProperties(buf, pos)
    return { messageId, reasonCodes: [...buf.subarray(end)], properties }
  }
  if (type < 4 || type > 7) throw new Error(`not an acknowledgement: ${hex(buf)}`)
  if (pos === buf.length) return { messageId, reasonCodes: [0], properties: new Map() }
  const reasonCode = buf.readUInt8(pos)
  if (pos + 1 === buf.length) return { messageId, reasonCodes: [reasonCode], properties: new Map() }
  const { properties, end } = readProperties(buf, pos + 1)
  if (end !== buf.length) throw new Error(`acknowledgement has bytes after its properties: ${hex(buf)}`)
  return { messageId, reasonCodes: [reasonCode], properties }
}

/** The Reason String (0x1F) among parsed properties, or undefined. */
export function reasonStringOf(properties: Map<number, Buffer>): string | undefined {
  const value = properties.get(0x1f)
  return value === undefined ? undefined : value.toString('utf8', 2, 2 + value.readUInt16BE(0))
}
