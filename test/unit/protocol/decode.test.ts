import t from 'tap'
import { Decoder } from '../../../src/protocol/index.js'
import type { InboundPacket } from '../../../src/protocol/index.js'
import { FIXTURES } from './fixtures/packets.js'
import { bytes, decode, frame, newDecoder, props, raw, str, u16, view } from './fixtures/helpers.js'

t.test('decodes every known-good packet to the expected object (3.1, 3.1.1, 5.0)', async (t) => {
  for (const f of FIXTURES) {
    const packets = decode(f.bytes, f.version)
    t.equal(packets.length, 1, `${f.name}: one packet`)
    const [packet] = packets
    if (packet !== undefined) t.same(view(packet), f.expected, f.name)
  }
})

t.test('decodes identically when a packet is split at every byte boundary', async (t) => {
  for (const f of FIXTURES) {
    const whole = decode(f.bytes, f.version).map(view)
    for (let i = 0; i <= f.bytes.length; i++) {
      const pieces = [f.bytes.subarray(0, i), f.bytes.subarray(i)]
      t.same(decode(pieces, f.version).map(view), whole, `${f.name} split at ${i}`)
    }
    const oneByteAtATime = Array.from(f.bytes, (b) => Buffer.from([b]))
    t.same(decode(oneByteAtATime, f.version).map(view), whole, `${f.name} one byte at a time`)
  }
})

t.test('decodes a stream of many packets cut at every byte boundary', async (t) => {
  const stream5 = Buffer.concat(FIXTURES.filter((f) => f.version === 5).map((f) => f.bytes))
  const whole = decode(stream5, 5).map(view)
  t.equal(whole.length, FIXTURES.filter((f) => f.version === 5).length)
  for (let i = 0; i <= stream5.length; i++) {
    for (const j of [i, i + 1, i + 7, i + 300]) {
      const pieces = [stream5.subarray(0, i), stream5.subarray(i, j), stream5.subarray(j)]
      t.same(decode(pieces, 5).map(view), whole, `cut at ${i} and ${j}`)
    }
  }
})

t.test('passes payloads of frames that sit whole in a chunk as views, without copying', async (t) => {
  const chunk = Buffer.concat([
    frame(0x30, str('a'), raw('first')),
    frame(0x30, str('b'), raw('second')),
  ])
  const packets = decode(chunk, 4)
  t.equal(packets.length, 2)
  for (const p of packets) {
    if (p.cmd !== 'publish') throw new Error('expected PUBLISH')
    t.equal(p.payload.buffer, chunk.buffer, `${p.topic}: payload shares the chunk's memory`)
  }
})

t.test('adopts the version of a CONNECT before parsing packets pipelined behind it', async (t) => {
  // SUBSCRIBE right behind a 5.0 CONNECT in the same chunk, with a 5.0 property section: read
  // at 3.1.1 rules its first property byte would be taken for a topic length.
  const chunk = Buffer.concat([
    frame(0x10, str('MQTT'), 5, 0x02, u16(0), props(), str('c')),
    frame(0x82, u16(1), props(0x0b, 5), str('a'), 0x01),
  ])
  const d = new Decoder({ maxPacketSize: 1024 })
  const seen: InboundPacket[] = []
  d.push(chunk, (p) => seen.push(p))
  t.equal(d.protocolVersion, 5)
  t.same(seen.map(view), [
    { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'c' },
    { cmd: 'subscribe', messageId: 1, properties: { subscriptionIdentifier: 5 }, subscriptions: [{ topic: 'a', qos: 1, nl: false, rap: false, rh: 0 }] },
  ])
})

t.test('a second CONNECT does not change the version packets are parsed at [MQTT-3.1.0-2]', async (t) => {
  const d = newDecoder()
  const connect = (level: number): Buffer => frame(0x10, str('MQTT'), level, 0x02, u16(0), level === 5 ? props() : bytes(), str('c'))
  d.push(connect(4), () => undefined)
  d.push(connect(5), () => undefined)
  t.equal(d.protocolVersion, 4)
})

t.test('setProtocolVersion switches parsing of 5.0 properties on', async (t) => {
  const puback = frame(0x40, u16(1), 0x10, props(0x1f, str('why')))
  t.same(decode(puback, 5).map(view), [{ cmd: 'puback', messageId: 1, reasonCode: 0x10, properties: { reasonString: 'why' } }])
})

t.test('accepts a packet of exactly maxPacketSize bytes', async (t) => {
  const p = frame(0x30, str('t'), Buffer.alloc(100))
  t.equal(decode(p, 4, p.length).length, 1)
})

t.test('the returned packet is mqtt-packet\'s object, typed, with properties absent when empty', async (t) => {
  const [p] = decode(frame(0x30, str('t'), raw('x')), 4)
  t.ok(p !== undefined && !('properties' in p), '3.1.1 packets carry no properties key')
  const [q] = decode(frame(0x32, str('t'), u16(9), props(), raw('x')), 5)
  t.ok(q !== undefined && !('properties' in q), 'an empty 5.0 property section leaves no properties key')
  if (q?.cmd === 'publish') t.ok(Buffer.isBuffer(q.payload))
})
