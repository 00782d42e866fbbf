import { malformed, protocolError } from './errors.js'
import {
  messagePropertiesLength, readMessageProperties, varintSize, writeMessageProperties, writeVarint,
} from './message-properties.js'
import type { AckCmd, AckPacket, ProtocolVersion, PublishPacket, QoS } from './packets.js'
import { checkProperties, PropertyPlace } from './properties.js'
import { checkUtf8, type ByteReader } from './reader.js'

/**
 * The packets that carry the traffic — PUBLISH and the four acks without properties — decoded
 * and encoded here directly instead of through mqtt-packet. Profiles of fan-in load showed
 * mqtt-packet's BufferList, per-call debug hooks and generic writer at about a third of the
 * broker's CPU; these paths read and write the bytes in one pass and allocate only the result.
 * A PUBLISH with properties is done here too, by message-properties.ts, so that its User
 * Properties keep their order [MQTT-3.3.2-18]; acks with properties go the general way.
 */

/**
 * A PUBLISH, validated as validate.ts would: topic UTF-8, packet id != 0, and (5.0) the
 * property section by `checkProperties`.
 */
export function readPublish(r: ByteReader, flags: number, version: ProtocolVersion): PublishPacket {
  const buf = r.buffer
  const topicLength = r.u16('Topic Name')
  const topicStart = r.pos
  r.skip(topicLength, 'Topic Name')
  checkUtf8(buf, topicStart, r.pos, 'Topic Name')
  const qos = ((flags >> 1) & 0x03) as QoS
  let messageId: number | undefined
  if (qos > 0) {
    messageId = r.u16('Packet Identifier')
    if (messageId === 0) throw protocolError('PUBLISH has Packet Identifier 0; it must be non-zero [MQTT-2.2.1-3]')
  }
  let properties: PublishPacket['properties']
  if (version === 5) {
    const start = r.pos
    if (r.remaining > 0 && buf[start] === 0) {
      r.pos++ // the common case, an empty section: no walk, no object
    } else {
      checkProperties(r, PropertyPlace.Publish, 'PUBLISH')
      const end = r.pos
      r.pos = start
      properties = readMessageProperties(r)
      r.pos = end
    }
  }
  const packet: PublishPacket = {
    cmd: 'publish',
    topic: buf.toString('utf8', topicStart, topicStart + topicLength),
    payload: buf.subarray(r.pos, r.end),
    qos,
    retain: (flags & 0x01) !== 0,
    dup: (flags & 0x08) !== 0,
  }
  if (messageId !== undefined) packet.messageId = messageId
  if (properties !== undefined) packet.properties = properties
  return packet
}

const ACK_CMDS: Readonly<Record<number, AckCmd>> = { 4: 'puback', 5: 'pubrec', 6: 'pubrel', 7: 'pubcomp' }

/**
 * An ack of 2 bytes (3.1.1, or 5.0 success) or 3 bytes (5.0 reason code, no properties), or
 * undefined when it carries properties. A reason code the packet type may not carry is left to
 * the general path, which knows the per-type tables.
 */
export function readAck(r: ByteReader, type: number, version: ProtocolVersion): AckPacket | undefined {
  const cmd = ACK_CMDS[type]
  if (cmd === undefined) throw malformed('not an acknowledgement')
  const length = r.remaining
  if (length > 3 || (length === 3 && version !== 5)) return undefined
  const messageId = r.u16('Packet Identifier')
  if (messageId === 0) throw protocolError(`${cmd.toUpperCase()} has Packet Identifier 0; it must be non-zero [MQTT-2.2.1-3]`)
  // 5.0: Remaining Length 2 means Reason Code 0x00 (section 3.4.2.1), as mqtt-packet reports it.
  if (length === 2) return version === 5 ? { cmd, messageId, reasonCode: 0 } : { cmd, messageId }
  const reasonCode = r.u8('Reason Code')
  if (!isAckReason(cmd, reasonCode)) return undefined
  return { cmd, messageId, reasonCode }
}

/** 5.0 section 3.4.2.1 (PUBACK, PUBREC) and 3.6.2.1 (PUBREL, PUBCOMP). */
function isAckReason(cmd: AckCmd, code: number): boolean {
  if (cmd === 'pubrel' || cmd === 'pubcomp') return code === 0x00 || code === 0x92
  return code === 0x00 || code === 0x10 || code === 0x80 || code === 0x83 || code === 0x87 ||
    code === 0x90 || code === 0x91 || code === 0x97 || code === 0x99
}

/**
 * A PUBLISH in one allocation; properties only at 5.0 (none exist below). At QoS > 0 without `messageId`, 0 is written
 * as a placeholder for `patchMessageId`. With `isHeadOnly` the payload is left out (but counted
 * in the Remaining Length): the caller sends the payload's own bytes right behind.
 */
export function writePublish(packet: PublishPacket, version: ProtocolVersion, isHeadOnly = false): Buffer {
  const topicLength = Buffer.byteLength(packet.topic)
  const hasId = packet.qos > 0
  const props = version === 5 ? packet.properties : undefined
  const propsLength = props === undefined ? 0 : messagePropertiesLength(props)
  const propsSection = version === 5 ? varintSize(propsLength) + propsLength : 0
  const remaining = 2 + topicLength + (hasId ? 2 : 0) + propsSection + packet.payload.length
  const size = 1 + varintSize(remaining) + remaining
  const buf = Buffer.allocUnsafe(isHeadOnly ? size - packet.payload.length : size)
  buf[0] = 0x30 | (packet.dup ? 0x08 : 0) | (packet.qos << 1) | (packet.retain ? 0x01 : 0)
  let offset = writeVarint(buf, 1, remaining)
  buf.writeUInt16BE(topicLength, offset)
  offset += 2
  offset += buf.write(packet.topic, offset, 'utf8')
  if (hasId) {
    buf.writeUInt16BE(packet.messageId ?? 0, offset)
    offset += 2
  }
  if (version === 5) {
    offset = writeVarint(buf, offset, propsLength)
    if (props !== undefined && propsLength > 0) offset = writeMessageProperties(buf, offset, props)
  }
  if (!isHeadOnly) packet.payload.copy(buf, offset)
  return buf
}

const ACK_TYPE: Readonly<Record<AckCmd, number>> = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 }

/**
 * An ack without properties: Remaining Length 2 for success (or any 3.1.1 ack), else the 5.0
 * reason code followed by an empty property section, as mqtt-packet writes it.
 */
export function writeAck(packet: AckPacket, version: ProtocolVersion): Buffer {
  const code = packet.reasonCode ?? 0
  const withCode = version === 5 && code !== 0
  const buf = Buffer.allocUnsafe(withCode ? 6 : 4)
  buf[0] = ACK_TYPE[packet.cmd]
  buf[1] = withCode ? 4 : 2
  buf.writeUInt16BE(packet.messageId, 2)
  if (withCode) {
    buf[4] = code
    buf[5] = 0
  }
  return buf
}
