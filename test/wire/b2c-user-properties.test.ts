import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startBroker } from '../helpers/broker.js'
import {
  connected, hex, openRaw, packet, prop, props, publishPacket, str, subscribePacket, u16, type RawClient,
} from '../helpers/raw.js'

/*
 * b2c: User Properties reach a subscriber unaltered and in the order they were sent, names
 * interleaved [MQTT-3.3.2-18]. Raw sockets on both ends: MQTT.js folds repeated names into one
 * array itself, so only the bytes can show the order.
 */

/** z=1, a=2, z=3: mqtt-packet's folded form would turn it into z=1, z=3, a=2. */
const SENT: Array<[string, string]> = [['z', '1'], ['a', '2'], ['z', '3']]
const userProps = (list: Array<[string, string]>): Buffer[] =>
  list.map(([k, v]) => Buffer.concat([Buffer.from([0x26]), str(k), str(v)]))
const SECTION = props(prop.str(0x03, 'text/plain'), ...userProps(SENT))

/** The User Properties of a 5.0 PUBLISH, read straight from its bytes. */
function userPropertiesOf(publish: Buffer): Array<[string, string]> {
  if (publish[0] === undefined || publish[0] >> 4 !== 3) throw new Error(`not a PUBLISH: ${hex(publish)}`)
  let at = 1
  while (((publish[at] ?? 0) & 0x80) !== 0) at++
  at++
  at += 2 + publish.readUInt16BE(at) // Topic Name
  if ((publish[0] & 0x06) !== 0) at += 2 // Packet Identifier
  let length = 0
  let multiplier = 1
  for (;;) {
    const byte = publish.readUInt8(at++)
    length += (byte & 0x7f) * multiplier
    if ((byte & 0x80) === 0) break
    multiplier *= 128
  }
  const end = at + length
  const out: Array<[string, string]> = []
  const string = (): string => {
    const n = publish.readUInt16BE(at)
    const s = publish.toString('utf8', at + 2, at + 2 + n)
    at += 2 + n
    return s
  }
  while (at < end) {
    const id = publish.readUInt8(at++)
    switch (id) {
      case 0x26: { const k = string(); out.push([k, string()]); break }
      case 0x03: case 0x08: string(); break
      case 0x01: at += 1; break
      case 0x02: at += 4; break
      case 0x0b: while ((publish.readUInt8(at++) & 0x80) !== 0); break
      case 0x23: at += 2; break
      default: throw new Error(`unexpected property 0x${id.toString(16)} in ${hex(publish)}`)
    }
  }
  return out
}

async function subscriber(t: Test, port: number, clientId: string, filter: string, clean = true): Promise<RawClient> {
  const { raw } = await connected(t, port, {
    version: 5, clientId, clean, properties: props(prop.u32(0x11, clean ? 0 : 3600)),
  })
  raw.send(subscribePacket({ version: 5, id: 1, filters: [[filter, 1]] }))
  const suback = await raw.readPacket()
  t.equal(suback[0], 0x90, `SUBACK (${hex(suback)})`)
  return raw
}

/** The next PUBLISH, acknowledging it at QoS 1. */
async function nextPublish(raw: RawClient): Promise<Buffer> {
  const got = await raw.readPacket()
  if (((got[0] ?? 0) & 0x06) === 0x02) {
    const topicLength = got.readUInt16BE(2)
    raw.send(packet(0x40, got.subarray(4 + topicLength, 6 + topicLength)))
  }
  return got
}

t.test('b2c: interleaved User Properties (z, a, z) reach a live subscriber in order [MQTT-3.3.2-18]', async (t) => {
  const b = await startBroker({ memory: true })
  t.teardown(() => b.close())
  const sub = await subscriber(t, b.port, 'up-sub', 'up/live/#')
  const { raw: pub } = await connected(t, b.port, { version: 5, clientId: 'up-pub' })
  for (const qos of [0, 1]) {
    pub.send(publishPacket({ version: 5, topic: `up/live/${qos}`, qos, id: 7, payload: 'x', properties: SECTION }))
    const got = await nextPublish(sub)
    t.strictSame(userPropertiesOf(got), SENT, `QoS ${qos}: z=1, a=2, z=3 as sent`)
    t.ok(got.includes(SECTION.subarray(1)), `QoS ${qos}: the property bytes are forwarded unaltered`)
  }
})

t.test('b2c: a retained message keeps its User Property order [MQTT-3.3.2-18]', async (t) => {
  const b = await startBroker({ memory: true })
  t.teardown(() => b.close())
  const { raw: pub } = await connected(t, b.port, { version: 5, clientId: 'up-pub' })
  pub.send(publishPacket({ version: 5, topic: 'up/retained', qos: 1, id: 1, retain: true, payload: 'r', properties: SECTION }))
  await pub.readPacket() // PUBACK: the message is stored
  const sub = await subscriber(t, b.port, 'up-late', 'up/retained')
  t.strictSame(userPropertiesOf(await nextPublish(sub)), SENT)
})

t.test('b2c: a will message keeps its User Property order [MQTT-3.3.2-18]', async (t) => {
  const b = await startBroker({ memory: true })
  t.teardown(() => b.close())
  const sub = await subscriber(t, b.port, 'up-sub', 'up/will')
  // Clean Start, Will Flag, Will QoS 1; connectPacket() writes no Will Properties, so by hand.
  const connect = packet(0x10, str('MQTT'), [5, 0x0e], u16(60), props(), str('up-will'),
    props(...userProps(SENT)), str('up/will'), str('gone'))
  const withWill = await openRaw(t, b.port)
  withWill.send(connect)
  const connack = await withWill.readPacket()
  t.equal(connack[3], 0, `CONNACK success (${hex(connack)})`)
  withWill.destroy() // no DISCONNECT: the will is published [MQTT-3.1.2-8]
  t.strictSame(userPropertiesOf(await nextPublish(sub)), SENT)
})

t.test('b2c: User Property order survives a restart, in the offline queue and in retained storage [MQTT-3.3.2-18]', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'halyard-up-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const first = await startBroker({ dataDir })
  const away = await subscriber(t, first.port, 'up-away', 'up/queued', false)
  away.destroy()
  const { raw: pub } = await connected(t, first.port, { version: 5, clientId: 'up-pub' })
  pub.send(publishPacket({ version: 5, topic: 'up/queued', qos: 1, id: 1, payload: 'q', properties: SECTION }))
  pub.send(publishPacket({ version: 5, topic: 'up/kept', qos: 1, id: 2, retain: true, payload: 'k', properties: SECTION }))
  await pub.readPacket()
  await pub.readPacket() // both PUBACKs: both messages are on disk
  await first.close()

  const second = await startBroker({ dataDir })
  t.teardown(() => second.close())
  const { raw: back } = await connected(t, second.port, {
    version: 5, clientId: 'up-away', clean: false, properties: props(prop.u32(0x11, 3600)),
  })
  t.strictSame(userPropertiesOf(await nextPublish(back)), SENT, 'queued message after the restart')
  const late = await subscriber(t, second.port, 'up-late', 'up/kept')
  t.strictSame(userPropertiesOf(await nextPublish(late)), SENT, 'retained message after the restart')
})
