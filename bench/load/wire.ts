/**
 * The load generator's view of MQTT: packets are encoded once with `mqtt-packet` and then only
 * copied and patched (packet id, topic digits, timestamp); received bytes are split into frames
 * by reading the fixed header and Remaining Length alone. Nothing here decodes a whole packet,
 * so the generator stays much cheaper than the broker it measures.
 */
import mqtt from 'mqtt-packet'

export type ProtocolVersion = 4 | 5
export type QoS = 0 | 1 | 2

/** MQTT control packet types (the high nibble of the first byte). */
export const CONNACK = 2
export const PUBLISH = 3
export const PUBACK = 4
export const PUBREC = 5
export const PUBREL = 6
export const PUBCOMP = 7
export const SUBACK = 9
export const PINGRESP = 13
export const DISCONNECT = 14

export function connectPacket(opts: {
  clientId: string
  version: ProtocolVersion
  isClean: boolean
  keepalive: number
}): Buffer {
  return mqtt.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: opts.version,
    clientId: opts.clientId,
    clean: opts.isClean,
    keepalive: opts.keepalive,
    // A persistent 5.0 session needs an expiry interval, or it ends with the connection.
    ...(opts.version === 5 && !opts.isClean ? { properties: { sessionExpiryInterval: 3600 } } : {}),
  })
}

export function subscribePacket(opts: { packetId: number; filter: string; qos: QoS; version: ProtocolVersion }): Buffer {
  return mqtt.generate(
    { cmd: 'subscribe', messageId: opts.packetId, subscriptions: [{ topic: opts.filter, qos: opts.qos }] },
    { protocolVersion: opts.version },
  )
}

/** One SUBSCRIBE carrying several filters at one QoS. */
export function subscribeManyPacket(opts: { packetId: number; filters: string[]; qos: QoS; version: ProtocolVersion }): Buffer {
  return mqtt.generate(
    { cmd: 'subscribe', messageId: opts.packetId, subscriptions: opts.filters.map((topic) => ({ topic, qos: opts.qos })) },
    { protocolVersion: opts.version },
  )
}

export function disconnectPacket(version: ProtocolVersion): Buffer {
  return mqtt.generate({ cmd: 'disconnect' }, { protocolVersion: version })
}

/** A four-byte PUBACK/PUBREC/PUBREL/PUBCOMP with packet id 0; valid at 3.1.1 and 5.0. */
export function ackTemplate(type: typeof PUBACK | typeof PUBREC | typeof PUBREL | typeof PUBCOMP): Buffer {
  const cmd = ({ [PUBACK]: 'puback', [PUBREC]: 'pubrec', [PUBREL]: 'pubrel', [PUBCOMP]: 'pubcomp' } as const)[type]
  const buf = mqtt.generate({ cmd, messageId: 1 }, { protocolVersion: 4 })
  if (buf.length !== 4) throw new Error(`expected a 4-byte ${cmd}, got ${buf.length} bytes`)
  return buf
}

/**
 * One PUBLISH encoded once. `copyTo` writes it into a larger buffer and patches the packet id,
 * so a batch of N messages costs N `Buffer.copy` calls and no encoder work.
 */
export class PublishTemplate {
  readonly bytes: Buffer
  readonly qos: QoS
  /** Offset of the packet id inside `bytes`, or -1 at QoS 0. */
  readonly idOffset: number
  /** Offset of the topic name's first byte inside `bytes`. */
  readonly topicOffset: number
  /** Offset of the payload's first byte inside `bytes`. */
  readonly payloadOffset: number

  constructor(opts: { topic: string; payload: Buffer; qos: QoS; isRetained?: boolean; version: ProtocolVersion }) {
    this.qos = opts.qos
    this.bytes = mqtt.generate(
      {
        cmd: 'publish',
        topic: opts.topic,
        payload: opts.payload,
        qos: opts.qos,
        retain: opts.isRetained ?? false,
        dup: false,
        ...(opts.qos > 0 ? { messageId: 0x5a5a } : {}),
      },
      { protocolVersion: opts.version },
    )
    let offset = 1
    while ((this.bytes[offset++]! & 0x80) !== 0);
    this.topicOffset = offset + 2
    this.idOffset = opts.qos > 0 ? this.topicOffset + Buffer.byteLength(opts.topic) : -1
    this.payloadOffset = this.bytes.length - opts.payload.length
    if (this.idOffset >= 0 && this.bytes.readUInt16BE(this.idOffset) !== 0x5a5a) {
      throw new Error('packet id not where expected in the encoded PUBLISH')
    }
  }

