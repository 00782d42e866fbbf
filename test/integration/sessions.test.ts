import t from 'tap'
import { MemoryStore, type Store } from '../../src/index.js'
import { until } from '../helpers/client.js'
import { PacketClient } from '../helpers/packet-client.js'
import { forEachTransport } from '../helpers/transports.js'

async function hasSession(store: Store, clientId: string): Promise<boolean> {
  for await (const record of store.sessions()) if (record.clientId === clientId) return true
  return false
}

forEachTransport(t, (t, { connect, tag, protocolVersion, url, startBroker }) => {
  const persistent = protocolVersion === 5
    ? { clean: false, properties: { sessionExpiryInterval: 60 } }
    : { clean: false }

  t.test('a persistent session keeps its subscriptions and gets QoS 1/2 sent while offline, in order [MQTT-4.6.0-6]', async (t) => {
    const id = `off-${tag}`
    const sub = await connect(t, { clientId: id, ...persistent })
    await sub.client.subscribeAsync('off/#', { qos: 2 })
    await sub.client.endAsync()
    const { client: pub } = await connect(t, { clientId: `off-pub-${tag}` })
    const sent: Array<[string, number]> = []
    for (let i = 0; i < 20; i++) {
      const qos = i % 2 === 0 ? 1 : 2
      sent.push([`m${i}`, qos])
      await pub.publishAsync(`off/${i % 3}`, `m${i}`, { qos })
    }
    const back = await connect(t, { clientId: id, ...persistent })
    t.equal(back.connack.sessionPresent, true)
    const wire = await back.got.nextWire(20)
    t.same(wire.map((m) => [m.payload, m.qos]), sent, 'every message, sent in publish order, at its QoS')
    await back.got.next(20)
    await pub.publishAsync('off/live', 'live', { qos: 1 })
    const all = await back.got.next(21)
    t.equal(all[20]?.payload, 'live', 'the restored subscription keeps working')
  })

  t.test('an offline session queues QoS 1/2 but not QoS 0 messages (3.1.1 lets a server choose) [MQTT-3.1.2-5]', async (t) => {
    const id = `q0-${tag}`
    const sub = await connect(t, { clientId: id, ...persistent })
    await sub.client.subscribeAsync({ 'q0/two': { qos: 2 }, 'q0/zero': { qos: 0 } })
    await sub.client.endAsync()
    const { client: pub } = await connect(t, { clientId: `q0-pub-${tag}` })
    await pub.publishAsync('q0/two', 'published at QoS 0', { qos: 0 })
    await pub.publishAsync('q0/zero', 'granted QoS 0', { qos: 1 })
    await pub.publishAsync('q0/two', 'QoS 1', { qos: 1 })
    const back = await connect(t, { clientId: id, ...persistent })
    t.equal(back.connack.sessionPresent, true)
    const [first] = await back.got.next(1)
    t.equal(first?.payload, 'QoS 1', 'only the QoS 1 message was kept')
    await pub.publishAsync('q0/two', 'marker', { qos: 1 })
    const msgs = await back.got.next(2)
    t.same(msgs.map((m) => m.payload), ['QoS 1', 'marker'])
  })

  if (protocolVersion === 5) {
    t.test('5.0: a session with Session Expiry Interval 1 s is discarded when it runs out, queue and all [MQTT-3.1.2-23]', async (t) => {
      const store = new MemoryStore()
      const own = await startBroker(t, { memory: true, store })
      const id = `exp-${tag}`
      const sub = await own.connect(t, { clientId: id, clean: false, properties: { sessionExpiryInterval: 1 } })
      await sub.client.subscribeAsync('exp/t', { qos: 1 })
      await sub.client.endAsync()
      const closedAt = Date.now()
      const { client: pub } = await own.connect(t, { clientId: `exp-pub-${tag}` })
      await pub.publishAsync('exp/t', 'queued before expiry', { qos: 1 })
      t.ok(await hasSession(store, id), 'the session is there while its expiry runs')
      await until(async () => !(await hasSession(store, id)), 3000, 'the session to expire')
      t.ok(Date.now() - closedAt >= 950, 'not before its expiry interval')
      const back = await own.connect(t, { clientId: id, clean: false, properties: { sessionExpiryInterval: 1 } })
      t.equal(back.connack.sessionPresent, false, 'session present 0: the session ended')
      await back.client.subscribeAsync('exp/t', { qos: 1 })
      await pub.publishAsync('exp/t', 'marker', { qos: 1 })
      const [m] = await back.got.next(1)
      t.equal(m?.payload, 'marker', 'the queued message went with the session')
    })
  }

  t.test('the offline queue keeps the first maxQueuedMessages and drops the rest', async (t) => {
    const own = await startBroker(t, { config: { limits: { maxQueuedMessages: 5 } } })
    const id = `full-${tag}`
    const sub = await own.connect(t, { clientId: id, ...persistent })
    await sub.client.subscribeAsync('full/t', { qos: 1 })
    await sub.client.endAsync()
    const { client: pub } = await own.connect(t, { clientId: `full-pub-${tag}` })
    for (let i = 0; i < 10; i++) await pub.publishAsync('full/t', `m${i}`, { qos: 1 })
    const back = await own.connect(t, { clientId: id, ...persistent })
    t.equal(back.connack.sessionPresent, true)
    await back.got.next(5)
    await pub.publishAsync('full/t', 'marker', { qos: 1 })
    const msgs = await back.got.next(6)
    t.same(msgs.map((m) => m.payload), ['m0', 'm1', 'm2', 'm3', 'm4', 'marker'])
  })

  t.test('unacknowledged QoS 1 and 2 deliveries are resent with DUP=1 and the same packet id on resume [MQTT-4.4.0-1]', async (t) => {
    const id = `dup-${tag}`
    const session = { clientId: id, clean: false, sessionExpiryInterval: 60 }
    const first = await PacketClient.open(t, url, protocolVersion)
    t.equal((await first.connect(session)).sessionPresent, false)
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dup/#', qos: 2 }] })
    await first.next('suback')
    const { client: pub } = await connect(t, { clientId: `dup-pub-${tag}` })
    await pub.publishAsync('dup/one', 'q1', { qos: 1 })
    await pub.publishAsync('dup/two', 'q2', { qos: 2 })
    await pub.publishAsync('dup/three', 'q2 released', { qos: 2 })
    const p1 = await first.next('publish')
    const p2 = await first.next('publish')
    const p3 = await first.next('publish')
    t.same([p1.qos, p1.dup, p2.qos, p2.dup, p3.qos], [1, false, 2, false, 2], 'first sends, DUP=0')
    first.send({ cmd: 'pubrec', messageId: p3.messageId ?? 0 })
    const rel = await first.next('pubrel')
    t.equal(rel.messageId, p3.messageId)
    first.destroy()

    const second = await PacketClient.open(t, url, protocolVersion)
    t.equal((await second.connect(session)).sessionPresent, true)
    const r1 = await second.next('publish')
    t.same([r1.messageId, r1.dup, r1.qos, r1.payload.toString()], [p1.messageId, true, 1, 'q1'], 'QoS 1 resent, DUP=1, same id')
    const r2 = await second.next('publish')
    t.same([r2.messageId, r2.dup, r2.qos, r2.payload.toString()], [p2.messageId, true, 2, 'q2'], 'QoS 2 resent, DUP=1, same id')
    const r3 = await second.next('pubrel')
    t.equal(r3.messageId, p3.messageId, 'PUBREL resent for the QoS 2 message already received [MQTT-4.4.0-1]')
    second.send({ cmd: 'puback', messageId: r1.messageId ?? 0 })
    second.send({ cmd: 'pubrec', messageId: r2.messageId ?? 0 })
    t.equal((await second.next('pubrel')).messageId, r2.messageId)
    second.send({ cmd: 'pubcomp', messageId: r2.messageId ?? 0 })
    second.send({ cmd: 'pubcomp', messageId: r3.messageId ?? 0 })
    await pub.publishAsync('dup/marker', 'marker', { qos: 1 })
    const marker = await second.next('publish')
    t.equal(marker.payload.toString(), 'marker', 'nothing else was pending')
    second.send({ cmd: 'puback', messageId: marker.messageId ?? 0 })
    second.send({ cmd: 'disconnect' })
  })
})
