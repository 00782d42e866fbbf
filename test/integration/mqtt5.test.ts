import t, { type Test } from 'tap'
import type { IDisconnectPacket } from 'mqtt'
import { startBroker, type TestBroker } from '../helpers/broker.js'
import { closeClient, open, waitFor } from '../helpers/client.js'

/*
 * MQTT 5.0 features end to end with MQTT.js at protocol 5. Each test owns its broker when it
 * needs a particular configuration; the rest share one.
 */
const v5 = { protocolVersion: 5 as const }

async function broker(t: Test, config: Parameters<typeof startBroker>[0] = {}): Promise<TestBroker> {
  const b = await startBroker({ memory: true, ...config })
  t.teardown(() => b.close())
  return b
}

t.test('CONNACK properties tell the truth about the configuration [MQTT-3.2.2-9..22]', async (t) => {
  const b = await broker(t, {
    config: {
      maxQos: 1, retainAvailable: false, wildcardSubscriptions: false, subscriptionIdentifiers: false,
      sharedSubscriptions: false, limits: { receiveMaximum: 7, maxPacketSize: 4096, topicAliasMaximum: 3, maxKeepalive: 30 },
    },
  })
  const { client, connack } = await open(b.url, { ...v5, keepalive: 60, properties: { requestResponseInformation: true } })
  t.teardown(() => closeClient(client))
  const p = connack.properties ?? {}
  t.equal(p.maximumQoS, 1, 'Maximum QoS')
  t.equal(p.retainAvailable, false, 'Retain Available')
  t.equal(p.wildcardSubscriptionAvailable, false)
  t.equal(p.subscriptionIdentifiersAvailable, false)
  t.equal(p.sharedSubscriptionAvailable, false)
  t.equal(p.receiveMaximum, 7)
  t.equal(p.maximumPacketSize, 4096)
  t.equal(p.topicAliasMaximum, 3)
  t.equal(p.serverKeepAlive, 30, 'Server Keep Alive when the broker overrides the client [MQTT-3.2.2-21]')
  t.equal(p.responseInformation, `reply/${client.options.clientId}`, 'Response Information when requested')
})

t.test('an empty client id is assigned one and told it [MQTT-3.2.2-16]', async (t) => {
  const b = await broker(t)
  const { client, connack } = await open(b.url, { ...v5, clientId: '' })
  t.teardown(() => closeClient(client))
  t.match(connack.properties?.assignedClientIdentifier, /^halyard-/)
})

t.test('capabilities switched off are enforced', async (t) => {
  const b = await broker(t, { config: { maxQos: 1, retainAvailable: false, wildcardSubscriptions: false, sharedSubscriptions: false } })
  // MQTT.js refuses a shared SUBSCRIBE itself when CONNACK says none: test/wire covers 0x9E.
  t.test('SUBSCRIBE: wildcard 0xA2, QoS capped at Maximum QoS', async (t) => {
    const { client } = await open(b.url, v5)
    t.teardown(() => closeClient(client))
    const suback = new Promise<number[]>((resolve) => {
      client.on('packetreceive', (p) => { if (p.cmd === 'suback') resolve(p.granted as number[]) })
    })
    client.subscribe({ 'a/+': { qos: 1 }, 'a/b': { qos: 2 } }, () => {})
    t.same(await suback, [0xa2, 1])
  })
  t.test('PUBLISH above Maximum QoS gets DISCONNECT 0x9B [MQTT-3.2.2-11]', async (t) => {
    const { client } = await open(b.url, v5)
    t.teardown(() => closeClient(client))
    const gone = waitFor<[IDisconnectPacket]>(client, 'disconnect')
    client.publish('a/b', 'x', { qos: 2 })
    const [packet] = await gone
    t.equal(packet.reasonCode, 0x9b)
  })
  t.test('retained PUBLISH when retain is unavailable gets DISCONNECT 0x9A [MQTT-3.2.2-14]', async (t) => {
    const { client } = await open(b.url, v5)
    t.teardown(() => closeClient(client))
    const gone = waitFor<[IDisconnectPacket]>(client, 'disconnect')
    client.publish('a/b', 'x', { qos: 0, retain: true })
    const [packet] = await gone
    t.equal(packet.reasonCode, 0x9a)
  })
  t.test('a will above Maximum QoS is refused with CONNACK 0x9B [MQTT-3.2.2-12]', async (t) => {
    await t.rejects(open(b.url, { ...v5, will: { topic: 'w', payload: Buffer.from('x'), qos: 2, retain: false } }), { code: 0x9b })
  })
})

