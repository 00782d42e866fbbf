import t from 'tap'
import {
  assertHealthy, connectPacket, connected, expectClose, expectRefusal, hex, openRaw, publishPacket,
  subscribePacket, wireBroker,
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

t.test('the healthy client still publishes and subscribes', (t) => assertHealthy(t, healthy, 'health/utf8'))
