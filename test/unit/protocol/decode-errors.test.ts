import t from 'tap'
import { Decoder, MqttError, UnsupportedProtocolVersionError } from '../../../src/protocol/index.js'
import type { ProtocolVersion } from '../../../src/protocol/index.js'
import { bytes, caught, decodeError, frame, newDecoder, props, raw, str, u16, u32, userProp } from './fixtures/helpers.js'

type Expect = readonly [code: string, reasonCode: number]
const MALFORMED: Expect = ['MQTT_MALFORMED_PACKET', 0x81]
const PROTOCOL: Expect = ['MQTT_PROTOCOL_ERROR', 0x82]
const TOO_LARGE: Expect = ['MQTT_PACKET_TOO_LARGE', 0x95]
const UNSUPPORTED: Expect = ['MQTT_UNSUPPORTED_PROTOCOL_VERSION', 0x84]
const ALIAS: Expect = ['MQTT_TOPIC_ALIAS_INVALID', 0x94]

interface Case { name: string; version?: ProtocolVersion; bytes: Buffer | Buffer[]; expect: Expect }

const MQTT = str('MQTT')
const connect4 = (flags: number, ...payload: Buffer[]): Buffer => frame(0x10, MQTT, 4, flags, u16(60), ...payload)
const connect5 = (flags: number, properties: Buffer, ...payload: Buffer[]): Buffer =>
  frame(0x10, MQTT, 5, flags, u16(60), properties, ...payload)
/** A 5.0 PUBLISH QoS 1 carrying the given property section. */
const publish5 = (properties: Buffer): Buffer => frame(0x32, str('t'), u16(1), properties, raw('x'))
/** A UTF-8 field with raw (possibly ill-formed) bytes inside. */
const badStr = (...b: number[]): Buffer => bytes(u16(b.length), b)

const INVALID_UTF8 = [0x61, 0xff, 0x62] // 0xff never appears in UTF-8
const SURROGATE = [0xed, 0xa0, 0x80] // U+D800 encoded as if it were a character
const OVERLONG_NUL = [0xc0, 0x80] // "modified UTF-8" U+0000
const NUL = [0x61, 0x00, 0x62]

