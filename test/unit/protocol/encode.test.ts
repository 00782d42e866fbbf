import t from 'tap'
import {
  encode, encodePublish, encodePublishHead, MqttError, patchMessageId, publishForSubscriber, publishMessageIdOffset, setPublishDup,
  setPublishRetain,
} from '../../../src/protocol/index.js'
import type { OutboundPacket, ProtocolVersion, PublishPacket, UserPropertyList } from '../../../src/protocol/index.js'
import { FIXTURES } from './fixtures/packets.js'
import { bytes, decode, frame, props, raw, reencode, str, u16, u32, userProp, view } from './fixtures/helpers.js'

interface EncodeCase { name: string; version: ProtocolVersion; packet: OutboundPacket; bytes: Buffer }

const publish = (over: Partial<PublishPacket> = {}): PublishPacket =>
  ({ cmd: 'publish', topic: 'a/b', payload: raw('hi'), qos: 0, retain: false, dup: false, ...over })

const encodeCases: EncodeCase[] = [
  // 5.0
  {
    name: '5.0 CONNACK with properties',
    version: 5,
    packet: {
      cmd: 'connack', sessionPresent: true, reasonCode: 0,
      properties: { assignedClientIdentifier: 'auto-1', topicAliasMaximum: 10, receiveMaximum: 100, maximumQoS: 1, retainAvailable: true },
    },
    bytes: frame(0x20, 0x01, 0x00, props(0x12, str('auto-1'), 0x22, u16(10), 0x21, u16(100), 0x24, 1, 0x25, 1)),
  },
  {
    name: '5.0 CONNACK refusal clears Session Present [MQTT-3.2.2-6]',
    version: 5,
    packet: { cmd: 'connack', sessionPresent: true, reasonCode: 0x87 },
    bytes: bytes(0x20, 0x03, 0x00, 0x87, 0x00),
  },
  {
    name: '5.0 PUBLISH QoS 0 keeps User Property order, repeats included [MQTT-3.3.2-18]',
    version: 5,
    packet: publish({ properties: { userProperties: [['z', '1'], ['a', '2'], ['a', '3'], ['m', '4']], contentType: 'ct' } }),
    bytes: frame(0x30, str('a/b'), props(userProp('z', '1'), userProp('a', '2'), userProp('a', '3'), userProp('m', '4'), 0x03, str('ct')), raw('hi')),
  },
  {
    name: '5.0 PUBLISH QoS 1 retained with Message Expiry and Subscription Identifiers',
    version: 5,
    packet: publish({ qos: 1, retain: true, messageId: 42, properties: { messageExpiryInterval: 9, subscriptionIdentifier: [1, 300] } }),
    bytes: frame(0x33, str('a/b'), u16(42), props(0x02, u32(9), 0x0b, 1, 0x0b, 0xac, 0x02), raw('hi')),
  },
  {
    name: '5.0 PUBLISH QoS 2 DUP with a Topic Alias and an empty topic',
    version: 5,
    packet: publish({ qos: 2, dup: true, topic: '', messageId: 7, properties: { topicAlias: 2 } }),
    bytes: frame(0x3c, str(''), u16(7), props(0x23, u16(2)), raw('hi')),
  },
  { name: '5.0 PUBACK without a reason code uses the short form', version: 5, packet: { cmd: 'puback', messageId: 5 }, bytes: bytes(0x40, 0x02, 0x00, 0x05) },
  { name: '5.0 PUBACK success uses the short form', version: 5, packet: { cmd: 'puback', messageId: 5, reasonCode: 0 }, bytes: bytes(0x40, 0x02, 0x00, 0x05) },
  { name: '5.0 PUBACK No matching subscribers', version: 5, packet: { cmd: 'puback', messageId: 5, reasonCode: 0x10 }, bytes: bytes(0x40, 0x04, 0x00, 0x05, 0x10, 0x00) },
  {
    name: '5.0 PUBREL with a reason code and Reason String',
    version: 5,
    packet: { cmd: 'pubrel', messageId: 6, reasonCode: 0x92, properties: { reasonString: 'unknown id' } },
    bytes: frame(0x62, u16(6), 0x92, props(0x1f, str('unknown id'))),
  },
  {
    name: '5.0 SUBACK keeps its reason codes',
    version: 5,
    packet: { cmd: 'suback', messageId: 3, granted: [0, 1, 2, 0x80, 0x87, 0x91] },
    bytes: frame(0x90, u16(3), props(), 0, 1, 2, 0x80, 0x87, 0x91),
  },
  { name: '5.0 UNSUBACK keeps its reason codes', version: 5, packet: { cmd: 'unsuback', messageId: 4, granted: [0x00, 0x11] }, bytes: frame(0xb0, u16(4), props(), 0x00, 0x11) },
  { name: '5.0 PINGRESP', version: 5, packet: { cmd: 'pingresp' }, bytes: bytes(0xd0, 0x00) },
  { name: '5.0 DISCONNECT success uses Remaining Length 0', version: 5, packet: { cmd: 'disconnect' }, bytes: bytes(0xe0, 0x00) },
  {
    name: '5.0 DISCONNECT Session taken over with a Reason String',
    version: 5,
    packet: { cmd: 'disconnect', reasonCode: 0x8e, properties: { reasonString: 'bye' } },
    bytes: frame(0xe0, 0x8e, props(0x1f, str('bye'))),
  },
  {
    name: '5.0 AUTH',
    version: 5,
    packet: { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM' } },
    bytes: frame(0xf0, 0x18, props(0x15, str('SCRAM'))),
  },
  // 3.1.1 and 3.1: the down-mapping
  ...([[0x00, 0], [0x84, 1], [0x85, 2], [0x88, 3], [0x86, 4], [0x87, 5], [0x80, 3], [0x89, 3]] as const).map(([code, rc]) => ({
    name: `3.1.1 CONNACK maps reason code 0x${code.toString(16)} to return code ${rc}`,
    version: 4 as const,
    packet: { cmd: 'connack' as const, sessionPresent: false, reasonCode: code },
    bytes: bytes(0x20, 0x02, 0x00, rc),
  })),
  { name: '3.1 CONNACK maps 0x86 to return code 4', version: 3, packet: { cmd: 'connack', sessionPresent: false, reasonCode: 0x86 }, bytes: bytes(0x20, 0x02, 0x00, 0x04) },
  {
    name: '3.1.1 CONNACK keeps Session Present on success and drops properties',
    version: 4,
    packet: { cmd: 'connack', sessionPresent: true, reasonCode: 0, properties: { topicAliasMaximum: 5 } },
    bytes: bytes(0x20, 0x02, 0x01, 0x00),
  },
  {
    name: '3.1.1 CONNACK refusal clears Session Present [MQTT-3.2.2-4]',
    version: 4,
    packet: { cmd: 'connack', sessionPresent: true, reasonCode: 0x87 },
    bytes: bytes(0x20, 0x02, 0x00, 0x05),
  },
  {
    name: '3.1.1 PUBLISH drops 5.0 properties',
    version: 4,
    packet: publish({ qos: 1, messageId: 1, properties: { userProperties: [['k', 'v']], messageExpiryInterval: 1 } }),
    bytes: frame(0x32, str('a/b'), u16(1), raw('hi')),
  },
  { name: '3.1.1 PUBACK drops the reason code and properties', version: 4, packet: { cmd: 'puback', messageId: 1, reasonCode: 0x10, properties: { reasonString: 'x' } }, bytes: bytes(0x40, 0x02, 0x00, 0x01) },
  { name: '3.1.1 PUBREC drops the reason code', version: 4, packet: { cmd: 'pubrec', messageId: 2, reasonCode: 0x80 }, bytes: bytes(0x50, 0x02, 0x00, 0x02) },
  { name: '3.1.1 PUBREL drops the reason code', version: 4, packet: { cmd: 'pubrel', messageId: 3, reasonCode: 0x92 }, bytes: bytes(0x62, 0x02, 0x00, 0x03) },
  { name: '3.1.1 PUBCOMP', version: 4, packet: { cmd: 'pubcomp', messageId: 4 }, bytes: bytes(0x70, 0x02, 0x00, 0x04) },
  {
    name: '3.1.1 SUBACK maps every failure to 0x80 [MQTT-3.9.3-2]',
    version: 4,
    packet: { cmd: 'suback', messageId: 9, granted: [0, 1, 2, 0x80, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2], properties: { reasonString: 'x' } },
    bytes: frame(0x90, u16(9), 0, 1, 2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80),
  },
  { name: '3.1 SUBACK maps failures to 0x80', version: 3, packet: { cmd: 'suback', messageId: 9, granted: [1, 0x87] }, bytes: frame(0x90, u16(9), 1, 0x80) },
  { name: '3.1.1 UNSUBACK carries no reason codes', version: 4, packet: { cmd: 'unsuback', messageId: 4, granted: [0x11] }, bytes: bytes(0xb0, 0x02, 0x00, 0x04) },
  { name: '3.1.1 PINGRESP', version: 4, packet: { cmd: 'pingresp' }, bytes: bytes(0xd0, 0x00) },
  { name: '3.1.1 DISCONNECT from the server encodes to nothing (3.1.1 has no server DISCONNECT)', version: 4, packet: { cmd: 'disconnect', reasonCode: 0x8e }, bytes: bytes() },
  { name: '3.1 DISCONNECT from the server encodes to nothing', version: 3, packet: { cmd: 'disconnect' }, bytes: bytes() },
]

for (const c of encodeCases) {
  t.test(`encodes ${c.name}`, async (t) => {
    t.equal(encode(c.packet, c.version).toString('hex'), c.bytes.toString('hex'))
  })
}

t.test('encode does not mutate the packet it is given', async (t) => {
  const packet: OutboundPacket = { cmd: 'suback', messageId: 1, granted: [0x87] }
  encode(packet, 4)
  t.same(packet.granted, [0x87])
  const connack: OutboundPacket = { cmd: 'connack', sessionPresent: true, reasonCode: 0x87 }
  encode(connack, 5)
  t.equal(connack.sessionPresent, true)
})

t.test('refuses to encode AUTH for a 3.1.1 client (a broker bug, not an MqttError)', async (t) => {
  const err = t.throws(() => encode({ cmd: 'auth', reasonCode: 0x18 }, 4))
  t.notOk(err instanceof MqttError)
})

t.test('round trip: decode then encode gives the packet back, byte-exact where canonical', async (t) => {
  for (const f of FIXTURES) {
    const [packet] = decode(f.bytes, f.version)
    if (packet === undefined) throw new Error(`${f.name}: nothing decoded`)
    const version = f.version ?? (packet.cmd === 'connect' ? packet.protocolVersion : 4)
    if (packet.cmd === 'connect' && packet.password !== undefined && packet.username === undefined) {
      continue // mqtt-packet's generate refuses a password without a user name, which 5.0 allows
    }
    const again = reencode(packet, version)
    if (f.canonical) t.equal(again.toString('hex'), f.bytes.toString('hex'), `${f.name}: same bytes`)
    t.same(decode(again, f.version).map(view), [view(packet)], `${f.name}: same packet`)
  }
})

t.test('keeps the order of interleaved User Properties (z, a, z) from decode to encode [MQTT-3.3.2-18]', async (t) => {
  const original = frame(0x30, str('t'), props(userProp('z', '1'), userProp('a', '2'), userProp('z', '3')))
  const [packet] = decode(original, 5)
  if (packet?.cmd !== 'publish') throw new Error('expected PUBLISH')
  t.strictSame(packet.properties?.userProperties, [['z', '1'], ['a', '2'], ['z', '3']], 'decoded as an ordered list')
  t.equal(encode(packet, 5).toString('hex'), original.toString('hex'), 'encoded in the same order')
  t.equal(Buffer.concat([encodePublishHead(packet, 5), packet.payload]).toString('hex'), original.toString('hex'), 'head-only form too')
})

t.test('keeps the order of a will\'s interleaved User Properties (z, a, z) [MQTT-3.3.2-18]', async (t) => {
  const connect = frame(0x10, str('MQTT'), 5, 0x06, u16(0), props(), str('c'),
    props(0x18, u32(5), userProp('z', '1'), userProp('a', '2'), userProp('z', '3')), str('w/t'), str('bye'))
  const [packet] = decode(connect)
  if (packet?.cmd !== 'connect') throw new Error('expected CONNECT')
  t.strictSame(packet.will?.properties, { willDelayInterval: 5, userProperties: [['z', '1'], ['a', '2'], ['z', '3']] })
})

t.test('encodes every PUBLISH property the broker forwards, byte-exact', async (t) => {
  const packet = publish({
    qos: 1, messageId: 9,
    properties: {
      payloadFormatIndicator: true, messageExpiryInterval: 70_000, contentType: 'text/é', responseTopic: 'r/t',
      correlationData: Buffer.from([0, 1, 2]), userProperties: [['b', ''], ['a', 'é']], subscriptionIdentifier: [5, 268_435_455],
      topicAlias: 300,
    },
  })
  const expected = frame(0x32, str('a/b'), u16(9), props(
    0x01, 1, 0x02, u32(70_000), 0x03, str('text/é'), 0x08, str('r/t'), 0x09, str(bytes(0, 1, 2)),
    userProp('b', ''), userProp('a', 'é'), 0x0b, 5, 0x0b, 0xff, 0xff, 0xff, 0x7f, 0x23, u16(300),
  ), raw('hi'))
  t.equal(encode(packet, 5).toString('hex'), expected.toString('hex'))
  t.equal(encodePublish({ ...packet, properties: { contentType: undefined } }, 5).toString('hex'),
    frame(0x32, str('a/b'), u16(9), props(), raw('hi')).toString('hex'), 'properties that are all undefined: an empty section')
})

t.test('fan-out: the Packet Identifier offset is where the id is, at every QoS and version', async (t) => {
  const long = Buffer.alloc(300, 0x61) // Remaining Length takes 2 bytes
  for (const version of [3, 4, 5] as const) {
    for (const qos of [0, 1, 2] as const) {
      for (const payload of [raw('x'), long]) {
        const p = publish({ qos, payload, topic: 'fan/out/é', properties: { userProperties: [['k', 'v']] }, ...(qos > 0 ? { messageId: 0x1234 } : {}) })
        const buf = encodePublish(p, version)
        const offset = publishMessageIdOffset(buf)
        if (qos === 0) t.equal(offset, -1, `v${version} QoS 0: no Packet Identifier`)
        else t.equal(buf.readUInt16BE(offset), 0x1234, `v${version} QoS ${qos}, ${payload.length}-byte payload`)
      }
    }
  }
})

t.test('fan-out: patching id, DUP and RETAIN gives bytes that decode as the patched packet', async (t) => {
  const template = encodePublish(publish({ qos: 2, retain: true, properties: { contentType: 'c' } }), 5)
  const offset = publishMessageIdOffset(template)
  t.equal(template.readUInt16BE(offset), 0, 'QoS 2 without messageId gets a 0 placeholder')
  const mine = Buffer.from(template)
  patchMessageId(mine, offset, 65535)
  setPublishDup(mine, true)
  setPublishRetain(mine, false)
  const [p] = decode(mine, 5)
  t.same(p && view(p), { cmd: 'publish', retain: false, qos: 2, dup: true, topic: 'a/b', messageId: 65535, payload: { buffer: raw('hi').toString('hex') }, properties: { contentType: 'c' } })
  setPublishDup(mine, false)
  t.equal(mine.readUInt8(0) & 0x08, 0, 'DUP cleared')
  t.equal(template.readUInt16BE(offset), 0, 'the template is untouched')
})

t.test('fan-out: invalid patches are refused [MQTT-2.2.1-3] [MQTT-3.3.1-2]', async (t) => {
  const qos1 = encodePublish(publish({ qos: 1, messageId: 1 }), 4)
  t.throws(() => patchMessageId(qos1, publishMessageIdOffset(qos1), 0), RangeError)
  t.throws(() => patchMessageId(qos1, publishMessageIdOffset(qos1), 65536), RangeError)
  t.throws(() => setPublishDup(encodePublish(publish(), 4), true), RangeError)
  t.throws(() => publishMessageIdOffset(encode({ cmd: 'pingresp' }, 4)), RangeError)
})

t.test('fan-out: publishForSubscriber shares QoS 0 bytes and copies only when patching', async (t) => {
  const qos0 = encodePublish(publish({ retain: true }), 4)
  t.equal(publishForSubscriber(qos0, undefined, true), qos0, 'same RETAIN at QoS 0: the very same Buffer')
  const cleared = publishForSubscriber(qos0, undefined, false)
  t.not(cleared, qos0)
  t.equal(qos0.readUInt8(0) & 0x01, 1, 'shared bytes keep RETAIN')
  t.equal(cleared.readUInt8(0) & 0x01, 0, 'the copy has RETAIN cleared [MQTT-3.3.1-12]')

  const qos1 = encodePublish(publish({ qos: 1 }), 5)
  const a = publishForSubscriber(qos1, 10, false)
  const b = publishForSubscriber(qos1, 11, false)
  t.same(decode([a, b], 5).map((p) => (p.cmd === 'publish' ? p.messageId : undefined)), [10, 11])
  t.throws(() => publishForSubscriber(qos1, undefined, false), RangeError)
})

t.test('encodePublishHead + the payload are exactly encodePublish\'s bytes, with and without properties', async (t) => {
  const big = Buffer.alloc(70_000, 0x61)
  const cases: Array<[string, PublishPacket, ProtocolVersion]> = [
    ['3.1.1 QoS 0', publish({ payload: big }), 4],
    ['3.1.1 QoS 1, retained', publish({ payload: big, qos: 1, messageId: 7, retain: true }), 4],
    ['5.0 QoS 2 without properties', publish({ payload: big, qos: 2, messageId: 9 }), 5],
    ['5.0 QoS 1 with properties', publish({ payload: big, qos: 1, messageId: 3, properties: { contentType: 'c', userProperties: [['k', 'v']] } }), 5],
    ['5.0 empty payload', publish({ payload: Buffer.alloc(0) }), 5],
  ]
  for (const [name, packet, version] of cases) {
    const head = encodePublishHead(packet, version)
    t.same(Buffer.concat([head, packet.payload]), encodePublish(packet, version), name)
  }
})

t.test('a message stored before User Properties were a list (mqtt-packet\'s folded object) still encodes', async (t) => {
  // What a LevelDB data dir written by an earlier version holds for { z: ['1', '3'], a: '2' }.
  const legacy = { z: ['1', '3'], a: '2' } as unknown as UserPropertyList
  const bytes = encodePublish(publish({ properties: { userProperties: legacy } }), 5)
  t.equal(bytes.toString('hex'), frame(0x30, str('a/b'), props(userProp('z', '1'), userProp('z', '3'), userProp('a', '2')), raw('hi')).toString('hex'))
})
