import mqttPacket from 'mqtt-packet'
import { malformed, MqttError, packetTooLarge, protocolError, unsupportedProtocolVersion } from './errors.js'
import { PacketType } from './packets.js'
import type { InboundPacket, ProtocolVersion, Will } from './packets.js'
import { readAck, readPublish } from './fast-path.js'
import { readMessageProperties } from './message-properties.js'
import { ByteReader } from './reader.js'
import { ReasonCode } from './reason-codes.js'
import { checkBody, checkConnect, PACKET_NAMES, toInboundPacket } from './validate.js'

/**
 * Bytes in, validated packets out: one Decoder per connection.
 *
 * Framing is ours, not mqtt-packet's. mqtt-packet buffers a whole packet before it looks at the
 * length, so a peer announcing 256 MB would cost 256 MB; here the fixed header is checked the
 * moment its bytes arrive (type, flags, a minimal Remaining Length of at most four bytes) and a
 * packet bigger than `maxPacketSize` is refused before a byte of its body is kept.
 *
 * Only a complete frame is handed on: first to the raw walk in validate.ts, then (unless the
 * fast path in fast-path.ts took it, as it does every PUBLISH) to mqtt-packet. Frames that sit whole inside a chunk are
 * passed as views of that chunk (no copy, and a PUBLISH payload stays a view too); only a frame
 * that spans chunks is copied, once.
 *
 * One mqtt-packet parser serves every decoder in the process (`parseFrame`). A parser is an
 * EventEmitter holding a BufferList stream (a whole Duplex) and a packet under construction:
 * about 1 KB per connection, for the few packets (CONNECT, SUBSCRIBE, ...) that ever reach it.
 * Sharing is safe because it is only ever given one complete frame, and its 'packet' and
 * 'error' events fire synchronously inside `parse`: it holds nothing between calls. After a
 * frame that fails or leaves bytes behind it is thrown away, so no state can leak into the next.
 *
 * The protocol version: mqtt-packet only parses 5.0 properties when `parser.settings
 * .protocolVersion === 5`, and its CONNECT parser replaces `settings` with the CONNECT packet
 * itself. We set `settings` before every parse instead. The version is adopted from
 * the first CONNECT as soon as it is decoded, before the sink receives it, so packets pipelined in the
 * same chunk behind the CONNECT are parsed at the right version even if the connection only
 * calls `setProtocolVersion` later. Before any CONNECT, other packets are parsed by 3.1.1 rules
 * (the connection rejects them anyway [MQTT-3.1.0-1]).
 *
 * Errors: `push` throws only `MqttError`, except that an exception thrown by the sink itself
 * propagates unchanged. Either way the decoder is finished: the rest of that chunk is dropped
 * and every later `push` throws the same MqttError, because the byte stream can no longer be
 * trusted to be in step.
 */

/** Where decoded packets go (see `Decoder.push`). */
export interface PacketSink {
  receive(packet: InboundPacket): void
}

function deliver(sink: PacketSink | ((packet: InboundPacket) => void), packet: InboundPacket): void {
  if (typeof sink === 'function') sink(packet)
  else sink.receive(packet)
}

export interface DecoderOptions {
  /** Largest total packet (fixed header included) accepted; bigger ones throw 0x95. */
  maxPacketSize: number
}

/** The part of mqtt-packet's Parser we use; its typings omit `settings`. */
interface CodecParser {
  settings: { protocolVersion: ProtocolVersion }
  parse(buf: Buffer): number
  on(event: 'packet', listener: (packet: unknown) => void): unknown
  on(event: 'error', listener: (err: unknown) => void): unknown
}

const isServerOnly = (type: number): boolean =>
  type === PacketType.Connack || type === PacketType.Suback ||
  type === PacketType.Unsuback || type === PacketType.Pingresp

/** The shared parser and what its last `parse` produced; see the essay above. */
let sharedParser: CodecParser | undefined
let parsed: unknown
let codecError: unknown