const cases: Case[] = [
  // Fixed header
  { name: 'a Remaining Length of 5 bytes [MQTT-1.5.5-1]', version: 4, bytes: bytes(0x30, 0xff, 0xff, 0xff, 0xff, 0x01), expect: MALFORMED },
  { name: 'four Remaining Length bytes that all continue, before the fifth arrives', version: 4, bytes: bytes(0x30, 0x80, 0x80, 0x80, 0x80), expect: MALFORMED },
  { name: 'a non-minimal Remaining Length 0x80 0x00 [MQTT-1.5.5-1]', version: 4, bytes: bytes(0xc0, 0x80, 0x00), expect: MALFORMED },
  { name: 'a non-minimal Remaining Length at 5.0 [MQTT-1.5.5-1]', version: 5, bytes: bytes(0x30, 0x83, 0x80, 0x00), expect: MALFORMED },
  { name: 'packet type 0 (reserved)', version: 4, bytes: bytes(0x00, 0x00), expect: MALFORMED },
  { name: 'packet type 15 (AUTH) at 3.1.1', version: 4, bytes: bytes(0xf0, 0x00), expect: MALFORMED },
  { name: 'packet type 15 before any CONNECT', bytes: bytes(0xf0, 0x00), expect: MALFORMED },
  { name: 'PUBREL with fixed header flags 0 [MQTT-2.2.2-2]', version: 4, bytes: bytes(0x60, 0x02, 0x00, 0x01), expect: MALFORMED },
  { name: 'SUBSCRIBE with fixed header flags 0 [MQTT-2.2.2-2]', version: 4, bytes: frame(0x80, u16(1), str('a'), 0), expect: MALFORMED },
  { name: 'UNSUBSCRIBE with fixed header flags 0 [MQTT-2.2.2-2]', version: 4, bytes: frame(0xa0, u16(1), str('a')), expect: MALFORMED },
  { name: 'PUBACK with fixed header flags 2 [MQTT-2.2.2-2]', version: 4, bytes: bytes(0x42, 0x02, 0x00, 0x01), expect: MALFORMED },
  { name: 'CONNECT with fixed header flags 1 [MQTT-2.2.2-2]', bytes: bytes(0x11, 0x00), expect: MALFORMED },
  { name: 'PUBLISH with QoS 3 [MQTT-3.3.1-4]', version: 4, bytes: frame(0x36, str('t'), u16(1)), expect: MALFORMED },
  { name: 'PUBLISH with QoS 0 and DUP [MQTT-3.3.1-2]', version: 4, bytes: frame(0x38, str('t')), expect: MALFORMED },
  { name: 'CONNACK from a client', version: 4, bytes: bytes(0x20, 0x02, 0x00, 0x00), expect: PROTOCOL },
  { name: 'SUBACK from a client', version: 4, bytes: bytes(0x90, 0x03, 0x00, 0x01, 0x00), expect: PROTOCOL },
  { name: 'UNSUBACK from a client', version: 5, bytes: bytes(0xb0, 0x02, 0x00, 0x01), expect: PROTOCOL },
  { name: 'PINGRESP from a client', version: 4, bytes: bytes(0xd0, 0x00), expect: PROTOCOL },

  // CONNECT
  { name: 'CONNECT with protocol name "MQTX" [MQTT-3.1.2-1]', bytes: frame(0x10, str('MQTX'), 4, 0x02, u16(0), str('c')), expect: MALFORMED },
  { name: 'CONNECT "MQTT" level 6 [MQTT-3.1.2-2]', bytes: frame(0x10, MQTT, 6, 0x02, u16(0), str('c')), expect: UNSUPPORTED },
  { name: 'CONNECT "MQTT" level 3 [MQTT-3.1.2-2]', bytes: frame(0x10, MQTT, 3, 0x02, u16(0), str('c')), expect: UNSUPPORTED },
  { name: 'CONNECT "MQIsdp" level 4 [MQTT-3.1.2-2]', bytes: frame(0x10, str('MQIsdp'), 4, 0x02, u16(0), str('c')), expect: UNSUPPORTED },
  { name: 'CONNECT with the 0x80 bridge bit on the level [MQTT-3.1.2-2]', bytes: frame(0x10, MQTT, 0x84, 0x02, u16(0), str('c')), expect: UNSUPPORTED },
  { name: 'CONNECT from a future level whose rest does not parse as 3.1.1 or 5.0 [MQTT-3.1.2-2]', bytes: frame(0x10, MQTT, 7, 0xff, 0xff), expect: UNSUPPORTED },
  { name: 'CONNECT with the reserved flag set [MQTT-3.1.2-3]', bytes: connect4(0x03, str('c')), expect: MALFORMED },
  { name: 'CONNECT with Will QoS 3 [MQTT-3.1.2-14]', bytes: connect4(0x1e, str('c'), str('w'), str('p')), expect: MALFORMED },
  { name: 'CONNECT with Will QoS but no Will Flag [MQTT-3.1.2-11]', bytes: connect4(0x0a, str('c')), expect: MALFORMED },
  { name: 'CONNECT with Will Retain but no Will Flag [MQTT-3.1.2-13/15]', bytes: connect4(0x22, str('c')), expect: MALFORMED },
  { name: 'CONNECT 3.1.1 with a password but no user name [MQTT-3.1.2-22]', bytes: connect4(0x42, str('c'), str('pw')), expect: MALFORMED },
  { name: 'CONNECT with bytes after its last field', bytes: connect4(0x02, str('c'), bytes(0x00)), expect: MALFORMED },
  { name: 'CONNECT whose Client Identifier runs past the end', bytes: connect4(0x02, u16(5), raw('ab')), expect: MALFORMED },
  { name: 'CONNECT whose user name is missing although flagged', bytes: connect4(0x82, str('c')), expect: MALFORMED },
  { name: 'CONNECT with invalid UTF-8 in the Client Identifier [MQTT-1.5.4-1]', bytes: connect4(0x02, badStr(...INVALID_UTF8)), expect: MALFORMED },
  { name: 'CONNECT with an encoded surrogate ED A0 80 in the Client Identifier [MQTT-1.5.4-1]', bytes: connect4(0x02, badStr(...SURROGATE)), expect: MALFORMED },
  { name: 'CONNECT with U+0000 in the Client Identifier [MQTT-1.5.4-2]', bytes: connect4(0x02, badStr(...NUL)), expect: MALFORMED },
  { name: 'CONNECT with an overlong C0 80 in the user name [MQTT-1.5.4-1]', bytes: connect4(0x82, str('c'), badStr(...OVERLONG_NUL)), expect: MALFORMED },
  { name: 'CONNECT with U+0000 in the user name [MQTT-1.5.4-2]', bytes: connect4(0x82, str('c'), badStr(...NUL)), expect: MALFORMED },
  { name: 'CONNECT with invalid UTF-8 in the Will Topic [MQTT-1.5.4-1]', bytes: connect4(0x06, str('c'), badStr(...INVALID_UTF8), str('p')), expect: MALFORMED },
  { name: 'CONNECT with Receive Maximum 0', bytes: connect5(0x02, props(0x21, u16(0)), str('c')), expect: PROTOCOL },
  { name: 'CONNECT with Maximum Packet Size 0', bytes: connect5(0x02, props(0x27, u32(0)), str('c')), expect: PROTOCOL },
  { name: 'CONNECT with Request Problem Information 2', bytes: connect5(0x02, props(0x17, 2), str('c')), expect: PROTOCOL },
  { name: 'CONNECT with Authentication Data but no Authentication Method', bytes: connect5(0x02, props(0x16, str('d')), str('c')), expect: PROTOCOL },
  { name: 'CONNECT with Session Expiry Interval twice', bytes: connect5(0x02, props(0x11, u32(1), 0x11, u32(2)), str('c')), expect: PROTOCOL },
  { name: 'CONNECT with a Topic Alias property (not allowed in CONNECT)', bytes: connect5(0x02, props(0x23, u16(1)), str('c')), expect: MALFORMED },
  { name: 'CONNECT with Session Expiry Interval among the Will Properties', bytes: connect5(0x06, props(), str('c'), props(0x11, u32(1)), str('w'), str('p')), expect: MALFORMED },
  { name: 'CONNECT with invalid UTF-8 in a User Property name [MQTT-1.5.4-1]', bytes: connect5(0x02, props(0x26, badStr(...INVALID_UTF8), str('v')), str('c')), expect: MALFORMED },
  { name: 'CONNECT with U+0000 in a User Property value [MQTT-1.5.4-2]', bytes: connect5(0x02, props(0x26, str('k'), badStr(...NUL)), str('c')), expect: MALFORMED },

  // PUBLISH
  { name: 'PUBLISH with invalid UTF-8 in the topic [MQTT-1.5.4-1]', version: 4, bytes: frame(0x30, badStr(...INVALID_UTF8)), expect: MALFORMED },
  { name: 'PUBLISH with an encoded surrogate ED A0 80 in the topic [MQTT-1.5.4-1]', version: 5, bytes: frame(0x30, badStr(...SURROGATE), props()), expect: MALFORMED },
  { name: 'PUBLISH with U+0000 in the topic [MQTT-1.5.4-2]', version: 4, bytes: frame(0x30, badStr(...NUL), raw('x')), expect: MALFORMED },
  { name: 'PUBLISH QoS 1 with Packet Identifier 0 [MQTT-2.2.1-3]', version: 4, bytes: frame(0x32, str('t'), u16(0)), expect: PROTOCOL },
  { name: 'PUBLISH QoS 2 with Packet Identifier 0 [MQTT-2.2.1-3]', version: 5, bytes: frame(0x34, str('t'), u16(0), props()), expect: PROTOCOL },
  { name: 'PUBLISH QoS 1 that ends before its Packet Identifier', version: 4, bytes: frame(0x32, str('t'), 0x01), expect: MALFORMED },
  { name: 'PUBLISH with Message Expiry Interval twice', version: 5, bytes: publish5(props(0x02, u32(1), 0x02, u32(2))), expect: PROTOCOL },
  { name: 'PUBLISH with Content Type twice', version: 5, bytes: publish5(props(0x03, str('a'), 0x03, str('b'))), expect: PROTOCOL },
  { name: 'PUBLISH with Payload Format Indicator twice (both 0)', version: 5, bytes: publish5(props(0x01, 0, 0x01, 0)), expect: PROTOCOL },
  { name: 'PUBLISH with Session Expiry Interval (not allowed in PUBLISH)', version: 5, bytes: publish5(props(0x11, u32(1))), expect: MALFORMED },
  { name: 'PUBLISH with a CONNACK-only property (Maximum QoS)', version: 5, bytes: publish5(props(0x24, 1)), expect: MALFORMED },
  { name: 'PUBLISH from a client with a Subscription Identifier [MQTT-3.3.4-6]', version: 5, bytes: publish5(props(0x0b, 1)), expect: PROTOCOL },
  { name: 'PUBLISH with Topic Alias 0 [MQTT-3.3.2-8]', version: 5, bytes: publish5(props(0x23, u16(0))), expect: ALIAS },
  { name: 'PUBLISH with an unknown property identifier', version: 5, bytes: publish5(props(0x7f, 0)), expect: MALFORMED },
  { name: 'PUBLISH whose Property Length runs past the packet', version: 5, bytes: frame(0x30, str('t'), 0x09, 0x01), expect: MALFORMED },
  { name: 'PUBLISH whose property value runs past its section', version: 5, bytes: frame(0x30, str('t'), 0x02, 0x02, u32(1), raw('payload')), expect: MALFORMED },
  { name: 'PUBLISH with a non-minimal Property Length [MQTT-1.5.5-1]', version: 5, bytes: frame(0x30, str('t'), 0x80, 0x00), expect: MALFORMED },
  { name: 'PUBLISH with Payload Format Indicator 2', version: 5, bytes: publish5(props(0x01, 2)), expect: PROTOCOL },
  { name: 'PUBLISH with invalid UTF-8 in a User Property value [MQTT-1.5.4-1]', version: 5, bytes: publish5(props(0x26, str('k'), badStr(...SURROGATE))), expect: MALFORMED },
  { name: 'PUBLISH with U+0000 in a User Property name [MQTT-1.5.4-2]', version: 5, bytes: publish5(props(0x26, badStr(...NUL), str('v'))), expect: MALFORMED },
  { name: 'PUBLISH with invalid UTF-8 in the Content Type [MQTT-1.5.4-1]', version: 5, bytes: publish5(props(0x03, badStr(...INVALID_UTF8))), expect: MALFORMED },

  // PUBACK, PUBREC, PUBREL, PUBCOMP
  { name: '3.1.1 PUBACK with Remaining Length 3', version: 4, bytes: bytes(0x40, 0x03, 0x00, 0x01, 0x00), expect: MALFORMED },
  { name: '3.1.1 PUBACK with Remaining Length 1', version: 4, bytes: bytes(0x40, 0x01, 0x00), expect: MALFORMED },
  { name: 'PUBACK with Packet Identifier 0 [MQTT-2.2.1-3]', version: 4, bytes: bytes(0x40, 0x02, 0x00, 0x00), expect: PROTOCOL },
  { name: '5.0 PUBACK with a reason code PUBACK may not carry', version: 5, bytes: bytes(0x40, 0x03, 0x00, 0x01, 0x05), expect: PROTOCOL },
  { name: '5.0 PUBREL with a reason code PUBREL may not carry', version: 5, bytes: bytes(0x62, 0x03, 0x00, 0x01, 0x10), expect: PROTOCOL },
  { name: '5.0 PUBACK with a Topic Alias property', version: 5, bytes: frame(0x40, u16(1), 0x00, props(0x23, u16(1))), expect: MALFORMED },
  { name: '5.0 PUBCOMP with Reason String twice', version: 5, bytes: frame(0x70, u16(1), 0x00, props(0x1f, str('a'), 0x1f, str('b'))), expect: PROTOCOL },
  { name: '5.0 PUBREC with a byte after its properties', version: 5, bytes: frame(0x50, u16(1), 0x00, props(), 0x00), expect: MALFORMED },

  // SUBSCRIBE
  { name: '3.1.1 SUBSCRIBE with no Topic Filter [MQTT-3.8.3-3]', version: 4, bytes: frame(0x82, u16(1)), expect: PROTOCOL },
  { name: '5.0 SUBSCRIBE with no Topic Filter [MQTT-3.8.3-3]', version: 5, bytes: frame(0x82, u16(1), props()), expect: PROTOCOL },
  { name: 'SUBSCRIBE with Packet Identifier 0 [MQTT-2.2.1-3]', version: 4, bytes: frame(0x82, u16(0), str('a'), 0), expect: PROTOCOL },
  { name: '5.0 SUBSCRIBE with reserved option bits 6-7 set [MQTT-3.8.3-5]', version: 5, bytes: frame(0x82, u16(1), props(), str('a'), 0x40), expect: MALFORMED },
  { name: '3.1.1 SUBSCRIBE with a reserved option bit set [MQTT-3-8.3-4]', version: 4, bytes: frame(0x82, u16(1), str('a'), 0x04), expect: MALFORMED },
  { name: '5.0 SUBSCRIBE asking for QoS 3', version: 5, bytes: frame(0x82, u16(1), props(), str('a'), 0x03), expect: PROTOCOL },
  { name: '3.1.1 SUBSCRIBE asking for QoS 3 [MQTT-3-8.3-4]', version: 4, bytes: frame(0x82, u16(1), str('a'), 0x03), expect: MALFORMED },
  { name: '5.0 SUBSCRIBE with Retain Handling 3', version: 5, bytes: frame(0x82, u16(1), props(), str('a'), 0x30), expect: PROTOCOL },
  { name: '5.0 SUBSCRIBE with Subscription Identifier 0', version: 5, bytes: frame(0x82, u16(1), props(0x0b, 0), str('a'), 0), expect: PROTOCOL },
  { name: '5.0 SUBSCRIBE with Subscription Identifier twice', version: 5, bytes: frame(0x82, u16(1), props(0x0b, 1, 0x0b, 2), str('a'), 0), expect: PROTOCOL },
  { name: '5.0 SUBSCRIBE with a non-minimal Subscription Identifier [MQTT-1.5.5-1]', version: 5, bytes: frame(0x82, u16(1), props(0x0b, 0x81, 0x00), str('a'), 0), expect: MALFORMED },
  { name: 'SUBSCRIBE whose last filter has no options byte', version: 4, bytes: frame(0x82, u16(1), str('a'), 0, str('b')), expect: MALFORMED },
  { name: 'SUBSCRIBE with invalid UTF-8 in a Topic Filter [MQTT-1.5.4-1]', version: 4, bytes: frame(0x82, u16(1), badStr(...INVALID_UTF8), 0), expect: MALFORMED },
  { name: 'SUBSCRIBE with U+0000 in a Topic Filter [MQTT-1.5.4-2]', version: 5, bytes: frame(0x82, u16(1), props(), badStr(...NUL), 0), expect: MALFORMED },

  // UNSUBSCRIBE
  { name: '3.1.1 UNSUBSCRIBE with no Topic Filter [MQTT-3.10.3-2]', version: 4, bytes: frame(0xa2, u16(1)), expect: PROTOCOL },
  { name: '5.0 UNSUBSCRIBE with no Topic Filter [MQTT-3.10.3-2]', version: 5, bytes: frame(0xa2, u16(1), props(userProp('k', 'v'))), expect: PROTOCOL },
  { name: 'UNSUBSCRIBE with invalid UTF-8 in a Topic Filter [MQTT-1.5.4-1]', version: 4, bytes: frame(0xa2, u16(1), badStr(...SURROGATE)), expect: MALFORMED },
  { name: '5.0 UNSUBSCRIBE with a Subscription Identifier (not allowed)', version: 5, bytes: frame(0xa2, u16(1), props(0x0b, 1), str('a')), expect: MALFORMED },

  // PINGREQ, DISCONNECT, AUTH
  { name: 'PINGREQ with a body', version: 4, bytes: bytes(0xc0, 0x01, 0x00), expect: MALFORMED },
  { name: '3.1.1 DISCONNECT with a body', version: 4, bytes: bytes(0xe0, 0x01, 0x00), expect: MALFORMED },
  { name: '5.0 DISCONNECT with a reason code DISCONNECT may not carry', version: 5, bytes: bytes(0xe0, 0x01, 0x03), expect: PROTOCOL },
  { name: '5.0 DISCONNECT with a Topic Alias property', version: 5, bytes: frame(0xe0, 0x00, props(0x23, u16(1))), expect: MALFORMED },
  { name: '5.0 AUTH with a reason code AUTH may not carry', version: 5, bytes: bytes(0xf0, 0x01, 0x01), expect: PROTOCOL },
  { name: '5.0 AUTH with Session Expiry Interval (not allowed in AUTH)', version: 5, bytes: frame(0xf0, 0x18, props(0x11, u32(1))), expect: MALFORMED },
]