t.test('topic aliases from the client: set, reused, and forgotten at reconnect [MQTT-3.3.2-7]', async (t) => {
  const b = await broker(t)
  const sub = await open(b.url, v5)
  t.teardown(() => closeClient(sub.client))
  await sub.client.subscribeAsync('alias/#', { qos: 1 })
  const pub = await open(b.url, { ...v5, clientId: 'aliaser' })
  await pub.client.publishAsync('alias/one', 'first', { qos: 1, properties: { topicAlias: 2 } })
  await pub.client.publishAsync('', 'second', { qos: 1, properties: { topicAlias: 2 } })
  const msgs = await sub.got.next(2)
  t.same(msgs.map((m) => `${m.topic}=${m.payload}`), ['alias/one=first', 'alias/one=second'])
  await closeClient(pub.client)

  const again = await open(b.url, { ...v5, clientId: 'aliaser' })
  const gone = waitFor<[IDisconnectPacket]>(again.client, 'disconnect')
  again.client.publish('', 'third', { qos: 0, properties: { topicAlias: 2 } })
  t.equal((await gone)[0].reasonCode, 0x82, 'an alias from the previous connection is unknown: protocol error')
})

// A topic alias above the maximum (0x94) is refused by MQTT.js itself: test/wire covers it.

t.test('server-to-client topic aliases stay within the client\'s Topic Alias Maximum [MQTT-3.3.2-8]', async (t) => {
  const b = await broker(t, { config: { outboundTopicAliases: 10 } })
  const sub = await open(b.url, { ...v5, properties: { topicAliasMaximum: 2 } })
  t.teardown(() => closeClient(sub.client))
  await sub.client.subscribeAsync('out/#', { qos: 0 })
  const pub = await open(b.url, v5)
  t.teardown(() => closeClient(pub.client))
  const aliases: Array<number | undefined> = []
  sub.client.on('packetreceive', (p) => { if (p.cmd === 'publish') aliases.push(p.properties?.topicAlias) })
  for (const topic of ['out/a', 'out/a', 'out/b', 'out/c', 'out/a']) await pub.client.publishAsync(topic, topic, { qos: 1 })
  const msgs = await sub.got.next(5)
  t.same(msgs.map((m) => m.topic), ['out/a', 'out/a', 'out/b', 'out/c', 'out/a'], 'MQTT.js resolves every alias to its topic')
  t.ok(aliases.every((a) => a !== undefined && a >= 1 && a <= 2), `aliases used: ${aliases.join(',')}`)
})

t.test('subscription identifiers: every matching subscription\'s id is sent [MQTT-3.3.4-3]', async (t) => {
  const b = await broker(t)
  const { client, got } = await open(b.url, v5)
  t.teardown(() => closeClient(client))
  await client.subscribeAsync('ids/+', { qos: 1, properties: { subscriptionIdentifier: 11 } })
  await client.subscribeAsync('ids/#', { qos: 1, properties: { subscriptionIdentifier: 22 } })
  await client.subscribeAsync('other', { qos: 1 })
  await client.publishAsync('ids/x', 'both', { qos: 1 })
  const [m] = await got.next(1)
  const ids = m?.properties?.subscriptionIdentifier
  t.same(Array.isArray(ids) ? [...ids].sort() : ids, [11, 22])
})

t.test('No Local: a client does not get its own messages back [MQTT-3.8.3-3]', async (t) => {
  const b = await broker(t)
  const { client, got } = await open(b.url, v5)
  t.teardown(() => closeClient(client))
  await client.subscribeAsync('nl/#', { qos: 1, nl: true })
  const other = await open(b.url, v5)
  t.teardown(() => closeClient(other.client))
  await client.publishAsync('nl/mine', 'mine', { qos: 1 })
  await other.client.publishAsync('nl/theirs', 'theirs', { qos: 1 })
  const msgs = await got.next(1)
  t.same(msgs.map((m) => m.payload), ['theirs'])
})

