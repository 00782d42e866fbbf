import t from 'tap'
import { startBroker } from '../helpers/broker.js'
import { collect, connect, versions } from '../helpers/client.js'

for (const protocolVersion of versions) {
  t.test(`v${protocolVersion}`, async (t) => {
    const b = await startBroker()
    t.teardown(() => b.close())

    t.test('delivers a QoS 0 publish to a matching + subscriber [MQTT-4.7.1-3]', async (t) => {
      const sub = await connect(b.url, { protocolVersion, clientId: `s0-${protocolVersion}` })
      const pub = await connect(b.url, { protocolVersion, clientId: `p0-${protocolVersion}` })
      t.teardown(async () => { await sub.endAsync(); await pub.endAsync() })
      const got = collect(sub)
      await sub.subscribeAsync('sensors/+/temp', { qos: 0 })
      await pub.publishAsync('sensors/kitchen/temp', '21.5')
      const [m] = await got.next(1)
      t.equal(m?.topic, 'sensors/kitchen/temp')
      t.equal(m?.payload, '21.5')
      t.equal(m?.retain, false, 'RETAIN is 0 on a live delivery [MQTT-3.3.1-9]')
    })

    t.test('QoS 1 and 2 are delivered at min(published, granted) QoS [MQTT-3.8.4-8]', async (t) => {
      const sub = await connect(b.url, { protocolVersion, clientId: `s1-${protocolVersion}` })
      const pub = await connect(b.url, { protocolVersion, clientId: `p1-${protocolVersion}` })
      t.teardown(async () => { await sub.endAsync(); await pub.endAsync() })
      const got = collect(sub)
      await sub.subscribeAsync('q/a', { qos: 1 })
      await sub.subscribeAsync('q/b', { qos: 2 })
      await pub.publishAsync('q/a', 'x', { qos: 2 })
      await pub.publishAsync('q/b', 'y', { qos: 2 })
      await pub.publishAsync('q/b', 'z', { qos: 1 })
      const msgs = await got.next(3)
      t.same(msgs.map((m) => [m.topic, m.payload, m.qos]), [['q/a', 'x', 1], ['q/b', 'y', 2], ['q/b', 'z', 1]])
    })

    t.test('overlapping subscriptions deliver one copy at the highest QoS [MQTT-3.3.5-1]', async (t) => {
      const sub = await connect(b.url, { protocolVersion, clientId: `ov-${protocolVersion}` })
      t.teardown(() => sub.endAsync())
      const got = collect(sub)
      await sub.subscribeAsync({ 'ov/#': { qos: 0 }, 'ov/+': { qos: 1 } })
      await sub.publishAsync('ov/x', 'one', { qos: 1 })
      await got.next(1)
      await sub.publishAsync('ov/end', 'end', { qos: 1 })
      const msgs = await got.next(2)
      t.equal(msgs.length, 2, 'exactly one copy of the first message')
      t.equal(msgs[0]?.qos, 1)
    })

    t.test('retained message is stored, replaced and deleted by an empty payload [MQTT-3.3.1-5, -10]', async (t) => {
      const pub = await connect(b.url, { protocolVersion, clientId: `rp-${protocolVersion}` })
      t.teardown(() => pub.endAsync())
      const topic = `ret/${protocolVersion}/kitchen`
      await pub.publishAsync(topic, 'old', { qos: 1, retain: true })
      await pub.publishAsync(topic, 'new', { qos: 1, retain: true })
      const sub = await connect(b.url, { protocolVersion, clientId: `rs-${protocolVersion}` })
      const got = collect(sub)
      await sub.subscribeAsync(`ret/${protocolVersion}/+`, { qos: 1 })
      const [m] = await got.next(1)
      t.equal(m?.payload, 'new')
      t.equal(m?.retain, true, 'RETAIN=1 for a retained message sent on subscribe [MQTT-3.3.1-8]')
      await sub.endAsync()
      await pub.publishAsync(topic, '', { qos: 1, retain: true })
      const sub2 = await connect(b.url, { protocolVersion, clientId: `rs2-${protocolVersion}` })
      const got2 = collect(sub2)
      await sub2.subscribeAsync(`ret/${protocolVersion}/#`, { qos: 1 })
      await pub.publishAsync(`ret/${protocolVersion}/marker`, 'm', { qos: 1 })
      const [first] = await got2.next(1)
      t.equal(first?.payload, 'm', 'the deleted retained message is not delivered')
      await sub2.endAsync()
    })

    t.test('$SYS-like topics are not matched by a leading wildcard [MQTT-4.7.2-1]', async (t) => {
      const sub = await connect(b.url, { protocolVersion, clientId: `dol-${protocolVersion}` })
      t.teardown(() => sub.endAsync())
      const got = collect(sub)
      await sub.subscribeAsync('#', { qos: 1 })
      await sub.publishAsync('$test/x', 'hidden', { qos: 1 })
      await sub.publishAsync('visible', 'v', { qos: 1 })
      const msgs = await got.next(1)
      t.equal(msgs[0]?.topic, 'visible')
    })
  })
}
