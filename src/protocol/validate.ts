import { malformed, protocolError, unsupportedProtocolVersion } from './errors.js'
import { PacketType } from './packets.js'
import type { InboundCmd, InboundPacket, ProtocolVersion } from './packets.js'
import { checkProperties, PropertyPlace } from './properties.js'
import type { ByteReader } from './reader.js'

/**
 * What the broker checks that mqtt-packet does not.
 *
 * Every inbound frame body is walked field by field on the raw bytes before mqtt-packet parses
 * it (see `ByteReader` for why mqtt-packet cannot be trusted with a short or over-long packet).
 * The walk owns every rule that can be decided from the bytes: lengths, UTF-8, U+0000, flags,
 * packet identifiers, property placement and values, empty SUBSCRIBE/UNSUBSCRIBE, subscription
 * options, and the CONNECT protocol name and level. After it, mqtt-packet only turns bytes that
 * are known to be well-formed into objects, and `toInboundPacket` narrows that object.
 *
 * Not here: topic name and filter syntax (`topic/`), and anything that needs connection state
 * (first packet is CONNECT, Topic Alias above the maximum, packet identifiers in use).
 */

const MQTT = Buffer.from('MQTT')
const MQISDP = Buffer.from('MQIsdp')

const CMD_BY_TYPE: readonly (InboundCmd | undefined)[] = [
  undefined, 'connect', undefined, 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp',
  'subscribe', undefined, 'unsubscribe', undefined, 'pingreq', undefined, 'disconnect', 'auth',
]

export const PACKET_NAMES: readonly string[] = [
  'reserved type 0', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP',
  'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH',
]

/**
 * Walk a CONNECT body. The name and level are checked before anything else: a CONNECT from a
 * newer protocol may lay out the rest differently, and the client must still get its
 * "unsupported version" CONNACK [MQTT-3.1.2-2]. Returns where the 5.0 Will Properties start,
 * or -1: the decoder reads them itself (message-properties.ts) to keep User Property order.
 */
export function checkConnect(r: ByteReader): number {
  const version = checkProtocolNameAndLevel(r)
  const flags = r.u8('Connect Flags')
  if ((flags & 0x01) !== 0) throw malformed('the reserved Connect Flag bit 0 is set [MQTT-3.1.2-3]')
  const hasWill = (flags & 0x04) !== 0
  const willQos = (flags >> 3) & 0x03
  const hasUsername = (flags & 0x80) !== 0
  const hasPassword = (flags & 0x40) !== 0
  if (!hasWill && willQos !== 0) throw malformed('Will QoS is set without the Will Flag [MQTT-3.1.2-11]')
  if (!hasWill && (flags & 0x20) !== 0) {
    throw malformed('Will Retain is set without the Will Flag [MQTT-3.1.2-13] (3.1.1: [MQTT-3.1.2-15])')
  }
  if (willQos === 3) throw malformed('Will QoS is 3 [MQTT-3.1.2-14]')
  if (hasPassword && !hasUsername && version < 5) {
    throw malformed('the Password Flag is set without the User Name Flag [MQTT-3.1.2-22]')
  }
  r.u16('Keep Alive')
  if (version === 5) checkProperties(r, PropertyPlace.Connect, 'CONNECT')
  r.utf8('Client Identifier')
  let willPropertiesAt = -1
  if (hasWill) {
    if (version === 5) {
      willPropertiesAt = r.pos
      checkProperties(r, PropertyPlace.Will, 'Will Properties')
    }
    r.utf8('Will Topic')
    r.binary('Will Payload')
  }
  if (hasUsername) r.utf8('User Name')
  if (hasPassword) r.binary('Password')
  r.expectEnd('CONNECT')
  return willPropertiesAt
}

function checkProtocolNameAndLevel(r: ByteReader): ProtocolVersion {
  const nameLength = r.u16('Protocol Name')
  const nameStart = r.pos
  r.skip(nameLength, 'Protocol Name')
  const name = r.buffer.subarray(nameStart, r.pos)
  const isMqtt = name.equals(MQTT)
  if (!isMqtt && !name.equals(MQISDP)) {
    // [MQTT-3.1.2-1]: the server MAY disconnect; we do, without a CONNACK, since this is
    // probably not MQTT at all.
    throw malformed('the Protocol Name is neither "MQTT" nor "MQIsdp" [MQTT-3.1.2-1]')
  }
  const level = r.u8('Protocol Level')
  if (isMqtt && (level === 4 || level === 5)) return level
  if (!isMqtt && level === 3) return 3
  // Includes the 0x80 "bridge" bit some brokers use: not part of either specification.
  throw unsupportedProtocolVersion(level, isMqtt ? 'MQTT' : 'MQIsdp')
}

/**
 * Walk the body of any inbound packet but CONNECT. The fixed header was checked by the
 * decoder, so `type` is a type a client may send at this version.
 */