  get length(): number {
    return this.bytes.length
  }

  copyTo(target: Buffer, offset: number, packetId: number): void {
    this.bytes.copy(target, offset)
    if (this.idOffset >= 0) target.writeUInt16BE(packetId, offset + this.idOffset)
  }

  /** `count` copies back to back, for QoS 0 floods that never patch anything. */
  repeat(count: number): Buffer {
    const out = Buffer.allocUnsafe(this.bytes.length * count)
    for (let i = 0; i < count; i++) this.bytes.copy(out, i * this.bytes.length)
    return out
  }
}

/** Packet id of a received PUBLISH (QoS > 0), given its body's bounds. */
export function publishPacketId(buf: Buffer, bodyStart: number): number {
  const topicLength = buf.readUInt16BE(bodyStart)
  return buf.readUInt16BE(bodyStart + 2 + topicLength)
}

export function qosOf(flags: number): number {
  return (flags >> 1) & 3
}

export interface FrameSink {
  /** One whole frame: its type, its flags nibble and its body at `buf[start, end)`. */
  onFrame(type: number, flags: number, buf: Buffer, start: number, end: number): void
}

const EMPTY = Buffer.alloc(0)

/**
 * Splits a byte stream into MQTT frames from the fixed header alone. A frame that lies whole
 * inside one chunk is handed over in place; one split across chunks is copied only when
 * `wantsBody(type, flags)` says its body is needed, and skipped byte-counting otherwise.
 */
export class FrameReader {
  readonly #sink: FrameSink
  readonly #wantsBody: (type: number, flags: number) => boolean
  #hasFirst = false
  #first = 0
  #length = 0
  #multiplier = 1
  #lengthBytes = 0
  #remaining = 0
  #body: Buffer | null = null
  #isInBody = false

  constructor(sink: FrameSink, wantsBody: (type: number, flags: number) => boolean) {
    this.#sink = sink
    this.#wantsBody = wantsBody
  }

  push(chunk: Buffer): void {
    const n = chunk.length
    let i = 0
    while (i < n) {
      if (this.#isInBody) {
        const take = Math.min(this.#remaining, n - i)
        const body = this.#body
        if (body !== null) chunk.copy(body, body.length - this.#remaining, i, i + take)
        this.#remaining -= take
        i += take
        if (this.#remaining === 0) {
          this.#isInBody = false
          this.#body = null
          this.#sink.onFrame(this.#first >> 4, this.#first & 15, body ?? EMPTY, 0, body?.length ?? 0)
        }
        continue
      }
      if (!this.#hasFirst) {
        this.#first = chunk[i++]!
        this.#hasFirst = true
        this.#length = 0
        this.#multiplier = 1
        this.#lengthBytes = 0
      }
      let isLengthDone = false
      while (i < n) {
        const byte = chunk[i++]!
        this.#length += (byte & 0x7f) * this.#multiplier
        this.#multiplier *= 128
        if ((byte & 0x80) === 0) {
          isLengthDone = true
          break
        }
        if (++this.#lengthBytes === 4) throw new Error('malformed Remaining Length from the broker')
      }
      if (!isLengthDone) return
      this.#hasFirst = false
      const type = this.#first >> 4
      const flags = this.#first & 15
      const length = this.#length
      if (n - i >= length) {
        this.#sink.onFrame(type, flags, chunk, i, i + length)
        i += length
        continue
      }
      this.#isInBody = true
      this.#remaining = length
      this.#body = this.#wantsBody(type, flags) ? Buffer.allocUnsafe(length) : null
    }
  }
}
