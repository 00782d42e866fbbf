import t from 'tap'
import {
  assertHealthy, connected, expectRefusal, hex, packet, parseAck5, pingreqPacket, prop, Prop, props, publishPacket,
  reasonStringOf, str, subscribePacket, u16, wireBroker,
} from '../helpers/raw.js'

/*
 * c2b: SUBSCRIBE and UNSUBSCRIBE a client must not send. A malformed packet or a Protocol Error
 * ends the connection (5.0: DISCONNECT 0x81 or 0x82 first); a well-formed filter the broker
 * will not accept is refused per filter in the SUBACK and the connection stays up.
 */

const { b, healthy } = await wireBroker(t)
let n = 0

for (const version of [4, 5] as const) {
  const noFilterTag = version === 5 ? 'MQTT-3.8.3-2' : 'MQTT-3.8.3-3'
  t.test(`c2b: v${version} SUBSCRIBE with no Topic Filter closes the connection [${noFilterTag}]`, async (t) => {
    const { raw } = await connected(t, b.port, { version, clientId: `sub-${n++}` })
    raw.send(subscribePacket({ version, filters: [] }))
    await expectRefusal(t, raw, version, 0x82)
  })

  const idTag = version === 5 ? 'MQTT-2.2.1-3' : 'MQTT-2.3.1-1'
  t.test(`c2b: v${version} SUBSCRIBE with Packet Identifier 0 closes the connection [${idTag}]`, async (t) => {
    const { raw } = await connected(t, b.port, { version, clientId: `sub-${n++}` })
    raw.send(subscribePacket({ version, id: 0, filters: [['a/b', 0]] }))
    await expectRefusal(t, raw, version, 0x82)
  })

  t.test(`c2b: v${version} UNSUBSCRIBE with no Topic Filter closes the connection [MQTT-3.10.3-2]`, async (t) => {
    const { raw } = await connected(t, b.port, { version, clientId: `sub-${n++}` })
    raw.send(version === 5 ? packet(0xa2, u16(1), props()) : packet(0xa2, u16(1)))
    await expectRefusal(t, raw, version, 0x82)
  })

  // 3.1.1: bits 2-7 of the Requested QoS byte are reserved; 5.0: only bits 6-7 are.
  const reserved = version === 5 ? 0x40 : 0x04
  const reservedTag = version === 5 ? 'MQTT-3.8.3-5' : 'MQTT-3-8.3-4'
  t.test(`c2b: v${version} reserved Subscription Options bits (0x${reserved.toString(16)}) close the connection [${reservedTag}]`, async (t) => {
    const { raw } = await connected(t, b.port, { version, clientId: `sub-${n++}` })
    raw.send(subscribePacket({ version, filters: [['a/b', reserved]] }))
    await expectRefusal(t, raw, version, 0x81)
  })

  const qos3Tag = version === 5 ? '5.0 section 3.8.3.1' : 'MQTT-3-8.3-4'
  t.test(`c2b: v${version} a subscription asking for QoS 3 closes the connection [${qos3Tag}]`, async (t) => {
    const { raw } = await connected(t, b.port, { version, clientId: `sub-${n++}` })
    raw.send(subscribePacket({ version, filters: [['a/b', 0x03]] }))
    // 5.0 calls Maximum QoS 3 a Protocol Error; 3.1.1 a malformed packet.
    await expectRefusal(t, raw, version, 0x82)
  })

  t.test(`c2b: v${version} filters with "#" not last and "+" not alone in a level are refused in SUBACK, the rest granted [MQTT-4.7.1-2] [MQTT-4.7.1-3]`, async (t) => {
    const { raw } = await connected(t, b.port, { version, clientId: `sub-${n++}` })
    raw.send(subscribePacket({ version, id: 5, filters: [['ok/x', 1], ['a/#/b', 1], ['a+/b', 0], ['a/b#', 0]] }))
    // 3.1.1: 0x80 Failure [MQTT-3.9.3-2]; 5.0: 0x8F Topic Filter invalid.
    const suback = await raw.readPacket()
    if (version === 4) t.equal(hex(suback), '90 06 00 05 01 80 80 80', 'SUBACK: QoS 1 for the good filter, a failure code for each bad one')
    else {
      const { messageId, reasonCodes, properties } = parseAck5(suback)
      t.same({ messageId, reasonCodes }, { messageId: 5, reasonCodes: [0x01, 0x8f, 0x8f, 0x8f] }, `SUBACK: QoS 1 for the good filter, 0x8F for each bad one (${hex(suback)})`)
      t.match(reasonStringOf(properties), /^3 of 4 subscription\(s\) refused: "a\/#\/b" 0x8f: /, 'and a Reason String naming them')
    }
    raw.send(publishPacket({ version, topic: 'ok/x', payload: 'hi' }))
    const echo = await raw.readPacket()
    t.equal(hex(echo), hex(publishPacket({ version, topic: 'ok/x', payload: 'hi' })), 'the good filter is subscribed')
    raw.send(pingreqPacket())
    t.equal(hex(await raw.readPacket()), 'd0 00', 'the connection stays up')
  })
}

