import t from 'tap'
import { collect, connect } from '../helpers/client.js'
import { assertHealthy, connected, expectDisconnect, hex, packet, publishPacket, pubrelPacket, u16, wireBroker } from '../helpers/raw.js'

/*
 * c2b: inbound QoS 2 on the wire. Halyard routes on PUBLISH (docs/architecture.md), so the
 * exactly-once promise rests on remembering the packet id until PUBREL: a resent PUBLISH with
 * that id is answered with PUBREC and not routed again [MQTT-4.3.3-10]; PUBREL releases the id
 * and is answered with PUBCOMP [MQTT-4.3.3-11]; after that the id starts a new message.
 */

const { b, healthy } = await wireBroker(t)

for (const version of [4, 5] as const) {
  t.test(`c2b: v${version} a resent QoS 2 PUBLISH is acknowledged again but delivered once [MQTT-4.3.3-10] [MQTT-4.3.3-11]`, async (t) => {
    const topic = `eo/${version}`
    const watcher = await connect(b.url, { protocolVersion: 5, clientId: `eo-watch-${version}` })
    t.teardown(() => watcher.endAsync())
    const got = collect(watcher)
    // QoS 1 to the watcher: its messages reach 'message' in wire order.
    await watcher.subscribeAsync(topic, { qos: 1 })

    const { raw } = await connected(t, b.port, { version, clientId: `eo-${version}` })
    const first = publishPacket({ version, topic, qos: 2, id: 7, payload: 'one' })
    raw.send(first)
    t.equal(hex(await raw.readPacket()), '50 02 00 07', 'PUBREC 7')

    const resent = publishPacket({ version, topic, qos: 2, id: 7, dup: true, payload: 'one' })
    t.equal(resent[0], 0x3c, 'the resend has DUP=1')
    raw.send(resent)
    t.equal(hex(await raw.readPacket()), '50 02 00 07', 'PUBREC 7 again for the resend')

    raw.send(pubrelPacket(7))
    t.equal(hex(await raw.readPacket()), '70 02 00 07', 'PUBCOMP 7')

    // The id is free again: the same id is a new message, delivered.
    raw.send(publishPacket({ version, topic, qos: 2, id: 7, payload: 'two' }))
    t.equal(hex(await raw.readPacket()), '50 02 00 07', 'PUBREC 7 for the new message')
    raw.send(pubrelPacket(7))
    t.equal(hex(await raw.readPacket()), '70 02 00 07', 'PUBCOMP 7 for the new message')

    const messages = await got.next(2)
    t.same(messages.map((m) => m.payload), ['one', 'two'], '"one" once, then "two": the resend was not routed')
  })

  t.test(`c2b: v${version} PUBREL for an unknown packet id is answered with PUBCOMP [MQTT-4.3.3-11]`, async (t) => {
    const { raw } = await connected(t, b.port, { version, clientId: `pubrel-${version}` })
    raw.send(pubrelPacket(9))
    // 5.0: Reason Code 0x92 Packet Identifier not found (section 3.7.2.1).
    const expected = version === 5 ? '70 04 00 09 92 00' : '70 02 00 09'
    t.equal(hex(await raw.readPacket()), expected, 'PUBCOMP 9')
  })
}

t.test('c2b: v5 PUBREL with a reason code PUBREL may not carry gets DISCONNECT 0x82 (5.0 section 3.6.2.1)', async (t) => {
  const { raw } = await connected(t, b.port, { version: 5, clientId: 'pubrel-bad-code' })
  // 0x10 is a PUBACK/PUBREC code; PUBREL allows only 0x00 and 0x92.
  raw.send(packet(0x62, u16(1), [0x10]))
  await expectDisconnect(t, raw, 0x82)
})

t.test('the healthy client still publishes and subscribes', (t) => assertHealthy(t, healthy, 'health/qos2'))