/** Where a case name says why, the message must say the same (not just the same code). */
const WHY: [RegExp, RegExp][] = [
  [/invalid UTF-8|surrogate|overlong/, /not well-formed UTF-8 \[MQTT-1\.5\.4-1\]/],
  [/U\+0000/, /contains U\+0000 \[MQTT-1\.5\.4-2\]/],
  [/non-minimal/, /minimum number of bytes \[MQTT-1\.5\.5-1\]/],
  [/twice/, /more than once/],
  [/not allowed|CONNACK-only/, /is not allowed in/],
  [/Packet Identifier 0/, /Packet Identifier 0/],
  [/no Topic Filter/, /no Topic Filter/],
]

for (const c of cases) {
  t.test(`rejects ${c.name}`, async (t) => {
    const err = decodeError(c.bytes, c.version)
    t.equal(err.code, c.expect[0], 'code')
    t.equal(err.reasonCode, c.expect[1], 'reasonCode')
    for (const [about, why] of WHY) if (about.test(c.name)) t.match(err.message, why, 'for the right reason')
  })
}

t.test('rejects an unsupported level with the level attached, so the CONNACK can answer it [MQTT-3.1.2-2]', async (t) => {
  const err = decodeError(frame(0x10, MQTT, 6, 0x02, u16(0), str('c')))
  t.ok(err instanceof UnsupportedProtocolVersionError)
  t.equal(err instanceof UnsupportedProtocolVersionError ? err.protocolLevel : undefined, 6)
})

