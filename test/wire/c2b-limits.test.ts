import t from 'tap'
import { startBroker } from '../helpers/broker.js'
import { connect, delay, open, until } from '../helpers/client.js'
import {
  assertHealthy, connack311, connectPacket, connected, expectClose, expectRefusal, hex, openRaw, packet,
  parseAck5, parseConnack5, props, publishPacket, reasonStringOf, str, subscribePacket, u16, wireBroker, type RawClient,
} from '../helpers/raw.js'
import { WsRawClient } from '../helpers/ws-raw.js'

/*
 * c2b: the limits of docs/security.md, each tried at its edge: one over is refused the way the
 * spec says, exactly at the limit is served. What is not here is elsewhere:
 *   limits.connectTimeout          c2b-connect-first.test.ts
 *   limits.maxPacketSize (1 over)  c2b-framing.test.ts
 *   limits.maxInflight             test/integration/qos.test.ts
 *   limits.maxQueuedMessages       test/integration/sessions.test.ts
 *   limits.receiveMaximum (QoS 2)  test/adversarial/quotas.test.ts
 *   limits.maxPublishRate, maxPublishByteRate  c2b-publish-rate.test.ts
 *   limits.maxClientBufferBytes, slowClientTimeout  b2c-slow-client.test.ts
 */

const MAX_TOPIC_LENGTH = 24
const { b, healthy } = await wireBroker(t, {
  memory: true,
  config: { limits: { maxSubscriptionsPerClient: 3, maxTopicLength: MAX_TOPIC_LENGTH, maxTopicLevels: 4, maxClientIdLength: 23 } },
})

let n = 0
const id = (): string => `limits-${n++}`

t.test('limits.maxClientIdLength', async (t) => {
  const tooLong = 'x'.repeat(24)
  t.test('v4: one byte over gets CONNACK 0x02 (identifier rejected) and a close [MQTT-3.1.3-5]', async (t) => {
    const raw = await openRaw(t, b.port)
    raw.send(connectPacket({ version: 4, clientId: tooLong }))
    t.equal(hex(await raw.readPacket()), hex(connack311(0x02)))
    await expectClose(t, raw, 'then closes')
  })
  t.test('v5: one byte over gets CONNACK 0x85 (Client Identifier not valid) and a close', async (t) => {
    const raw = await openRaw(t, b.port)
    raw.send(connectPacket({ version: 5, clientId: tooLong }))
    t.equal(parseConnack5(await raw.readPacket()).reasonCode, 0x85)
    await expectClose(t, raw, 'then closes')
  })
  t.test('exactly the limit (23 bytes, the least a server must allow) is accepted', async (t) => {
    await connected(t, b.port, { version: 4, clientId: 'y'.repeat(23) })
    t.pass('CONNACK 0x00')
  })
})