t.test('Retain As Published and Retain Handling 0/1/2 [MQTT-3.3.1-12, MQTT-3.3.1-9..11]', async (t) => {
  const b = await broker(t)
  const pub = await open(b.url, v5)
  t.teardown(() => closeClient(pub.client))
  await pub.client.publishAsync('rh/t', 'kept', { qos: 1, retain: true })

  const { client, got } = await open(b.url, v5)
  t.teardown(() => closeClient(client))
  await client.subscribeAsync('rh/t', { qos: 1, rh: 1, rap: true })
  t.equal((await got.next(1))[0]?.retain, true, 'rh=1 on a new subscription sends the retained message')
  await client.subscribeAsync('rh/t', { qos: 1, rh: 1, rap: true })
  await client.subscribeAsync('rh/#', { qos: 1, rh: 2 })
  await pub.client.publishAsync('rh/t', 'live', { qos: 1, retain: true })
  const msgs = await got.next(2)
  t.same(msgs.map((m) => [m.payload, m.retain]), [['kept', true], ['live', true]],
    'rh=1 on an existing subscription and rh=2 send nothing; RAP keeps RETAIN on a live message')
  const plain = await open(b.url, v5)
  t.teardown(() => closeClient(plain.client))
  await plain.client.subscribeAsync('rh/t', { qos: 1, rh: 2 })
  await pub.client.publishAsync('rh/t', 'live2', { qos: 1, retain: true })
  const [m] = await plain.got.next(1)
  t.same([m?.payload, m?.retain], ['live2', false], 'without RAP a live message has RETAIN 0')
})

t.test('message expiry: the interval forwarded shrinks, expired messages are dropped [MQTT-3.3.2-5, -6]', async (t) => {
  const b = await broker(t)
  const sub = await open(b.url, { ...v5, clientId: 'exp', clean: false, properties: { sessionExpiryInterval: 60 } })
  await sub.client.subscribeAsync('exp/#', { qos: 1 })
  await closeClient(sub.client)
  const pub = await open(b.url, v5)
  t.teardown(() => closeClient(pub.client))
  await pub.client.publishAsync('exp/short', 'gone', { qos: 1, properties: { messageExpiryInterval: 1 } })
  await pub.client.publishAsync('exp/long', 'kept', { qos: 1, properties: { messageExpiryInterval: 100 } })
  await new Promise((resolve) => setTimeout(resolve, 2100))
  const back = await open(b.url, { ...v5, clientId: 'exp', clean: false, properties: { sessionExpiryInterval: 60 } })
  t.teardown(() => closeClient(back.client))
  const [m] = await back.got.next(1)
  t.equal(m?.payload, 'kept', 'the expired message was not delivered')
  const left = m?.properties?.messageExpiryInterval as number
  t.ok(left <= 98 && left >= 90, `remaining interval ${left} s is reduced by the time it waited`)
})

t.test('request/response properties pass through unchanged [MQTT-3.3.2-15..20]', async (t) => {
  const b = await broker(t)
  const sub = await open(b.url, v5)
  t.teardown(() => closeClient(sub.client))
  await sub.client.subscribeAsync('rr/req', { qos: 1 })
  const pub = await open(b.url, v5)
  t.teardown(() => closeClient(pub.client))
  const properties = {
    responseTopic: 'rr/resp', correlationData: Buffer.from([0, 1, 2, 255]), contentType: 'application/json',
    payloadFormatIndicator: true, userProperties: { a: '1', b: ['2', '3'] },
  }
  await pub.client.publishAsync('rr/req', '{}', { qos: 1, properties })
  const [m] = await sub.got.next(1)
  const p = m?.properties ?? {}
  t.equal(p.responseTopic, 'rr/resp')
  t.same(p.correlationData, Buffer.from([0, 1, 2, 255]))
  t.equal(p.contentType, 'application/json')
  t.equal(p.payloadFormatIndicator, true)
  t.same(p.userProperties, { a: '1', b: ['2', '3'] })
})