export function checkBody(r: ByteReader, type: number, flags: number, version: ProtocolVersion): void {
  switch (type) {
    case PacketType.Publish:
      return checkPublish(r, flags, version)
    case PacketType.Puback:
    case PacketType.Pubrec:
    case PacketType.Pubrel:
    case PacketType.Pubcomp:
      return checkAck(r, PACKET_NAMES[type] ?? 'ack', version)
    case PacketType.Subscribe:
      return checkSubscribe(r, version)
    case PacketType.Unsubscribe:
      return checkUnsubscribe(r, version)
    case PacketType.Pingreq:
      return r.expectEnd('PINGREQ')
    case PacketType.Disconnect:
      return checkReasonAndProperties(r, PropertyPlace.Disconnect, 'DISCONNECT', version)
    case PacketType.Auth:
      return checkReasonAndProperties(r, PropertyPlace.Auth, 'AUTH', version)
    default:
      throw malformed(`${PACKET_NAMES[type] ?? 'unknown'} packet cannot be decoded here`)
  }
}

function checkPacketId(r: ByteReader, where: string): void {
  if (r.u16('Packet Identifier') === 0) {
    throw protocolError(`${where} has Packet Identifier 0; it must be non-zero [MQTT-2.2.1-3]`)
  }
}

function checkPublish(r: ByteReader, flags: number, version: ProtocolVersion): void {
  // Topic Name syntax (wildcards, empty with a Topic Alias) is topic/'s and the handler's job.
  r.utf8('Topic Name')
  if ((flags & 0x06) !== 0) checkPacketId(r, 'PUBLISH')
  if (version === 5) checkProperties(r, PropertyPlace.Publish, 'PUBLISH')
  // The rest is the payload: arbitrary bytes, possibly none (section 3.3.3).
}

function checkAck(r: ByteReader, name: string, version: ProtocolVersion): void {
  checkPacketId(r, name)
  if (version === 5 && r.remaining > 0) {
    // A Remaining Length of 2 means Reason Code 0x00 and no properties; 3 means no properties
    // (5.0 section 3.4.2.1). Whether the code is one this packet may carry, mqtt-packet checks.
    r.u8('Reason Code')
    if (r.remaining > 0) checkProperties(r, PropertyPlace.Ack, name)
  }
  // 3.1.1: the Remaining Length is exactly 2 (sections 3.4.1 to 3.7.1).
  r.expectEnd(name)
}

function checkSubscribe(r: ByteReader, version: ProtocolVersion): void {
  checkPacketId(r, 'SUBSCRIBE')
  if (version === 5) checkProperties(r, PropertyPlace.Subscribe, 'SUBSCRIBE')
  if (r.remaining === 0) throw protocolError('SUBSCRIBE has no Topic Filter [MQTT-3.8.3-3]')
  while (r.remaining > 0) {
    r.utf8('Topic Filter')
    const options = r.u8('Subscription Options')
    if (version === 5) {
      if ((options & 0xc0) !== 0) throw malformed('reserved Subscription Options bits 6-7 are set [MQTT-3.8.3-5]')
      if ((options & 0x03) === 3) throw protocolError('a subscription asks for Maximum QoS 3 (5.0 section 3.8.3.1)')
      if ((options & 0x30) === 0x30) throw protocolError('a subscription has Retain Handling 3 (5.0 section 3.8.3.1)')
    } else if ((options & 0xfc) !== 0 || (options & 0x03) === 3) {
      // 3.1.1 [MQTT-3-8.3-4]: reserved bits or QoS 3 make the SUBSCRIBE malformed.
      throw malformed(`Requested QoS byte 0x${options.toString(16)} has reserved bits or QoS 3 set [MQTT-3-8.3-4]`)
    }
  }
}

function checkUnsubscribe(r: ByteReader, version: ProtocolVersion): void {
  checkPacketId(r, 'UNSUBSCRIBE')
  if (version === 5) checkProperties(r, PropertyPlace.Unsubscribe, 'UNSUBSCRIBE')
  if (r.remaining === 0) throw protocolError('UNSUBSCRIBE has no Topic Filter [MQTT-3.10.3-2]')
  while (r.remaining > 0) r.utf8('Topic Filter')
}

/** DISCONNECT and AUTH: at 5.0 an optional Reason Code, then optional properties. */
function checkReasonAndProperties(
  r: ByteReader, place: typeof PropertyPlace.Disconnect | typeof PropertyPlace.Auth,
  name: string, version: ProtocolVersion,
): void {
  if (version === 5 && r.remaining > 0) {
    r.u8('Reason Code')
    if (r.remaining > 0) checkProperties(r, place, name)
  }
  // 3.1.1 DISCONNECT has no variable header or payload (section 3.14).
  r.expectEnd(name)
}

/**
 * Narrow mqtt-packet's object to the packet the fixed header announced, without copying it.
 * The walk above already proved the layout; this checks mqtt-packet agrees on the type and
 * fills the gaps its objects have.
 */
export function toInboundPacket(parsed: unknown, type: number): InboundPacket {
  const cmd = CMD_BY_TYPE[type]
  if (typeof parsed !== 'object' || parsed === null || !('cmd' in parsed) || parsed.cmd !== cmd) {
    throw malformed(`mqtt-packet did not decode the ${PACKET_NAMES[type] ?? 'unknown'} frame as one`)
  }
  // Safe: `cmd` matches and the raw walk proved every field the type declares is present.
  const packet = parsed as InboundPacket
  if (packet.cmd === 'publish' && !Buffer.isBuffer(packet.payload)) packet.payload = Buffer.alloc(0)
  return packet
}
