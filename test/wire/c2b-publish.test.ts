import t from 'tap'
import {
  assertHealthy, connected, expectRefusal, hex, parseConnack5, prop, Prop, props, publishPacket, wireBroker,
} from '../helpers/raw.js'

/*
 * c2b: PUBLISH packets a client must not send. All are fatal to the connection: 3.1.1 closes it,
 * 5.0 sends DISCONNECT with the reason code first.
 */

const { b, healthy } = await wireBroker(t)
let n = 0

for (const version of [4, 5] as const) {
  for (const topic of ['a/+', 'a/#', '#', 'a+b']) {
    t.test(`c2b: v${version} PUBLISH to "${topic}" (a wildcard in the Topic Name) closes the connection [MQTT-3.3.2-2]`, async (t) => {
      const { raw } = await connected(t, b.port, { version, clientId: `pub-${n++}` })
      raw.send(publishPacket({ version, topic, qos: 1, id: 1, payload: 'x' }))
      // 5.0 has no code of its own for this; 0x90 Topic Name invalid is the one that says what is wrong.
      await expectRefusal(t, raw, version, 0x90)
    })
  }

  const emptyTag = version === 5 ? '5.0 section 3.3.2.3.4' : 'MQTT-4.7.3-1'
  t.test(`c2b: v${version} PUBLISH with an empty Topic Name and no Topic Alias closes the connection [${emptyTag}]`, async (t) => {
    const { raw } = await connected(t, b.port, { version, clientId: `pub-${n++}` })
    raw.send(publishPacket({ version, topic: '', payload: 'x' }))
    // 5.0: "It is a Protocol Error if the Topic Name is zero length and there is no Topic Alias."
    await expectRefusal(t, raw, version, 0x82)
  })

  for (const qos of [1, 2]) {
    const idTag = version === 5 ? 'MQTT-2.2.1-3' : 'MQTT-2.3.1-1'
    t.test(`c2b: v${version} PUBLISH QoS ${qos} with Packet Identifier 0 closes the connection [${idTag}]`, async (t) => {
      const { raw } = await connected(t, b.port, { version, clientId: `pub-${n++}` })
      raw.send(publishPacket({ version, topic: 'a/b', qos, id: 0, payload: 'x' }))
      await expectRefusal(t, raw, version, 0x82)
    })
  }
}

t.test('c2b: v5 Topic Alias', async (t) => {
  t.test('sets and uses an alias (the control case)', async (t) => {
    const { raw } = await connected(t, b.port, { version: 5, clientId: `pub-${n++}` })
    raw.send(publishPacket({ version: 5, topic: 'alias/x', qos: 1, id: 1, payload: 'a', properties: props(prop.u16(Prop.TopicAlias, 1)) }))
    raw.send(publishPacket({ version: 5, topic: '', qos: 1, id: 2, payload: 'b', properties: props(prop.u16(Prop.TopicAlias, 1)) }))
    t.equal(hex(await raw.readPacket()), '40 04 00 01 10 00', 'PUBACK 0x10 (no matching subscribers) for the PUBLISH that sets it')
    t.equal(hex(await raw.readPacket()), '40 04 00 02 10 00', 'PUBACK for the PUBLISH that uses it')
  })

  t.test('Topic Alias 0 gets DISCONNECT 0x94 [MQTT-3.3.2-8]', async (t) => {
    const { raw } = await connected(t, b.port, { version: 5, clientId: `pub-${n++}` })
    raw.send(publishPacket({ version: 5, topic: 'alias/x', payload: 'x', properties: props(prop.u16(Prop.TopicAlias, 0)) }))
    await expectRefusal(t, raw, 5, 0x94)
  })

  t.test('a Topic Alias above the CONNACK\'s Topic Alias Maximum gets DISCONNECT 0x94 [MQTT-3.2.2-17 receiver side] (5.0 section 3.3.2.3.4)', async (t) => {
    const { raw, connack } = await connected(t, b.port, { version: 5, clientId: `pub-${n++}` })
    const max = parseConnack5(connack).properties.get(Prop.TopicAliasMaximum)?.readUInt16BE(0)
    t.ok(max !== undefined && max > 0, `CONNACK has a Topic Alias Maximum (${max})`)
    raw.send(publishPacket({ version: 5, topic: 'alias/x', payload: 'x', properties: props(prop.u16(Prop.TopicAlias, (max ?? 0) + 1)) }))
    await expectRefusal(t, raw, 5, 0x94)
  })

  t.test('an empty topic with an alias never set gets DISCONNECT 0x82 (5.0 section 3.3.2.3.4)', async (t) => {
    const { raw } = await connected(t, b.port, { version: 5, clientId: `pub-${n++}` })
    raw.send(publishPacket({ version: 5, topic: '', payload: 'x', properties: props(prop.u16(Prop.TopicAlias, 3)) }))
    await expectRefusal(t, raw, 5, 0x82)
  })
})

t.test('c2b: v5 PUBLISH properties', async (t) => {
  t.test('Message Expiry Interval twice gets DISCONNECT 0x82 (5.0 section 3.3.2.3.3)', async (t) => {
    const { raw } = await connected(t, b.port, { version: 5, clientId: `pub-${n++}` })
    const twice = props(prop.u32(Prop.MessageExpiryInterval, 10), prop.u32(Prop.MessageExpiryInterval, 20))
    raw.send(publishPacket({ version: 5, topic: 'a/b', qos: 1, id: 1, payload: 'x', properties: twice }))
    await expectRefusal(t, raw, 5, 0x82)
  })

  t.test('Session Expiry Interval (a CONNECT property) gets DISCONNECT 0x81 (5.0 section 2.2.2.2)', async (t) => {
    const { raw } = await connected(t, b.port, { version: 5, clientId: `pub-${n++}` })
    raw.send(publishPacket({ version: 5, topic: 'a/b', payload: 'x', properties: props(prop.u32(Prop.SessionExpiryInterval, 10)) }))
    await expectRefusal(t, raw, 5, 0x81)
  })

  t.test('a Subscription Identifier from the client gets DISCONNECT 0x82 [MQTT-3.3.4-6]', async (t) => {
    const { raw } = await connected(t, b.port, { version: 5, clientId: `pub-${n++}` })
    raw.send(publishPacket({ version: 5, topic: 'a/b', payload: 'x', properties: props(prop.varint(Prop.SubscriptionIdentifier, 5)) }))
    await expectRefusal(t, raw, 5, 0x82)
  })

  t.test('a Property Length running past the packet gets DISCONNECT 0x81 (5.0 section 2.2.2.1)', async (t) => {
    const { raw } = await connected(t, b.port, { version: 5, clientId: `pub-${n++}` })
    raw.send(publishPacket({ version: 5, topic: 'a/b', payload: '', properties: Buffer.from([0x05, 0x02, 0x00]) }))
    await expectRefusal(t, raw, 5, 0x81)
  })
})

t.test('the healthy client still publishes and subscribes', (t) => assertHealthy(t, healthy, 'health/publish'))