t.test('reason codes: PUBACK 0x10 without subscribers, UNSUBACK 0x11 [MQTT-3.11.3-1]', async (t) => {
  const b = await broker(t)
  const { client } = await open(b.url, v5)
  t.teardown(() => closeClient(client))
  const acks: number[] = []
  client.on('packetreceive', (p) => { if (p.cmd === 'puback') acks.push(p.reasonCode ?? 0) })
  await client.publishAsync('nobody/here', 'x', { qos: 1 })
  t.same(acks, [0x10])
  await client.subscribeAsync('x', { qos: 0 })
  const unsuback = await client.unsubscribeAsync(['x', 'never'])
  t.same((unsuback as unknown as { reasonCode?: number[] }).reasonCode ?? (unsuback as { granted?: number[] }).granted, [0, 0x11])
})

t.test('receive maximum: the broker never has more unacknowledged messages out than the client allows [MQTT-3.3.4-7]', async (t) => {
  const b = await broker(t)
  const sub = await open(b.url, { ...v5, properties: { receiveMaximum: 2 } })
  t.teardown(() => closeClient(sub.client))
  let inflight = 0
  let peak = 0
  sub.client.on('packetreceive', (p) => { if (p.cmd === 'publish' && p.qos > 0) peak = Math.max(peak, ++inflight) })
  sub.client.on('packetsend', (p) => { if (p.cmd === 'puback') inflight-- })
  await sub.client.subscribeAsync('rm/#', { qos: 1 })
  const pub = await open(b.url, v5)
  t.teardown(() => closeClient(pub.client))
  await Promise.all(Array.from({ length: 20 }, (_, i) => pub.client.publishAsync('rm/x', String(i), { qos: 1 })))
  const msgs = await sub.got.next(20)
  t.same(msgs.map((m) => m.payload), Array.from({ length: 20 }, (_, i) => String(i)), 'all delivered, in order')
  t.ok(peak <= 2, `peak inflight ${peak}`)
})

t.test('a message larger than the client\'s Maximum Packet Size is not sent to it [MQTT-3.1.2-25]', async (t) => {
  const b = await broker(t)
  const small = await open(b.url, { ...v5, properties: { maximumPacketSize: 200 } })
  t.teardown(() => closeClient(small.client))
  await small.client.subscribeAsync('big/#', { qos: 1 })
  const pub = await open(b.url, v5)
  t.teardown(() => closeClient(pub.client))
  await pub.client.publishAsync('big/x', Buffer.alloc(1000), { qos: 1 })
  await pub.client.publishAsync('big/y', 'small', { qos: 1 })
  const [m] = await small.got.next(1)
  t.equal(m?.topic, 'big/y', 'the large one was dropped for this client, and it carries on')
})

t.test('DISCONNECT may lower the session expiry; raising it from 0 is a protocol error [MQTT-3.14.2-2]', async (t) => {
  const b = await broker(t)
  const a = await open(b.url, { ...v5, clientId: 'sx', clean: false, properties: { sessionExpiryInterval: 60 } })
  await a.client.subscribeAsync('sx', { qos: 1 })
  await a.client.endAsync(false, { properties: { sessionExpiryInterval: 0 } })
  const back = await open(b.url, { ...v5, clientId: 'sx', clean: false, properties: { sessionExpiryInterval: 60 } })
  t.equal(back.connack.sessionPresent, false, 'expiry lowered to 0 at DISCONNECT ended the session')
  await closeClient(back.client)
})

t.test('administrative disconnect sends 0x98; draining sends 0x9C with the Server Reference', async (t) => {
  const b = await broker(t)
  const one = await open(b.url, { ...v5, clientId: 'admin-me' })
  const gone = waitFor<[IDisconnectPacket]>(one.client, 'disconnect')
  t.equal(await b.broker.disconnectClient('admin-me'), true)
  t.equal((await gone)[0].reasonCode, 0x98)
  closeClient(one.client)

  const two = await open(b.url, v5)
  const drained = waitFor<[IDisconnectPacket]>(two.client, 'disconnect')
  await b.broker.redirect('other:1883')
  const [packet] = await drained
  t.equal(packet.reasonCode, 0x9c)
  t.equal(packet.properties?.serverReference, 'other:1883')
  closeClient(two.client)
  await t.rejects(open(b.url, v5), { code: 0x9c }, 'new 5.0 connections are redirected')
})
