import t from 'tap'
import {
  assertHealthy, connectPacket, connected, disconnectPacket, expectClose, expectRefusal, hex, openRaw, props,
  publishPacket, subscribePacket, wireBroker,
} from '../helpers/raw.js'

/*
 * c2b: UTF-8 Encoded Strings that are not well-formed UTF-8, or contain U+0000. 3.1.1
 * [MQTT-1.5.3-1] [MQTT-1.5.3-2] and 5.0 [MQTT-1.5.4-1] [MQTT-1.5.4-2]: the receiver closes the
 * connection (5.0: Malformed Packet, DISCONNECT 0x81 once connected). A bad CONNECT gets a
 * plain close: there is no session to tell, and the CONNECT cannot be trusted.
 */

const { b, healthy } = await wireBroker(t)

const bad: Array<{ name: string; bytes: number[]; tag: Record<4 | 5, string> }> = [
  { name: 'ill-formed UTF-8 (0xFF)', bytes: [0x61, 0xff, 0x62], tag: { 4: 'MQTT-1.5.3-1', 5: 'MQTT-1.5.4-1' } },
  { name: 'an encoded surrogate (ED A0 80)', bytes: [0x61, 0xed, 0xa0, 0x80], tag: { 4: 'MQTT-1.5.3-1', 5: 'MQTT-1.5.4-1' } },
  { name: 'an overlong encoding (C0 AF)', bytes: [0x61, 0xc0, 0xaf], tag: { 4: 'MQTT-1.5.3-1', 5: 'MQTT-1.5.4-1' } },
  { name: 'U+0000', bytes: [0x61, 0x00, 0x62], tag: { 4: 'MQTT-1.5.3-2', 5: 'MQTT-1.5.4-2' } },
]

let n = 0
for (const version of [4, 5] as const) {
  for (const s of bad) {
    const tag = s.tag[version]
    const str = Buffer.from(s.bytes)

    t.test(`c2b: v${version} ${s.name} in the Client Identifier closes the connection [${tag}]`, async (t) => {
      const raw = await openRaw(t, b.port)
      raw.send(connectPacket({ version, clientId: str }))
      await expectClose(t, raw)
    })

    t.test(`c2b: v${version} ${s.name} in the User Name closes the connection [${tag}]`, async (t) => {
      const raw = await openRaw(t, b.port)
      raw.send(connectPacket({ version, clientId: `user-${version}`, username: str }))
      await expectClose(t, raw)
    })

    t.test(`c2b: v${version} ${s.name} in the Will Topic closes the connection [${tag}]`, async (t) => {
      const raw = await openRaw(t, b.port)
      raw.send(connectPacket({ version, clientId: `will-${version}`, will: { topic: str } }))
      await expectClose(t, raw)
    })

    t.test(`c2b: v${version} ${s.name} in a PUBLISH Topic Name closes the connection [${tag}]`, async (t) => {
      const { raw } = await connected(t, b.port, { version, clientId: `utf8-pub-${n++}` })
      raw.send(publishPacket({ version, topic: str, qos: 1, id: 1, payload: 'x' }))
      await expectRefusal(t, raw, version, 0x81)
    })

    t.test(`c2b: v${version} ${s.name} in a SUBSCRIBE Topic Filter closes the connection [${tag}]`, async (t) => {
      const { raw } = await connected(t, b.port, { version, clientId: `utf8-sub-${n++}` })
      raw.send(subscribePacket({ version, filters: [[str, 0]] }))
      await expectRefusal(t, raw, version, 0x81)
    })
  }

  t.test(`c2b: v${version} well-formed multi-byte UTF-8 and U+FFFD in a topic are accepted`, async (t) => {
    const { raw } = await connected(t, b.port, { version, clientId: `utf8-ok-${version}` })
    raw.send(subscribePacket({ version, id: 2, filters: [['température/€/\uFFFD', 0]] }))
    t.equal(hex(await raw.readPacket()), version === 5 ? '90 04 00 02 00 00' : '90 03 00 02 00', 'SUBACK granted QoS 0')
    raw.send(publishPacket({ version, topic: 'température/€/\uFFFD', payload: 'ok' }))
    const got = await raw.readPacket()
    t.equal(got[0], 0x30, 'the message comes back: a PUBLISH')
    t.ok(got.includes(Buffer.from('température/€/\uFFFD')), 'with the topic intact')
  })
}