function parseFrame(frame: Buffer, protocolVersion: ProtocolVersion): unknown {
  let parser = sharedParser
  if (parser === undefined) {
    // mqtt-packet's typings say Parser; ours name the `settings` field it really has (parser.js).
    parser = mqttPacket.parser({ protocolVersion }) as unknown as CodecParser
    parser.on('packet', (packet) => { parsed = packet })
    parser.on('error', (err) => { codecError = err })
    sharedParser = parser
  }
  parser.settings = { protocolVersion }
  parsed = undefined
  codecError = undefined
  let left: number
  try {
    left = parser.parse(frame)
  } catch (err) {
    sharedParser = undefined
    throw err
  }
  const packet = parsed
  const error = codecError
  parsed = undefined
  codecError = undefined
  if (error !== undefined || left !== 0) sharedParser = undefined
  if (error !== undefined) throw fromCodecError(error)
  if (packet === undefined) throw malformed('mqtt-packet produced no packet for a complete frame')
  return packet
}

/**
 * One cursor for every decoder: decoding is synchronous and a frame is fully read before its
 * packet is handed on, so no two frames are ever walked at once. Reset to an empty buffer after
 * each frame, so that an idle connection does not keep its last socket chunk alive through it.
 */
const reader = new ByteReader()
const EMPTY = Buffer.alloc(0)

export class Decoder {
  readonly #maxPacketSize: number
  #version: ProtocolVersion | undefined
  /** Remaining Length of the header `#readHeader` last completed. */
  #remainingLength = 0
  /** A frame that spans chunks: its pieces so far, their total, and its size once known. */
  #held: Buffer[] | undefined
  #heldLength = 0
  #heldFrameSize = 0
  #heldHeaderLength = 0
  #failure: MqttError | undefined

  constructor(opts: DecoderOptions) {
    if (!Number.isSafeInteger(opts.maxPacketSize) || opts.maxPacketSize < 2) {
      throw new RangeError(`maxPacketSize must be an integer >= 2, got ${opts.maxPacketSize}`)
    }
    this.#maxPacketSize = opts.maxPacketSize
  }

  /** The version packets are parsed at; undefined until a CONNECT or `setProtocolVersion`. */
  get protocolVersion(): ProtocolVersion | undefined {
    return this.#version
  }

  setProtocolVersion(version: ProtocolVersion): void {
    this.#version = version
  }

  /**
   * Decodes what `chunk` completes and hands each packet on, in order: to `sink.receive`, or
   * to `sink` itself when it is a function. (A connection passes itself, so that it needs no
   * closure of its own for this.)
   */
  push(chunk: Buffer, sink: PacketSink | ((packet: InboundPacket) => void)): void {
    if (this.#failure !== undefined) throw this.#failure
    try {
      this.#push(chunk, sink)
    } catch (err) {
      this.#held = undefined
      this.#heldLength = 0
      this.#failure = err instanceof MqttError
        ? err
        : new MqttError('MQTT_DECODER_STOPPED', ReasonCode.UnspecifiedError,
          'decoding stopped because the packet handler threw', { cause: err })
      throw err
    }
  }

  #push(chunk: Buffer, sink: PacketSink | ((packet: InboundPacket) => void)): void {
    let offset = 0
    if (this.#heldLength > 0) {
      offset = this.#continueHeldFrame(chunk, sink)
      if (offset < 0) return
    }
    while (offset < chunk.length) {
      const headerLength = this.#readHeader(chunk, offset)
      if (headerLength === 0) {
        // At most 4 header bytes: copy them rather than pin the whole chunk.
        this.#hold(Buffer.from(chunk.subarray(offset)), 0, 0)
        return
      }
      const end = offset + headerLength + this.#remainingLength
      if (end > chunk.length) {
        this.#hold(chunk.subarray(offset), end - offset, headerLength)
        return
      }
      const frame = chunk.subarray(offset, end)
      offset = end
      deliver(sink, this.#decodeFrame(frame, headerLength))
    }
  }

  #hold(piece: Buffer, frameSize: number, headerLength: number): void {
    this.#held = [piece]
    this.#heldLength = piece.length
    this.#heldFrameSize = frameSize
    this.#heldHeaderLength = headerLength
  }

