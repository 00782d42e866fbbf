import t from 'tap'
import { MemoryStore, type StoredMessage } from '../../src/index.js'
import { delay, waitFor, type Received } from '../helpers/client.js'
import { forEachTransport } from '../helpers/transports.js'

/** A store whose retained reads take a while, as a busy LevelDB's can: it widens the race. */
class SlowRetainedStore extends MemoryStore {
  override async *retainedBatches(filters: string[]): AsyncGenerator<StoredMessage[]> {
    const found: StoredMessage[][] = []
    for await (const batch of super.retainedBatches(filters)) found.push(batch)
    await delay(100)
    yield* found
  }
}

const byTopic = (msgs: Received[]): string[] => msgs.map((m) => `${m.topic}=${m.payload}`).sort()

forEachTransport(t, (t, { connect, tag, protocolVersion, startBroker }) => {
  t.test('a retained message is stored, replaced and deleted by an empty payload [MQTT-3.3.1-5, MQTT-3.3.1-10]', async (t) => {
    const { client: pub } = await connect(t, { clientId: `rp-${tag}` })
    await pub.publishAsync('ret/kitchen', 'old', { qos: 1, retain: true })
    await pub.publishAsync('ret/kitchen', 'new', { qos: 1, retain: true })
    const sub = await connect(t, { clientId: `rs-${tag}` })
    await sub.client.subscribeAsync('ret/+', { qos: 1 })
    const [m] = await sub.got.next(1)
    t.equal(m?.payload, 'new', 'the newer message replaced the older [MQTT-3.3.1-5]')
    t.equal(m?.retain, true, 'RETAIN=1 for a retained message sent on subscribe [MQTT-3.3.1-8]')
    await pub.publishAsync('ret/kitchen', '', { qos: 1, retain: true })
    const sub2 = await connect(t, { clientId: `rs2-${tag}` })
    await sub2.client.subscribeAsync('ret/#', { qos: 1 })
    await pub.publishAsync('ret/marker', 'm', { qos: 1 })
    const [first] = await sub2.got.next(1)
    t.equal(first?.payload, 'm', 'the deleted retained message is not delivered [MQTT-3.3.1-10]')
  })

  t.test('retained messages are matched by + and # filters, # including the parent level [MQTT-4.7.1-2, MQTT-4.7.1-3]', async (t) => {
    const { client: pub } = await connect(t, { clientId: `wild-p-${tag}` })
    for (const topic of ['wild/a', 'wild/a/b', 'wild/a/c', 'wild/x/b', 'wild/x/b/deep']) {
      await pub.publishAsync(topic, topic, { qos: 1, retain: true })
    }
    const cases: Array<[string, string[]]> = [
      ['wild/+/b', ['wild/a/b', 'wild/x/b']],
      ['wild/a/#', ['wild/a', 'wild/a/b', 'wild/a/c']],
      ['wild/#', ['wild/a', 'wild/a/b', 'wild/a/c', 'wild/x/b', 'wild/x/b/deep']],
      ['wild/+/+/+', ['wild/x/b/deep']],
    ]
    for (const [filter, topics] of cases) {
      const sub = await connect(t, { clientId: `wild-s-${tag}` })
      await sub.client.subscribeAsync(filter, { qos: 1 })
      await sub.client.subscribeAsync('wild-marker', { qos: 1 })
      await sub.client.publishAsync('wild-marker', 'end', { qos: 1 })
      const msgs = await sub.got.next(topics.length + 1)
      t.same(byTopic(msgs.slice(0, -1)), topics.map((x) => `${x}=${x}`).sort(), `${filter} matches ${topics.join(', ')}`)
      t.ok(msgs.slice(0, -1).every((m) => m.retain), 'all with RETAIN=1')
      await sub.client.endAsync()
    }
  })

  t.test('one SUBSCRIBE delivers every matching retained message [MQTT-3.3.1-6]', async (t) => {
    const { client: pub } = await connect(t, { clientId: `many-p-${tag}` })
    const topics = Array.from({ length: 10 }, (_, i) => `many/${i}`)
    for (const topic of topics) await pub.publishAsync(topic, topic, { qos: 1, retain: true })
    const sub = await connect(t, { clientId: `many-s-${tag}` })
    await sub.client.subscribeAsync('many/+', { qos: 1 })
    const msgs = await sub.got.next(10)
    t.same(byTopic(msgs), topics.map((x) => `${x}=${x}`).sort())
    t.ok(msgs.every((m) => m.retain), 'all with RETAIN=1')
  })

  t.test('a retained message is sent at min(stored QoS, granted QoS) [MQTT-3.8.4-8]', async (t) => {
    const { client: pub } = await connect(t, { clientId: `rq-p-${tag}` })
    for (const qos of [0, 1, 2] as const) await pub.publishAsync(`rq/${qos}`, `${qos}`, { qos, retain: true })
    // A QoS 1 publish after them: its PUBACK means the QoS 0 one before it is stored too.
    await pub.publishAsync('rq-fence', 'x', { qos: 1 })
    for (const granted of [0, 1, 2] as const) {
      const sub = await connect(t, { clientId: `rq-s${granted}-${tag}` })
      await sub.client.subscribeAsync('rq/+', { qos: granted })
      const msgs = await sub.got.nextWire(3)
      const got = msgs.map((m) => `${m.topic} stored ${m.payload} -> ${m.qos}`).sort()
      t.same(got, [0, 1, 2].map((q) => `rq/${q} stored ${q} -> ${Math.min(q, granted)}`), `granted ${granted}`)
      await sub.client.endAsync()
    }
  })

  t.test('a retained message sent on SUBSCRIBE is not overtaken by a newer live one from the same publisher [MQTT-4.6.0-6]', async (t) => {
    const own = await startBroker(t, { memory: true, store: new SlowRetainedStore() })
    const { client: pub } = await own.connect(t, { clientId: `race-p-${tag}` })
    await pub.publishAsync('race/t', 'old', { qos: 1, retain: true })
    const sub = await own.connect(t, { clientId: `race-s-${tag}` })
    const suback = waitFor(sub.client, 'packetreceive')
    const subscribed = sub.client.subscribeAsync('race/t', { qos: 1 })
    await suback
    // Published while the broker is still reading the retained 'old' for the new subscription.
    await pub.publishAsync('race/t', 'new', { qos: 1, retain: true })
    await subscribed
    const msgs = await sub.got.next(2)
    t.same(msgs.map((m) => m.payload), ['old', 'new'], 'the client ends with the newest value')
  })

  if (protocolVersion !== 5) return

  t.test('5.0: Retain As Published keeps RETAIN=1 on live delivery; without it RETAIN is 0 [MQTT-3.3.1-12, MQTT-3.3.1-13]', async (t) => {
    const rap = await connect(t, { clientId: `rap-1-${tag}` })
    await rap.client.subscribeAsync('rap/t', { qos: 1, rap: true })
    const plain = await connect(t, { clientId: `rap-0-${tag}` })
    await plain.client.subscribeAsync('rap/t', { qos: 1, rap: false })
    const { client: pub } = await connect(t, { clientId: `rap-p-${tag}` })
    await pub.publishAsync('rap/t', 'kept', { qos: 1, retain: true })
    await pub.publishAsync('rap/t', 'plain', { qos: 1, retain: false })
    t.same((await rap.got.next(2)).map((m) => [m.payload, m.retain]), [['kept', true], ['plain', false]], 'Retain As Published')
    t.same((await plain.got.next(2)).map((m) => [m.payload, m.retain]), [['kept', false], ['plain', false]], 'default')
  })

  t.test('5.0: Retain Handling 0 sends retained on every SUBSCRIBE, 1 only for a new subscription, 2 never [MQTT-3.3.1-9, MQTT-3.3.1-10, MQTT-3.3.1-11]', async (t) => {
    const { client: pub } = await connect(t, { clientId: `rh-p-${tag}` })
    await pub.publishAsync('rh/t', 'retained', { qos: 1, retain: true })
    for (const rh of [0, 1, 2] as const) {
      const sub = await connect(t, { clientId: `rh-${rh}-${tag}` })
      await sub.client.subscribeAsync('rh-marker', { qos: 1 })
      await sub.client.subscribeAsync('rh/t', { qos: 1, rh })
      await sub.client.subscribeAsync('rh/t', { qos: 1, rh })
      const wanted = {
        0: ['retained', 'retained', 'marker 0'],
        1: ['retained', 'marker 1'],
        2: ['marker 2'],
      }[rh]
      await pub.publishAsync('rh-marker', `marker ${rh}`, { qos: 1 })
      const msgs = await sub.got.next(wanted.length)
      t.same(msgs.map((m) => m.payload), wanted, `Retain Handling ${rh}: subscribe twice, then a marker`)
      await sub.client.endAsync()
    }
  })
})
