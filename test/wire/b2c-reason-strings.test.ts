import t, { type Test } from 'tap'
import { startBroker, type TestBroker } from '../helpers/broker.js'
import {
  connectPacket, connected, hex, openRaw, parseAck5, parseConnack5, parseDisconnect5, prop, props, publishPacket,
  reasonStringOf, subscribePacket, type RawClient,
} from '../helpers/raw.js'

/*
 * b2c: Reason Strings (5.0 sections 3.2.2.3.9, 3.4.2.2.2, 3.9.2.1.2, 3.14.2.2.3) and what
 * limits them: Request Problem Information = 0 allows them only on CONNACK and DISCONNECT
 * [MQTT-3.1.2-29], and none may push a packet over the client's Maximum Packet Size
 * [MQTT-3.2.2-19] [MQTT-3.4.2-2] [MQTT-3.9.2-1] [MQTT-3.14.2-3].
 */

const REQUEST_PROBLEM_INFORMATION = 0x17
const MAXIMUM_PACKET_SIZE = 0x27

let broker: TestBroker | undefined
async function shared(): Promise<TestBroker> {
  broker ??= await startBroker({ memory: true, config: { limits: { maxClientIdLength: 8 } } })
  return broker
}
t.teardown(async () => { await broker?.close() })

let n = 0
async function client(t: Test, properties: Buffer[] = []): Promise<RawClient> {
  const b = await shared()
  const { raw } = await connected(t, b.port, { version: 5, clientId: `rs-${n++}`, properties: props(...properties) })
  return raw
}

t.test('DISCONNECT for a protocol error carries a Reason String saying what was wrong [3.14.2.2.3]', async (t) => {
  const raw = await client(t)
  raw.send(publishPacket({ version: 5, topic: 'a/b', qos: 1, id: 0, payload: 'x' }))
  const { reasonCode, properties } = parseDisconnect5(await raw.readPacket())
  t.equal(reasonCode, 0x82)
  t.match(reasonStringOf(properties), /Packet Identifier 0.*\[MQTT-2\.2\.1-3\]/)
})

t.test('DISCONNECT still carries it with Request Problem Information 0: allowed on DISCONNECT [MQTT-3.1.2-29]', async (t) => {
  const raw = await client(t, [prop.byte(REQUEST_PROBLEM_INFORMATION, 0)])
  raw.send(publishPacket({ version: 5, topic: 'a/+', qos: 0, payload: 'x' }))
  const { reasonCode, properties } = parseDisconnect5(await raw.readPacket())
  t.equal(reasonCode, 0x90)
  t.ok(reasonStringOf(properties), `Reason String "${reasonStringOf(properties)}"`)
})

t.test('a DISCONNECT that would exceed the client\'s Maximum Packet Size goes without its Reason String [MQTT-3.14.2-3]', async (t) => {
  // 40 bytes: room for the CONNACK (24), not for this DISCONNECT with its Reason String (70).
  const raw = await client(t, [prop.u32(MAXIMUM_PACKET_SIZE, 40)])
  raw.send(publishPacket({ version: 5, topic: 'a/b', qos: 1, id: 0, payload: 'x' }))
  const got = await raw.readPacket()
  t.equal(hex(got), 'e0 02 82 00', 'DISCONNECT 0x82, empty properties')
})

t.test('an error CONNACK carries a Reason String that says what to do [3.2.2.3.9]', async (t) => {
  const b = await shared()
  const raw = await openRaw(t, b.port)
  raw.send(connectPacket({ version: 5, clientId: 'much-too-long' }))
  const { reasonCode, properties } = parseConnack5(await raw.readPacket())
  t.equal(reasonCode, 0x85)
  t.match(reasonStringOf(properties), /Client Identifier must be 1 to 8 bytes/)
})

t.test('an error CONNACK that would exceed the client\'s Maximum Packet Size goes without its Reason String [MQTT-3.2.2-19]', async (t) => {
  const b = await shared()
  const raw = await openRaw(t, b.port)
  raw.send(connectPacket({ version: 5, clientId: 'much-too-long', properties: props(prop.u32(MAXIMUM_PACKET_SIZE, 20)) }))
  t.equal(hex(await raw.readPacket()), '20 03 00 85 00', 'CONNACK 0x85 without properties')
})

for (const rpi of [1, 0] as const) {
  const has = rpi === 1
  const label = has ? 'carries a Reason String' : 'carries none with Request Problem Information 0 [MQTT-3.1.2-29]'

  t.test(`PUBACK 0x87 ${label}`, async (t) => {
    const raw = await client(t, [prop.byte(REQUEST_PROBLEM_INFORMATION, rpi)])
    raw.send(publishPacket({ version: 5, topic: '$SYS/x', qos: 1, id: 3, payload: 'x' }))
    const ack = parseAck5(await raw.readPacket())
    t.same(ack.reasonCodes, [0x87])
    if (has) t.match(reasonStringOf(ack.properties), /not authorized to publish to "\$SYS\/x"/)
    else t.same([...ack.properties.keys()], [], 'no properties at all')
  })

  t.test(`PUBREC 0x87 ${label}`, async (t) => {
    const raw = await client(t, [prop.byte(REQUEST_PROBLEM_INFORMATION, rpi)])
    raw.send(publishPacket({ version: 5, topic: '$SYS/y', qos: 2, id: 4, payload: 'x' }))
    const ack = parseAck5(await raw.readPacket())
    t.same(ack.reasonCodes, [0x87])
    t.equal(reasonStringOf(ack.properties) !== undefined, has)
  })

  t.test(`SUBACK with a refused filter ${label}`, async (t) => {
    const raw = await client(t, [prop.byte(REQUEST_PROBLEM_INFORMATION, rpi)])
    raw.send(subscribePacket({ version: 5, id: 5, filters: [['ok/#', 1], ['bad/#/x', 1]] }))
    const ack = parseAck5(await raw.readPacket())
    t.same(ack.reasonCodes, [0x01, 0x8f])
    if (has) t.match(reasonStringOf(ack.properties), /1 of 2 subscription\(s\) refused: "bad\/#\/x" 0x8f/)
    else t.same([...ack.properties.keys()], [], 'no properties at all')
  })

  t.test(`UNSUBACK 0x11 ${label}`, async (t) => {
    const raw = await client(t, [prop.byte(REQUEST_PROBLEM_INFORMATION, rpi)])
    raw.send(Buffer.from([0xa2, 0x07, 0x00, 0x06, 0x00, 0x00, 0x02, 0x6e, 0x6f])) // UNSUBSCRIBE "no"
    const ack = parseAck5(await raw.readPacket())
    t.same(ack.reasonCodes, [0x11])
    if (has) t.match(reasonStringOf(ack.properties), /no subscription existed for "no"/)
    else t.same([...ack.properties.keys()], [], 'no properties at all')
  })
}

t.test('a SUBACK that would exceed the client\'s Maximum Packet Size goes without its Reason String [MQTT-3.9.2-1]', async (t) => {
  const raw = await client(t, [prop.u32(MAXIMUM_PACKET_SIZE, 40)])
  raw.send(subscribePacket({ version: 5, id: 6, filters: [['bad/#/x', 1]] }))
  t.equal(hex(await raw.readPacket()), '90 04 00 06 00 8f')
})

t.test('a successful PUBACK has no Reason String: the fast path is unchanged', async (t) => {
  const raw = await client(t)
  raw.send(publishPacket({ version: 5, topic: 'nobody/here', qos: 1, id: 8, payload: 'x' }))
  t.equal(hex(await raw.readPacket()), '40 04 00 08 10 00')
})
