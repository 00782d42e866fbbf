import t from 'tap'
import { forEachTransport } from '../helpers/transports.js'

forEachTransport(t, (t, { connect, tag, startBroker }) => {
  t.test('delivers a QoS 0 publish to a matching + subscriber [MQTT-4.7.1-3]', async (t) => {
    const { client: sub, got } = await connect(t, { clientId: `s0-${tag}` })
    const { client: pub } = await connect(t, { clientId: `p0-${tag}` })
    await sub.subscribeAsync('sensors/+/temp', { qos: 0 })
    await pub.publishAsync('sensors/kitchen/temp', '21.5')
    const [m] = await got.next(1)
    t.equal(m?.topic, 'sensors/kitchen/temp')
    t.equal(m?.payload, '21.5')
    t.equal(m?.retain, false, 'RETAIN is 0 on a live delivery [MQTT-3.3.1-9]')
  })

  t.test('QoS 1 and 2 are delivered at min(published, granted) QoS [MQTT-3.8.4-8]', async (t) => {
    const { client: sub, got } = await connect(t, { clientId: `s1-${tag}` })
    const { client: pub } = await connect(t, { clientId: `p1-${tag}` })
    await sub.subscribeAsync('q/a', { qos: 1 })
    await sub.subscribeAsync('q/b', { qos: 2 })
    await pub.publishAsync('q/a', 'x', { qos: 2 })
    await pub.publishAsync('q/b', 'y', { qos: 2 })
    await pub.publishAsync('q/b', 'z', { qos: 1 })
    const msgs = await got.next(3)
    t.same(msgs.map((m) => [m.topic, m.payload, m.qos]), [['q/a', 'x', 1], ['q/b', 'y', 2], ['q/b', 'z', 1]])
  })

  t.test('overlapping subscriptions deliver one copy at the highest QoS [MQTT-3.3.5-1]', async (t) => {
    const { client: sub, got } = await connect(t, { clientId: `ov-${tag}` })
    await sub.subscribeAsync({ 'ov/#': { qos: 0 }, 'ov/+': { qos: 1 } })
    await sub.publishAsync('ov/x', 'one', { qos: 1 })
    await got.next(1)
    await sub.publishAsync('ov/end', 'end', { qos: 1 })
    const msgs = await got.next(2)
    t.same(msgs.map((m) => m.payload), ['one', 'end'], 'exactly one copy of the first message')
    t.equal(msgs[0]?.qos, 1)
  })

  t.test('$-topics are not matched by a leading wildcard [MQTT-4.7.2-1]', async (t) => {
    // Its own broker: '#' would also match retained messages the other tests leave behind.
    const own = await startBroker(t, { memory: true })
    const { client: sub, got } = await own.connect(t, { clientId: `dol-${tag}` })
    await sub.subscribeAsync('#', { qos: 1 })
    await sub.publishAsync('$test/x', 'hidden', { qos: 1 })
    await sub.publishAsync('visible', 'v', { qos: 1 })
    const msgs = await got.next(1)
    t.equal(msgs[0]?.topic, 'visible')
  })
})