/*
 * 5.0 properties are UTF-8 Encoded Strings too (User Property: a pair of them) [MQTT-1.5.4-1]
 * [MQTT-1.5.4-2]: a bad one in CONNECT or in a will closes the connection without a reply; in a
 * later packet, DISCONNECT 0x81.
 */
const userProperty = (key: Buffer, value: Buffer): Buffer => Buffer.concat([Buffer.from([0x26]), strBytes(key), strBytes(value)])
const stringProperty = (id: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([id]), strBytes(value)])
function strBytes(b: Buffer): Buffer {
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b])
}

for (const s of bad) {
  const tag = s.tag[5]
  const value = Buffer.from(s.bytes)
  const ok = Buffer.from('ok')
  const inProps = [
    { where: 'a User Property name', bytes: userProperty(value, ok) },
    { where: 'a User Property value', bytes: userProperty(ok, value) },
  ]
  for (const { where, bytes } of inProps) {
    t.test(`c2b: v5 ${s.name} in ${where} of CONNECT closes the connection [${tag}]`, async (t) => {
      const raw = await openRaw(t, b.port)
      raw.send(connectPacket({ version: 5, clientId: `prop-c-${n++}`, properties: props(bytes) }))
      await expectClose(t, raw)
    })
    t.test(`c2b: v5 ${s.name} in ${where} of PUBLISH gets DISCONNECT 0x81 [${tag}]`, async (t) => {
      const { raw } = await connected(t, b.port, { version: 5, clientId: `prop-p-${n++}` })
      raw.send(publishPacket({ version: 5, topic: 'a/b', qos: 1, id: 1, payload: 'x', properties: props(bytes) }))
      await expectRefusal(t, raw, 5, 0x81)
    })
    t.test(`c2b: v5 ${s.name} in ${where} of SUBSCRIBE gets DISCONNECT 0x81 [${tag}]`, async (t) => {
      const { raw } = await connected(t, b.port, { version: 5, clientId: `prop-s-${n++}` })
      raw.send(subscribePacket({ version: 5, filters: [['a/b', 0]], properties: props(bytes) }))
      await expectRefusal(t, raw, 5, 0x81)
    })
  }
  t.test(`c2b: v5 ${s.name} in a PUBLISH Content Type and Response Topic gets DISCONNECT 0x81 [${tag}]`, async (t) => {
    for (const id of [0x03, 0x08]) {
      const { raw } = await connected(t, b.port, { version: 5, clientId: `prop-ct-${n++}` })
      raw.send(publishPacket({ version: 5, topic: 'a/b', payload: 'x', properties: props(stringProperty(id, value)) }))
      await expectRefusal(t, raw, 5, 0x81)
    }
  })
  t.test(`c2b: v5 ${s.name} in the CONNECT Authentication Method closes the connection [${tag}]`, async (t) => {
    const raw = await openRaw(t, b.port)
    raw.send(connectPacket({ version: 5, clientId: `prop-am-${n++}`, properties: props(stringProperty(0x15, value)) }))
    await expectClose(t, raw)
  })
  t.test(`c2b: v5 ${s.name} in a DISCONNECT Reason String gets DISCONNECT 0x81 [${tag}]`, async (t) => {
    const { raw } = await connected(t, b.port, { version: 5, clientId: `prop-rs-${n++}` })
    raw.send(disconnectPacket({ reasonCode: 0, properties: props(stringProperty(0x1f, value)) }))
    await expectRefusal(t, raw, 5, 0x81)
  })
}

t.test('the healthy client still publishes and subscribes', (t) => assertHealthy(t, healthy, 'health/utf8'))