  /**
   * Feed the start of `chunk` to the frame begun in earlier chunks. Returns the offset in
   * `chunk` after that frame, or -1 when the chunk was all used up and the frame is not done.
   */
  #continueHeldFrame(chunk: Buffer, sink: PacketSink | ((packet: InboundPacket) => void)): number {
    let offset = 0
    if (this.#heldFrameSize === 0) {
      // The header itself was cut: join its first bytes (at most 4) with enough of the chunk
      // to finish it (a fixed header is at most 5 bytes).
      const start = this.#held?.[0] ?? EMPTY
      const head = Buffer.concat([start, chunk.subarray(0, 5 - start.length)])
      const headerLength = this.#readHeader(head, 0)
      if (headerLength === 0) {
        this.#hold(head, 0, 0)
        return -1
      }
      this.#hold(head.subarray(0, headerLength), headerLength + this.#remainingLength, headerLength)
      offset = headerLength - start.length
    }
    const missing = this.#heldFrameSize - this.#heldLength
    if (chunk.length - offset < missing) {
      this.#held?.push(offset === 0 ? chunk : chunk.subarray(offset))
      this.#heldLength += chunk.length - offset
      return -1
    }
    const held = this.#held ?? []
    held.push(chunk.subarray(offset, offset + missing))
    const frame = Buffer.concat(held, this.#heldFrameSize)
    const headerLength = this.#heldHeaderLength
    this.#held = undefined
    this.#heldLength = 0
    deliver(sink, this.#decodeFrame(frame, headerLength))
    return offset + missing
  }

  /**
   * Read the fixed header at `offset`. Returns its length and sets `#remainingLength`, or
   * returns 0 when `buf` ends inside it. The first byte and the size are checked as soon as
   * they are readable.
   */
  #readHeader(buf: Buffer, offset: number): number {
    this.#checkFirstByte(buf.readUInt8(offset))
    let value = 0
    let multiplier = 1
    for (let i = 1; i <= 4; i++) {
      if (offset + i >= buf.length) return 0
      const byte = buf.readUInt8(offset + i)
      value += (byte & 0x7f) * multiplier
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 1) {
          throw malformed('Remaining Length is not encoded in the minimum number of bytes [MQTT-1.5.5-1]')
        }
        const size = i + 1 + value
        if (size > this.#maxPacketSize) throw packetTooLarge(size, this.#maxPacketSize)
        this.#remainingLength = value
        return i + 1
      }
      multiplier *= 128
    }
    throw malformed('Remaining Length is longer than 4 bytes (section 2.2.3) [MQTT-1.5.5-1]')
  }

  #checkFirstByte(first: number): void {
    const type = first >> 4
    const flags = first & 0x0f
    if (type === 0) throw malformed('packet type 0 is reserved (section 2.1.2)')
    if (type === PacketType.Auth && this.#version !== 5) {
      throw malformed('packet type 15 (AUTH) exists only in MQTT 5.0 (section 2.1.2)')
    }
    if (isServerOnly(type)) {
      throw protocolError(`a client must not send ${PACKET_NAMES[type] ?? 'this packet'}; only a server does`)
    }
    if (type === PacketType.Publish) {
      const qos = (flags >> 1) & 0x03
      if (qos === 3) throw malformed('PUBLISH has both QoS bits set [MQTT-3.3.1-4]')
      if (qos === 0 && (flags & 0x08) !== 0) throw malformed('PUBLISH at QoS 0 has DUP set [MQTT-3.3.1-2]')
      return
    }
    const required = type === PacketType.Pubrel || type === PacketType.Subscribe || type === PacketType.Unsubscribe
      ? 0x02
      : 0x00
    if (flags !== required) {
      throw malformed(`${PACKET_NAMES[type] ?? 'packet'} fixed header flags are 0x${flags.toString(16)}, must be 0x${required.toString(16)} [MQTT-2.2.2-2]`)
    }
  }

  /** Validate and parse one complete frame. Throws only MqttError. */
  #decodeFrame(frame: Buffer, headerLength: number): InboundPacket {
    const first = frame.readUInt8(0)
    const type = first >> 4
    try {
      const r = reader
      const fast = this.#decodeFast(frame, headerLength, type, first & 0x0f)
      if (fast !== undefined) return fast
      r.reset(frame, headerLength, frame.length)
      const willPropertiesAt = type === PacketType.Connect ? checkConnect(r) : -1
      if (type !== PacketType.Connect) checkBody(r, type, first & 0x0f, this.#version ?? 4)
      // mqtt-packet refuses an AUTH with Remaining Length 0, which 5.0 section 3.15.2.1
      // allows: it means Reason Code 0x00 (Success) and no properties.
      const packet = type === PacketType.Auth && frame.length === headerLength
        ? toInboundPacket({ cmd: 'auth', reasonCode: 0 }, type)
        : toInboundPacket(parseFrame(frame, this.#version ?? 4), type)
      if (packet.cmd === 'connect') {
        if (packet.will !== undefined && willPropertiesAt >= 0) readWillProperties(packet.will, frame, willPropertiesAt)
        // Adopt the first CONNECT's version; a second CONNECT is the connection's to refuse
        // [MQTT-3.1.0-2] and must not change how the stream is parsed.
        this.setProtocolVersion(this.#version ?? packet.protocolVersion)
      }
      return packet
    } catch (err) {
      if (type === PacketType.Connect && this.#version !== undefined) {
        // Sending a second CONNECT at all is the Protocol Error [MQTT-3.1.0-2], whatever is wrong
        // inside it; in particular its level must not become DISCONNECT 0x84, a code DISCONNECT
        // cannot carry (5.0 section 3.14.2.1).
        throw protocolError(`second CONNECT on one connection [MQTT-3.1.0-2], and an invalid one: ${describe(err)}`)
      }
      if (err instanceof MqttError) throw err
      throw malformed(`${PACKET_NAMES[type] ?? 'packet'} could not be decoded: ${describe(err)}`, err)
    } finally {
      reader.reset(EMPTY, 0, 0)
    }
  }

  /** PUBLISH and acks without properties skip mqtt-packet (fast-path.ts); undefined otherwise. */
  #decodeFast(frame: Buffer, headerLength: number, type: number, flags: number): InboundPacket | undefined {
    const version = this.#version ?? 4
    if (type === PacketType.Publish) {
      reader.reset(frame, headerLength, frame.length)
      return readPublish(reader, flags, version)
    }
    if (type >= PacketType.Puback && type <= PacketType.Pubcomp) {
      reader.reset(frame, headerLength, frame.length)
      return readAck(reader, type, version)
    }
    return undefined
  }

}

/**
 * The will becomes a PUBLISH, so its User Properties must keep their order too [MQTT-3.3.2-18],
 * which mqtt-packet's folded object cannot: its properties are read again from the bytes.
 */
function readWillProperties(will: Will, frame: Buffer, at: number): void {
  reader.reset(frame, at, frame.length)
  const properties = readMessageProperties(reader)
  if (Object.keys(properties).length > 0) will.properties = properties
  else delete will.properties
}

/**
 * mqtt-packet reports everything as a plain Error with a message. The raw walk runs first, so
 * what is left for it to find is mostly a Reason Code that the packet type does not allow,
 * which is a Protocol Error (5.0 section 2.4); anything else is treated as malformed.
 */
function fromCodecError(err: unknown): MqttError {
  const message = describe(err)
  if (message === 'Invalid protocol version') return unsupportedProtocolVersion(-1, 'MQTT')
  if (/^Invalid \w+ reason code$/.test(message)) return protocolError(`${message} (5.0 section 2.4)`)
  return malformed(`mqtt-packet: ${message}`, err)
}

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err))
