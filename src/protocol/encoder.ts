import mqttPacket from 'mqtt-packet'
import type {
  AckPacket, ConnackPacket, DisconnectPacket, OutboundPacket, ProtocolVersion, PublishPacket, SubackPacket,
} from './packets.js'
import { writeAck, writePublish } from './fast-path.js'
import { connackReturnCode311, ReasonCode, subackCode311 } from './reason-codes.js'

/**
 * Packets out, bytes back, through mqtt-packet's `generate`, except PUBLISH and the plain acks,
 * which fast-path.ts writes (a PUBLISH's properties by message-properties.ts, in order).
 *
 * Everything inside the broker speaks MQTT 5.0; this is the one place that speaks down to
 * 3.1.1 and 3.1 clients (STYLE.md, Errors):
 * - CONNACK: the reason code becomes a 3.1.1 return code (`connackReturnCode311`).
 * - SUBACK: every failure code becomes 0x80 [MQTT-3.9.3-2 (3.1.1)].
 * - UNSUBACK, PUBACK, PUBREC, PUBREL, PUBCOMP: reason codes dropped (mqtt-packet writes none
 *   below 5.0).
 * - No properties below 5.0 (mqtt-packet ignores them there).
 * - DISCONNECT: a 3.1.1 server never sends one (the packet is client-to-server only there), so
 *   `encode` returns an empty buffer and the caller simply closes the connection.
 * - AUTH below 5.0 is a broker bug and throws.
 *
 * Errors: a packet mqtt-packet cannot write (wrong field types) is a broker bug, so the plain
 * Error it throws is passed on as is; only inbound problems are MqttError.
 *
 * Fan-out: `encodePublish` plus `publishMessageIdOffset`, `patchMessageId`, `setPublishDup` and
 * `setPublishRetain` let one PUBLISH be encoded once per (version, QoS, properties) and its bytes
 * reused for every subscriber, patching only the Packet Identifier and the DUP/RETAIN bits.
 */

const OPTIONS: Readonly<Record<ProtocolVersion, { protocolVersion: ProtocolVersion }>> = {
  3: { protocolVersion: 3 },
  4: { protocolVersion: 4 },
  5: { protocolVersion: 5 },
}

const EMPTY = Buffer.alloc(0)

const generate = (packet: mqttPacket.Packet, version: ProtocolVersion): Buffer =>
  mqttPacket.generate(packet, OPTIONS[version])

export function encode(packet: OutboundPacket, version: ProtocolVersion): Buffer {
  switch (packet.cmd) {
    case 'connack':
      return generate(connack(packet, version), version)
    case 'publish':
      return encodePublish(packet, version)
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      if (!hasProperties(packet.properties)) return writeAck(packet, version)
      return generate(ack(packet, version), version)
    case 'suback':
      return generate(suback(packet, version), version)
    case 'unsuback':
    case 'pingresp':
      return generate(packet, version)
    case 'disconnect':
      return version === 5 ? disconnect(packet) : EMPTY
    case 'auth':
      if (version !== 5) throw new Error('AUTH exists only in MQTT 5.0; the broker must not send it to this client')
      return generate(packet, version)
    default: {
      const unknown: never = packet
      throw new Error(`cannot encode packet ${JSON.stringify(unknown)}`)
    }
  }
}

/**
 * A refused connection has no session: Session Present must be 0 whenever the code is not
 * success ([MQTT-3.2.2-6], 3.1.1: [MQTT-3.2.2-4]).
 */
function connack(packet: ConnackPacket, version: ProtocolVersion): mqttPacket.IConnackPacket {
  const sessionPresent = packet.sessionPresent && packet.reasonCode === ReasonCode.Success
  if (version === 5) {
    return sessionPresent === packet.sessionPresent ? packet : { ...packet, sessionPresent }
  }
  return { cmd: 'connack', sessionPresent, returnCode: connackReturnCode311(packet.reasonCode) }
}

/**
 * mqtt-packet writes a missing 5.0 reason code as a 0x00 byte plus an empty property section;
 * an explicit 0 lets it use the 2-byte short form (5.0 section 3.4.2.1).
 */
function ack(packet: AckPacket, version: ProtocolVersion): AckPacket {
  return version === 5 && packet.reasonCode === undefined ? { ...packet, reasonCode: ReasonCode.Success } : packet
}

function suback(packet: SubackPacket, version: ProtocolVersion): SubackPacket {
  return version === 5 ? packet : { ...packet, granted: packet.granted.map(subackCode311) }
}