t.test('c2b: v5 Retain Handling 3 gets DISCONNECT 0x82 (5.0 section 3.8.3.1)', async (t) => {
  const { raw } = await connected(t, b.port, { version: 5, clientId: `sub-${n++}` })
  raw.send(subscribePacket({ version: 5, filters: [['a/b', 0x30]] }))
  await expectRefusal(t, raw, 5, 0x82)
})

t.test('c2b: v5 Subscription Identifier 0 gets DISCONNECT 0x82 (5.0 section 3.8.2.1.2)', async (t) => {
  const { raw } = await connected(t, b.port, { version: 5, clientId: `sub-${n++}` })
  raw.send(subscribePacket({ version: 5, filters: [['a/b', 0]], properties: props(prop.varint(Prop.SubscriptionIdentifier, 0)) }))
  await expectRefusal(t, raw, 5, 0x82)
})

t.test('c2b: v5 two Subscription Identifiers get DISCONNECT 0x82 (5.0 section 3.8.2.1.2)', async (t) => {
  const { raw } = await connected(t, b.port, { version: 5, clientId: `sub-${n++}` })
  const twice = props(prop.varint(Prop.SubscriptionIdentifier, 1), prop.varint(Prop.SubscriptionIdentifier, 2))
  raw.send(subscribePacket({ version: 5, filters: [['a/b', 0]], properties: twice }))
  await expectRefusal(t, raw, 5, 0x82)
})

t.test('c2b: v5 a PUBLISH-only property in SUBSCRIBE gets DISCONNECT 0x81 (5.0 section 2.2.2.2)', async (t) => {
  const { raw } = await connected(t, b.port, { version: 5, clientId: `sub-${n++}` })
  raw.send(subscribePacket({ version: 5, filters: [['a/b', 0]], properties: props(prop.u32(Prop.MessageExpiryInterval, 1)) }))
  await expectRefusal(t, raw, 5, 0x81)
})

t.test('c2b: v5 No Local on a shared subscription gets DISCONNECT 0x82 [MQTT-3.8.3-4]', async (t) => {
  const { raw } = await connected(t, b.port, { version: 5, clientId: `sub-${n++}` })
  raw.send(subscribePacket({ version: 5, filters: [['$share/g/x', 0x04]] }))
  await expectRefusal(t, raw, 5, 0x82)
})

t.test('c2b: v5 No Local on an ordinary subscription is accepted (the control case)', async (t) => {
  const { raw } = await connected(t, b.port, { version: 5, clientId: `sub-${n++}` })
  raw.send(subscribePacket({ version: 5, id: 3, filters: [['$share/g/y', 0x00], ['nl/x', 0x04]] }))
  t.equal(hex(await raw.readPacket()), '90 05 00 03 00 00 00', 'SUBACK granted for both')
})

t.test('c2b: v4 an UNSUBSCRIBE Topic Filter length running past the packet closes the connection (section 1.5.3)', async (t) => {
  const { raw } = await connected(t, b.port, { version: 4, clientId: `sub-${n++}` })
  // The filter announces 10 bytes and carries 3.
  raw.send(packet(0xa2, u16(1), u16(10), Buffer.from('a/b')))
  await expectRefusal(t, raw, 4, 0x81)
})

t.test('c2b: v4 "+" and "#" are fine where they belong (the control case) [MQTT-4.7.1-2] [MQTT-4.7.1-3]', async (t) => {
  const { raw } = await connected(t, b.port, { version: 4, clientId: `sub-${n++}` })
  raw.send(packet(0x82, u16(4), str('+/x/#'), [1], str('#'), [0], str('+'), [2]))
  t.equal(hex(await raw.readPacket()), '90 05 00 04 01 00 02', 'SUBACK granted for all three')
})

t.test('the healthy client still publishes and subscribes', (t) => assertHealthy(t, healthy, 'health/subscribe'))
