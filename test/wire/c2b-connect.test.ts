import t, { type Test as Tap } from 'tap'
import { collect, connect } from '../helpers/client.js'
import {
  assertHealthy, connack311, connectPacket, connected, expectClose, hex, openRaw, packet, parseConnack5,
  pingreqPacket, Prop, str, u16, wireBroker, type ConnectOptions,
} from '../helpers/raw.js'

/*
 * c2b: what is wrong inside a CONNECT. A CONNECT the broker cannot trust is answered with a
 * plain close; one it understands but refuses gets a CONNACK with the code the spec names, then
 * the close [MQTT-3.2.2-5] (5.0: [MQTT-3.2.2-7]).
 */

const { b, healthy } = await wireBroker(t)

async function refusedWithClose(t: Tap, o: ConnectOptions | Buffer): Promise<void> {
  const raw = await openRaw(t, b.port)
  raw.send(Buffer.isBuffer(o) ? o : connectPacket(o))
  await expectClose(t, raw)
}

/** PINGREQ answered: the connection is up and usable. */
async function assertUsable(t: Tap, raw: Awaited<ReturnType<typeof openRaw>>): Promise<void> {
  raw.send(pingreqPacket())
  t.equal(hex(await raw.readPacket()), 'd0 00', 'PINGRESP: the connection is usable')
}

t.test('c2b: protocol name "MQTX" closes the connection [MQTT-3.1.2-1]', (t) =>
  refusedWithClose(t, { version: 4, protocolName: 'MQTX', clientId: 'name' }))

t.test('c2b: protocol name "mqtt" (wrong case) closes the connection [MQTT-3.1.2-1]', (t) =>
  refusedWithClose(t, { version: 4, protocolName: 'mqtt', clientId: 'name' }))

t.test('c2b: protocol level 6 gets a 5.0-format CONNACK 0x84 and a close [MQTT-3.1.2-2]', async (t) => {
  const raw = await openRaw(t, b.port)
  // What a future version's CONNECT might look like: the broker must not read past the level.
  raw.send(packet(0x10, str('MQTT'), [6, 0x02], u16(60), [0x00], str('level6')))
  t.equal(hex(await raw.readPacket()), '20 03 00 84 00', 'CONNACK, Session Present 0, 0x84, no properties')
  await expectClose(t, raw, 'then closes the connection')
})

for (const [level, name] of [[2, 'MQTT'], [3, 'MQTT'], [4, 'MQIsdp'], [5, 'MQIsdp']] as const) {
  t.test(`c2b: protocol level ${level} with "${name}" gets 3.1.1 CONNACK 0x01 and a close [MQTT-3.1.2-2]`, async (t) => {
    const raw = await openRaw(t, b.port)
    raw.send(connectPacket({ version: 4, level, protocolName: name, clientId: `level${level}` }))
    t.equal(hex(await raw.readPacket()), hex(connack311(0x01)), 'CONNACK 0x01 (unacceptable protocol version)')
    await expectClose(t, raw, 'then closes the connection')
  })
}

t.test('c2b: protocol level 3 with "MQIsdp" (MQTT 3.1) is accepted', async (t) => {
  const raw = await openRaw(t, b.port)
  raw.send(connectPacket({ version: 3, clientId: 'mqtt31' }))
  t.equal(hex(await raw.readPacket()), hex(connack311(0x00)), 'CONNACK 0x00')
  await assertUsable(t, raw)
})

for (const version of [4, 5] as const) {
  t.test(`c2b: v${version} reserved Connect Flag bit 0 set closes the connection [MQTT-3.1.2-3]`, (t) =>
    refusedWithClose(t, { version, clientId: 'reserved', extraFlags: 0x01 }))

  t.test(`c2b: v${version} Will QoS 3 closes the connection [MQTT-3.1.2-14]`, (t) =>
    refusedWithClose(t, { version, clientId: 'willqos3', will: { topic: 'w', qos: 3 } }))

  const retainTag = version === 5 ? 'MQTT-3.1.2-13' : 'MQTT-3.1.2-15'
  t.test(`c2b: v${version} Will Retain without the Will Flag closes the connection [${retainTag}]`, (t) =>
    refusedWithClose(t, { version, clientId: 'willretain', extraFlags: 0x20 }))

  const qosTag = version === 5 ? 'MQTT-3.1.2-11' : 'MQTT-3.1.2-13'
  t.test(`c2b: v${version} Will QoS without the Will Flag closes the connection [${qosTag}]`, (t) =>
    refusedWithClose(t, { version, clientId: 'willqos', extraFlags: 0x08 }))
}