t.test('refuses a 256 MB packet from its header alone, before any body arrives', async (t) => {
  const d = newDecoder(4, 1024)
  d.push(bytes(0x30), () => t.fail('no packet'))
  d.push(bytes(0xff, 0xff), () => t.fail('no packet'))
  const err = caught(() => { d.push(bytes(0xff, 0x7f), () => t.fail('no packet')) })
  t.equal(err.code, TOO_LARGE[0])
  t.equal(err.reasonCode, TOO_LARGE[1])
  t.match(err.message, /268435460 bytes exceeds the maximum packet size of 1024/)
})

t.test('refuses a packet one byte over maxPacketSize, counting the fixed header', async (t) => {
  const p = frame(0x30, str('t'), Buffer.alloc(100))
  const err = decodeError(p, 4, p.length - 1)
  t.equal(err.code, TOO_LARGE[0])
  t.equal(err.reasonCode, TOO_LARGE[1])
})

t.test('rejects the header of a bad packet before its body arrives', async (t) => {
  const err = caught(() => { newDecoder(4).push(bytes(0x60, 0x7f), () => undefined) })
  t.equal(err.code, MALFORMED[0], 'PUBREL with flags 0 is refused from 2 bytes of 129')
})

t.test('after an error every later push throws the same MqttError', async (t) => {
  const d = newDecoder(4)
  const first = caught(() => { d.push(bytes(0x00, 0x00), () => undefined) })
  const again = caught(() => { d.push(bytes(0xc0, 0x00), () => t.fail('decoder must stay stopped')) })
  t.equal(again, first)
})

t.test('an exception thrown by onPacket propagates unchanged and stops the decoder', async (t) => {
  const d = newDecoder(4)
  const boom = new TypeError('handler bug')
  t.throws(() => { d.push(bytes(0xc0, 0x00, 0xc0, 0x00), () => { throw boom }) }, boom)
  const err = caught(() => { d.push(bytes(0xc0, 0x00), () => undefined) })
  t.equal(err.code, 'MQTT_DECODER_STOPPED')
  t.ok(err instanceof MqttError)
})

t.test('rejects maxPacketSize values that cannot work', async (t) => {
  t.throws(() => new Decoder({ maxPacketSize: 1 }), RangeError)
  t.throws(() => new Decoder({ maxPacketSize: Number.NaN }), RangeError)
})