function hasProperties(properties: object | undefined): boolean {
  if (properties === undefined) return false
  for (const key in properties) {
    if ((properties as Record<string, unknown>)[key] !== undefined) return true
  }
  return false
}

/** Reason Code 0x00 with no properties may be sent as Remaining Length 0 (5.0 section 3.14.2.1). */
function disconnect(packet: DisconnectPacket): Buffer {
  const hasProperties = packet.properties !== undefined && Object.keys(packet.properties).length > 0
  if ((packet.reasonCode ?? 0) === 0 && !hasProperties) return Buffer.from([0xe0, 0x00])
  return generate(packet.reasonCode === undefined ? { ...packet, reasonCode: 0 } : packet, 5)
}

/**
 * Encode a PUBLISH. At QoS > 0 without a `messageId`, 0 is written as a placeholder for
 * `patchMessageId` to fill in: such bytes must not be sent unpatched [MQTT-2.2.1-3].
 */
export function encodePublish(packet: PublishPacket, version: ProtocolVersion): Buffer {
  return writePublish(packet, version)
}

/**
 * `encodePublish` without the payload: every byte before it, the Remaining Length counting it.
 * Sent followed by `packet.payload` itself, a big payload is never copied into the packet.
 */
export function encodePublishHead(packet: PublishPacket, version: ProtocolVersion): Buffer {
  return writePublish(packet, version, true)
}

/**
 * Where the 2-byte Packet Identifier sits in encoded PUBLISH bytes, or -1 at QoS 0, which has
 * none [MQTT-2.2.1-2]. It follows the fixed header and the Topic Name (section 3.3.2).
 */
export function publishMessageIdOffset(buf: Buffer): number {
  const first = buf.readUInt8(0)
  if (first >> 4 !== 3) throw new RangeError('not an encoded PUBLISH')
  if ((first & 0x06) === 0) return -1
  let offset = 1
  while ((buf.readUInt8(offset) & 0x80) !== 0) offset++ // Remaining Length continuation bytes
  offset++
  return offset + 2 + buf.readUInt16BE(offset)
}

/** Write a Packet Identifier (1 to 65535 [MQTT-2.2.1-3]) at `offset`, in place. */
export function patchMessageId(buf: Buffer, offset: number, id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 0xffff) throw new RangeError(`Packet Identifier ${id} is not in 1..65535`)
  buf.writeUInt16BE(id, offset)
}

/** Set or clear DUP in encoded PUBLISH bytes, in place. QoS 0 never has DUP [MQTT-3.3.1-2]. */
export function setPublishDup(buf: Buffer, isDup: boolean): void {
  const first = buf.readUInt8(0)
  if (isDup && (first & 0x06) === 0) throw new RangeError('a QoS 0 PUBLISH cannot be marked DUP [MQTT-3.3.1-2]')
  buf.writeUInt8(isDup ? first | 0x08 : first & ~0x08, 0)
}

/**
 * Set or clear RETAIN in encoded PUBLISH bytes, in place: forwarding to a subscription without
 * Retain As Published clears it [MQTT-3.3.1-12] (3.1.1: [MQTT-3.3.1-9]).
 */
export function setPublishRetain(buf: Buffer, isRetain: boolean): void {
  const first = buf.readUInt8(0)
  buf.writeUInt8(isRetain ? first | 0x01 : first & ~0x01, 0)
}

/**
 * The bytes for one subscriber, from bytes encoded once by `encodePublish`. The shared bytes
 * are returned as they are when nothing changes (QoS 0, same RETAIN); otherwise one copy is
 * made and patched, since the shared bytes may already be queued on other sockets.
 */
export function publishForSubscriber(encoded: Buffer, messageId: number | undefined, isRetain: boolean): Buffer {
  const offset = publishMessageIdOffset(encoded)
  const isRetainSet = (encoded.readUInt8(0) & 0x01) !== 0
  if (offset < 0 && isRetainSet === isRetain) return encoded
  const copy = Buffer.allocUnsafe(encoded.length)
  encoded.copy(copy)
  if (offset >= 0) {
    if (messageId === undefined) throw new RangeError('a QoS 1 or 2 PUBLISH needs a Packet Identifier')
    patchMessageId(copy, offset, messageId)
  }
  if (isRetainSet !== isRetain) setPublishRetain(copy, isRetain)
  return copy
}