for (const version of [4, 5] as const) {
  for (const [topic, tag] of [['a/#', 'MQTT-4.7.1-1'], ['+', 'MQTT-4.7.1-1'], ['', 'MQTT-4.7.3-1']] as const) {
    t.test(`c2b: v${version} Will Topic "${topic}" (not a valid Topic Name) closes the connection [${tag}]`, async (t) => {
      const watcher = await connect(b.url, { protocolVersion: 5, clientId: `willtopic-watch-${version}` })
      t.teardown(() => watcher.endAsync())
      const got = collect(watcher)
      await watcher.subscribeAsync('#', { qos: 1 })
      const raw = await openRaw(t, b.port)
      raw.send(connectPacket({ version, clientId: `willtopic-${version}`, will: { topic, payload: 'bad' } }))
      await expectClose(t, raw)
      // Bounded wait for "nothing": a will published on the close would already be on its way.
      await watcher.publishAsync('willtopic/marker', 'marker', { qos: 1 })
      const [first] = await got.next(1)
      t.equal(first?.topic, 'willtopic/marker', 'no will was published to an invalid topic')
    })
  }
}

t.test('c2b: v4 Password Flag without User Name Flag closes the connection [MQTT-3.1.2-22]', (t) =>
  refusedWithClose(t, { version: 4, clientId: 'pw', password: 'secret' }))

t.test('c2b: v5 Password without User Name is allowed (5.0 section 3.1.2.9)', async (t) => {
  const raw = await openRaw(t, b.port)
  raw.send(connectPacket({ version: 5, clientId: 'pw5', password: 'secret' }))
  t.equal(parseConnack5(await raw.readPacket()).reasonCode, 0x00, 'CONNACK 0x00')
  await assertUsable(t, raw)
})

t.test('c2b: v3 (MQTT 3.1) zero-length client id gets CONNACK 0x02 and a close (3.1: 1 to 23 characters)', async (t) => {
  const raw = await openRaw(t, b.port)
  raw.send(connectPacket({ version: 3, clientId: '', clean: true }))
  t.equal(hex(await raw.readPacket()), hex(connack311(0x02)), 'CONNACK 0x02 (identifier rejected)')
  await expectClose(t, raw, 'then closes the connection')
})

t.test('c2b: v4 zero-length client id with Clean Session 0 gets CONNACK 0x02 and a close [MQTT-3.1.3-8]', async (t) => {
  const raw = await openRaw(t, b.port)
  raw.send(connectPacket({ version: 4, clientId: '', clean: false }))
  t.equal(hex(await raw.readPacket()), hex(connack311(0x02)), 'CONNACK 0x02 (identifier rejected)')
  await expectClose(t, raw, 'then closes the connection')
})

t.test('c2b: v4 zero-length client id with Clean Session 1 is accepted [MQTT-3.1.3-6]', async (t) => {
  const raw = await openRaw(t, b.port)
  raw.send(connectPacket({ version: 4, clientId: '', clean: true }))
  t.equal(hex(await raw.readPacket()), hex(connack311(0x00)), 'CONNACK 0x00')
  await assertUsable(t, raw)
})

for (const clean of [true, false]) {
  t.test(`c2b: v5 zero-length client id (Clean Start ${clean ? 1 : 0}) is accepted with an Assigned Client Identifier [MQTT-3.1.3-7] [MQTT-3.2.2-16]`, async (t) => {
    const raw = await openRaw(t, b.port)
    raw.send(connectPacket({ version: 5, clientId: '', clean }))
    const connack = parseConnack5(await raw.readPacket())
    t.equal(connack.reasonCode, 0x00, 'CONNACK 0x00')
    t.equal(connack.sessionPresent, false, 'no session present')
    const assigned = connack.properties.get(Prop.AssignedClientIdentifier)
    t.ok(assigned !== undefined && assigned.length > 2, 'Assigned Client Identifier present and non-empty')
    await assertUsable(t, raw)
  })
}

t.test('c2b: v5 a non-empty client id gets no Assigned Client Identifier', async (t) => {
  const { connack } = await connected(t, b.port, { version: 5, clientId: 'named' })
  t.notOk(parseConnack5(connack).properties.has(Prop.AssignedClientIdentifier))
})

t.test('the healthy client still publishes and subscribes', (t) => assertHealthy(t, healthy, 'health/connect'))