for (const version of [4, 5] as const) {
  t.test(`v${version} limits.maxTopicLength and maxTopicLevels`, async (t) => {
    const long = `t/${'x'.repeat(MAX_TOPIC_LENGTH - 1)}`
    const deep = 'a/b/c/d/e'

    t.test('a PUBLISH topic one byte over the length closes the connection (5.0: DISCONNECT 0x90)', async (t) => {
      const { raw } = await connected(t, b.port, { version, clientId: id() })
      raw.send(publishPacket({ version, topic: long, qos: 1, id: 1, payload: 'x' }))
      await expectRefusal(t, raw, version, 0x90)
    })
    t.test('a PUBLISH topic of five levels (limit 4) closes the connection (5.0: DISCONNECT 0x90)', async (t) => {
      const { raw } = await connected(t, b.port, { version, clientId: id() })
      raw.send(publishPacket({ version, topic: deep, qos: 1, id: 1, payload: 'x' }))
      await expectRefusal(t, raw, version, 0x90)
    })
    t.test('a will topic over either limit closes the connection before CONNACK', async (t) => {
      for (const topic of [long, deep]) {
        const raw = await openRaw(t, b.port)
        raw.send(connectPacket({ version, clientId: id(), will: { topic } }))
        await expectClose(t, raw)
      }
    })
    t.test('SUBSCRIBE: filters over either limit are refused in SUBACK, the connection stays', async (t) => {
      const { raw } = await connected(t, b.port, { version, clientId: id() })
      raw.send(subscribePacket({ version, id: 3, filters: [[long, 0], ['a/b/c/d/#', 0], ['a/b/c/#', 0]] }))
      const suback = await raw.readPacket()
      if (version === 4) t.equal(hex(suback), '90 05 00 03 80 80 00', 'SUBACK: 0x80 for the long and the deep filter, QoS 0 for the one within')
      else {
        const { reasonCodes, properties } = parseAck5(suback)
        t.same(reasonCodes, [0x8f, 0x8f, 0x00], 'SUBACK: 0x8F for the long and the deep filter, QoS 0 for the one within')
        t.match(reasonStringOf(properties), /^2 of 3 subscription\(s\) refused: /, 'with a Reason String')
      }
    })
    t.test('exactly at both limits is served', async (t) => {
      const { raw } = await connected(t, b.port, { version, clientId: id() })
      const topic = `a/b/c/${'x'.repeat(MAX_TOPIC_LENGTH - 6)}`
      t.equal(Buffer.byteLength(topic), MAX_TOPIC_LENGTH)
      raw.send(publishPacket({ version, topic, qos: 1, id: 7, payload: 'x' }))
      const ack = await raw.readPacket()
      t.equal(hex(Buffer.from([ack[0] ?? 0, ack[2] ?? 0, ack[3] ?? 0])), '40 00 07', 'PUBACK for packet id 7')
    })
  })

  t.test(`v${version} limits.maxSubscriptionsPerClient (3): the fourth filter is refused, the connection stays`, async (t) => {
    const { raw } = await connected(t, b.port, { version, clientId: id() })
    const quota = version === 5 ? '97' : '80'
    raw.send(subscribePacket({ version, id: 1, filters: [['s/1', 1], ['s/2', 1], ['s/3', 1], ['s/4', 1], ['s/5', 1]] }))
    t.equal(hex(await raw.readPacket()).slice(-14), `01 01 01 ${quota} ${quota}`,
      `SUBACK: three granted, then 0x${quota} (5.0: Quota exceeded) [MQTT-3.9.3]`)
    raw.send(subscribePacket({ version, id: 2, filters: [['s/2', 0]] }))
    t.equal(hex(await raw.readPacket()).slice(-2), '00', 'subscribing again to a filter it holds replaces it: granted')
    raw.send(packet(0xa2, u16(3), version === 5 ? props() : Buffer.alloc(0), str('s/1')))
    t.equal((await raw.readPacket())[0], 0xb0, 'UNSUBACK')
    raw.send(subscribePacket({ version, id: 4, filters: [['s/6', 1]] }))
    t.equal(hex(await raw.readPacket()).slice(-2), '01', 'after an UNSUBSCRIBE there is room for one more')
  })

  t.test(`v${version} limits.maxPacketSize: a Remaining Length claiming 256 MB is refused from the header, with one byte of body sent`, async (t) => {
    const { raw } = await connected(t, b.port, { version, clientId: id() })
    // 0xFF 0xFF 0xFF 0x7F is 268,435,455, the largest Remaining Length there is.
    raw.send([0x30, 0xff, 0xff, 0xff, 0x7f, 0x00])
    await expectRefusal(t, raw, version, 0x95)
  })
}

t.test('at the highest limits.maxTopicLevels (1024), topics that deep are matched and delivered', async (t) => {
  // Found by the adversarial suite: with 65535 allowed, a 10,000-level subscription overflowed
  // the stack of the (recursive) trie walk on every PUBLISH to it.
  const deep = await wireBroker(t, { memory: true, config: { limits: { maxTopicLevels: 1024 } } })
  const topics = [`${'l/'.repeat(1023)}l`, '/'.repeat(1023)]
  const { raw } = await connected(t, deep.b.port, { version: 5, clientId: 'deep' })
  raw.send(subscribePacket({ version: 5, id: 1, filters: [[topics[0] ?? '', 0], [topics[1] ?? '', 0], [`${'+/'.repeat(1022)}+/#`, 0]] }))
  t.equal(hex(await raw.readPacket()), '90 06 00 01 00 00 00 00', 'all three granted')
  for (const topic of topics) {
    raw.send(publishPacket({ version: 5, topic, payload: 'deep' }))
    // One copy for the overlapping subscriptions [MQTT-3.3.4-2].
    t.equal((await raw.readPacket())[0], 0x30, `1024 levels (${topic.slice(0, 6)}...): delivered`)
  }
  raw.send(subscribePacket({ version: 5, id: 2, filters: [[`${topics[0] ?? ''}/x`, 0]] }))
  const refused = parseAck5(await raw.readPacket())
  t.same(refused.reasonCodes, [0x8f], '1025 levels: refused')
  await assertHealthy(t, deep.healthy, 'health/deep')
})

t.test('limits.maxKeepalive (30)', async (t) => {
  const capped = await startBroker({ memory: true, config: { limits: { maxKeepalive: 30 } } })
  t.teardown(() => capped.close())
  for (const keepalive of [0, 31]) {
    t.test(`v4: Keep Alive ${keepalive} gets CONNACK 0x02 and a close (3.1.1 cannot be told a lower value)`, async (t) => {
      const raw = await openRaw(t, capped.port)
      raw.send(connectPacket({ version: 4, clientId: id(), keepalive }))
      t.equal(hex(await raw.readPacket()), hex(connack311(0x02)))
      await expectClose(t, raw, 'then closes')
    })
    t.test(`v5: Keep Alive ${keepalive} is accepted with Server Keep Alive 30 [MQTT-3.2.2-21]`, async (t) => {
      const { connack } = await connected(t, capped.port, { version: 5, clientId: id(), keepalive })
      t.equal(hex(parseConnack5(connack).properties.get(0x13) ?? Buffer.alloc(0)), '00 1e')
    })
  }
  t.test('a Keep Alive at the limit is kept as asked, at either version', async (t) => {
    await connected(t, capped.port, { version: 4, clientId: id(), keepalive: 30 })
    const { connack } = await connected(t, capped.port, { version: 5, clientId: id(), keepalive: 30 })
    t.notOk(parseConnack5(connack).properties.has(0x13), 'no Server Keep Alive')
  })
})

