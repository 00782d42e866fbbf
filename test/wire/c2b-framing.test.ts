import t from 'tap'
import {
  assertHealthy, connected, expectClose, expectDisconnect, expectRefusal, hex, packet, parseConnack5,
  publishPacket, str, u16, wireBroker,
} from '../helpers/raw.js'

/*
 * c2b: broken fixed headers. Each is sent on an established connection, so a 5.0 client is told
 * why (DISCONNECT 0x81 Malformed Packet, 0x82 Protocol Error, 0x95 Packet too large) and a
 * 3.1.1 client simply loses the connection [MQTT-4.8.0-1] (5.0: section 4.13).
 */

const MAX_PACKET_SIZE = 1024
const { b, healthy } = await wireBroker(t, { config: { limits: { maxPacketSize: MAX_PACKET_SIZE } } })

interface Case {
  name: string
  bytes: Buffer
  /** The 5.0 reason code in the broker's DISCONNECT. */
  reasonCode: number
}

const cases: Case[] = [
  {
    name: 'a Remaining Length of 5 bytes closes the connection [MQTT-1.5.5-1] (3.1.1 section 2.2.3)',
    bytes: Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]),
    reasonCode: 0x81,
  },
  {
    name: 'a Remaining Length not in the fewest bytes closes the connection [MQTT-1.5.5-1]',
    bytes: Buffer.from([0xc0, 0x80, 0x00]), // PINGREQ, Remaining Length 0 written as 2 bytes
    reasonCode: 0x81,
  },
  {
    name: 'packet type 0 (reserved) closes the connection (section 2.1.2)',
    bytes: Buffer.from([0x00, 0x00]),
    reasonCode: 0x81,
  },
  {
    name: 'PUBREL with fixed header flags 0b0000 closes the connection [MQTT-3.6.1-1]',
    bytes: packet(0x60, u16(1)),
    reasonCode: 0x81,
  },
  {
    name: 'SUBSCRIBE with fixed header flags 0b0000 closes the connection [MQTT-3.8.1-1]',
    bytes: packet(0x80, u16(1), str('a/b'), [0]),
    reasonCode: 0x81,
  },
  {
    name: 'UNSUBSCRIBE with fixed header flags 0b0011 closes the connection [MQTT-3.10.1-1]',
    bytes: packet(0xa3, u16(1), str('a/b')),
    reasonCode: 0x81,
  },
  {
    name: 'PINGREQ with fixed header flags 0b0001 closes the connection [MQTT-2.2.2-2]',
    bytes: Buffer.from([0xc1, 0x00]),
    reasonCode: 0x81,
  },
  {
    name: 'PUBLISH with QoS 3 closes the connection [MQTT-3.3.1-4]',
    bytes: packet(0x36, str('a/b'), u16(1), Buffer.from('x')),
    reasonCode: 0x81,
  },
  {
    name: 'PUBLISH at QoS 0 with DUP set closes the connection [MQTT-3.3.1-2]',
    bytes: packet(0x38, str('a/b'), Buffer.from('x')),
    reasonCode: 0x81,
  },
  {
    name: 'a server-only packet (CONNACK) from the client closes the connection (section 2.1.2)',
    bytes: Buffer.from([0x20, 0x02, 0x00, 0x00]),
    reasonCode: 0x82,
  },
]

for (const version of [4, 5] as const) {
  // Every case breaks the fixed header, so the same bytes serve both versions.
  for (const [i, c] of cases.entries()) {
    t.test(`c2b: v${version} ${c.name}`, async (t) => {
      const { raw } = await connected(t, b.port, { version, clientId: `framing-${version}-${i}` })
      raw.send(c.bytes)
      await expectRefusal(t, raw, version, c.reasonCode)
    })
  }
}

t.test('c2b: v4 packet type 15 (AUTH exists only in 5.0) closes the connection (section 2.1.2)', async (t) => {
  const { raw } = await connected(t, b.port, { version: 4, clientId: 'type15' })
  raw.send([0xf0, 0x00])
  await expectClose(t, raw)
})

t.test('c2b: v5 AUTH without an Authentication Method in CONNECT gets DISCONNECT 0x82 (5.0 section 4.12)', async (t) => {
  const { raw } = await connected(t, b.port, { version: 5, clientId: 'auth5' })
  raw.send([0xf0, 0x00])
  await expectDisconnect(t, raw, 0x82)
})

t.test('c2b: a packet over maxPacketSize is refused from its header alone (5.0 section 3.2.2.3.6) [MQTT-3.2.2-15]', async (t) => {
  t.test('v5: CONNACK announces Maximum Packet Size, and DISCONNECT 0x95 arrives before the body is sent', async (t) => {
    const { raw, connack } = await connected(t, b.port, { version: 5, clientId: 'big5' })
    t.equal(hex(parseConnack5(connack).properties.get(0x27) ?? Buffer.alloc(0)), '00 00 04 00', 'Maximum Packet Size 1024 in CONNACK')
    // PUBLISH announcing 1,025 bytes of body: 1,028 bytes in all. Only the header is sent.
    raw.send([0x30, 0x81, 0x08])
    await expectDisconnect(t, raw, 0x95)
  })

  t.test('v4: the header alone closes the connection', async (t) => {
    const { raw } = await connected(t, b.port, { version: 4, clientId: 'big4' })
    raw.send([0x30, 0x81, 0x08])
    await expectClose(t, raw)
  })

  t.test('a packet of exactly maxPacketSize bytes is accepted', async (t) => {
    const { raw } = await connected(t, b.port, { version: 4, clientId: 'exact' })
    // 1 + 2 (Remaining Length) + 2 + 3 (topic) + 2 (packet id) + payload = 1024
    const bytes = publishPacket({ topic: 'big', qos: 1, id: 9, payload: 'x'.repeat(MAX_PACKET_SIZE - 10) })
    t.equal(bytes.length, MAX_PACKET_SIZE)
    raw.send(bytes)
    t.equal(hex(await raw.readPacket()), '40 02 00 09', 'PUBACK')
  })
})

t.test('the healthy client still publishes and subscribes', (t) => assertHealthy(t, healthy, 'health/framing'))