t.test('limits.maxQueuedBytes: an offline session keeps messages up to the byte limit and drops the rest', async (t) => {
  const own = await startBroker({ memory: true, config: { limits: { maxQueuedBytes: 100 } } })
  t.teardown(() => own.close())
  const session = { protocolVersion: 5 as const, clientId: 'qbytes', clean: false, properties: { sessionExpiryInterval: 60 } }
  const sub = await connect(own.url, session)
  await sub.subscribeAsync('qb/#', { qos: 1 })
  await sub.endAsync()
  const pub = await connect(own.url, { protocolVersion: 5, clientId: 'qbytes-pub' })
  t.teardown(() => pub.endAsync())
  // 40 + 40 bytes fit in 100; the third would make 120.
  for (const i of [1, 2, 3]) await pub.publishAsync(`qb/${i}`, 'p'.repeat(40), { qos: 1 })
  // open(): the collector is attached before the queued messages come in behind CONNACK.
  const { client: back, got } = await open(own.url, session)
  t.teardown(() => back.endAsync())
  await pub.publishAsync('qb/end', 'end', { qos: 1 })
  const messages = await got.next(3)
  t.same(messages.map((m) => m.topic), ['qb/1', 'qb/2', 'qb/end'], 'the first two were queued, the third dropped')
})

t.test('limits.maxConnections (2): the third socket is closed at once, without a byte', async (t) => {
  const own = await startBroker({ memory: true, config: { limits: { maxConnections: 2 } } })
  t.teardown(() => own.close())
  const first = await connected(t, own.port, { version: 4, clientId: 'mc-1' })
  await connected(t, own.port, { version: 4, clientId: 'mc-2' })
  const third = await openRaw(t, own.port)
  third.send(connectPacket({ version: 4, clientId: 'mc-3' }))
  await expectClose(t, third)
  first.raw.destroy()
  await until(() => own.broker.connectionCount < 2, 1000, 'the broker to see the first connection go')
  await connected(t, own.port, { version: 4, clientId: 'mc-4' })
  t.pass('once one has gone, a new one is accepted')
})

t.test('limits.maxConnectionsPerListener (1): each listener has its own count', async (t) => {
  const own = await startBroker({ memory: true, ws: true, config: { limits: { maxConnectionsPerListener: 1 } } })
  t.teardown(() => own.close())
  await connected(t, own.port, { version: 4, clientId: 'pl-tcp-1' })
  const second = await openRaw(t, own.port)
  second.send(connectPacket({ version: 4, clientId: 'pl-tcp-2' }))
  await expectClose(t, second, 'a second TCP connection is closed without a reply')
  const ws = await WsRawClient.open(t, `ws://127.0.0.1:${own.wsPort}/mqtt`)
  ws.send(connectPacket({ version: 4, clientId: 'pl-ws-1' }))
  t.equal((await ws.next('connack')).returnCode, 0, 'the WebSocket listener still takes its first one')
})

t.test('limits.maxConnectionRate (5 per second): a burst beyond it is closed at once; a second later there is room again', async (t) => {
  const own = await startBroker({ memory: true, config: { limits: { maxConnectionRate: 5 } } })
  t.teardown(() => own.close())
  await delay(1000) // a full bucket: five connections' worth
  const raws = await Promise.all(Array.from({ length: 12 }, () => openRaw(t, own.port)))
  for (const [i, raw] of raws.entries()) raw.send(connectPacket({ version: 4, clientId: `rate-${i}` }))
  const outcomes = await Promise.all(raws.map((raw) => answerOrClose(raw)))
  const accepted = outcomes.filter((o) => o === 'connack').length
  t.ok(accepted >= 5 && accepted <= 6, `5 accepted (6 if a token refilled meanwhile): ${accepted}`)
  t.equal(outcomes.filter((o) => o === 'closed').length, 12 - accepted, 'the rest closed without a reply, within 1 s')
  await delay(1000)
  await connected(t, own.port, { version: 4, clientId: 'rate-later' })
  t.pass('a second later a new connection is accepted')
})

async function answerOrClose(raw: RawClient): Promise<'connack' | 'closed'> {
  try {
    const got = await raw.readPacket()
    return got[0] === 0x20 ? 'connack' : 'closed'
  } catch {
    return raw.isClosed ? 'closed' : 'connack'
  }
}

t.test('the healthy client still publishes and subscribes', (t) => assertHealthy(t, healthy, 'health/limits'))
