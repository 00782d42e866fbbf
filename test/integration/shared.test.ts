import t from 'tap'
import { until } from '../helpers/client.js'
import { PacketClient } from '../helpers/packet-client.js'
import { forEachTransport } from '../helpers/transports.js'

forEachTransport(t, (t, { connect, tag, url, protocolVersion }) => {
  t.test('$share/g/t is granted (to 3.1.1 clients too); each of 20 messages goes to exactly one of 2 members, both get some (MQTT 5.0 section 4.8.2)', async (t) => {
    const members = [await connect(t, { clientId: `sh-a-${tag}` }), await connect(t, { clientId: `sh-b-${tag}` })]
    for (const m of members) {
      const granted = await m.client.subscribeAsync('$share/g/shared/t', { qos: 1 })
      t.same(granted.map((g) => g.qos), [1], 'the shared subscription is granted')
      await m.client.subscribeAsync('shared-end', { qos: 1 })
    }
    const { client: pub } = await connect(t, { clientId: `sh-p-${tag}` })
    const payloads = Array.from({ length: 20 }, (_, i) => `m${String(i).padStart(2, '0')}`)
    for (const p of payloads) await pub.publishAsync('shared/t', p, { qos: 1 })
    // A non-shared marker behind them: a duplicate would have reached its member first.
    await pub.publishAsync('shared-end', 'end', { qos: 1 })
    await until(() => members.every((m) => m.got.messages.some((x) => x.topic === 'shared-end')), 5000, 'the end marker at both members')
    const parts = members.map((m) => m.got.messages.filter((x) => x.topic === 'shared/t').map((x) => x.payload))
    t.ok(parts.every((p) => p.length > 0), `both members got a share (${parts.map((p) => p.length).join(' + ')})`)
    t.same([...parts.flat()].sort(), payloads, 'together all 20, each exactly once')
    for (const p of parts) t.same(p, [...p].sort(), 'each member sees its share in publish order')
  })

  t.test('a shared subscription is accepted from a client of either version, alongside a plain one (MQTT 5.0 section 4.8.2)', async (t) => {
    const plain = await connect(t, { clientId: `sh-plain-${tag}` })
    await plain.client.subscribeAsync('mixed/t', { qos: 1 })
    const member = await connect(t, { clientId: `sh-only-${tag}` })
    await member.client.subscribeAsync('$share/solo/mixed/t', { qos: 1 })
    const { client: pub } = await connect(t, { clientId: `sh-mp-${tag}` })
    await pub.publishAsync('mixed/t', 'both', { qos: 1 })
    const [m1] = await plain.got.next(1)
    const [m2] = await member.got.next(1)
    t.equal(m1?.payload, 'both', 'the plain subscriber gets its own copy')
    t.same([m2?.topic, m2?.payload], ['mixed/t', 'both'], 'the group member gets the group copy, under the real topic')
  })

  t.test('messages a member never acknowledged go to another member when its session ends (MQTT 5.0 section 4.8.2)', async (t) => {
    // The first member takes messages and never acknowledges them, then drops without a session to keep.
    const silent = await PacketClient.open(t, url, protocolVersion)
    await silent.connect({ clientId: `sh-silent-${tag}`, clean: true })
    silent.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/rd/redeliver/t', qos: 1 }] })
    await silent.next('suback')
    const { client: pub } = await connect(t, { clientId: `sh-rdp-${tag}` })
    for (let i = 0; i < 3; i++) await pub.publishAsync('redeliver/t', `r${i}`, { qos: 1 })
    const taken: string[] = []
    for (let i = 0; i < 3; i++) {
      const p = await silent.next('publish')
      taken.push(String(p.payload))
    }
    t.same(taken, ['r0', 'r1', 'r2'], 'the only member got all three and acknowledged none')
    const other = await connect(t, { clientId: `sh-other-${tag}` })
    await other.client.subscribeAsync('$share/rd/redeliver/t', { qos: 1 })
    silent.destroy()
    const got = await other.got.next(3)
    t.same(got.map((m) => m.payload).sort(), ['r0', 'r1', 'r2'], 'the remaining member receives every unacknowledged message')
  })

  t.test('no retained message is sent on a shared subscribe (MQTT 5.0 section 4.8.2)', async (t) => {
    const { client: pub } = await connect(t, { clientId: `sh-rp-${tag}` })
    await pub.publishAsync('shret/t', 'retained', { qos: 1, retain: true })
    const member = await connect(t, { clientId: `sh-rm-${tag}` })
    await member.client.subscribeAsync('$share/g/shret/t', { qos: 1 })
    await pub.publishAsync('shret/t', 'live', { qos: 1 })
    const [m] = await member.got.next(1)
    t.equal(m?.payload, 'live', 'the first message is the live one')
    await pub.publishAsync('shret/t', '', { qos: 1, retain: true })
  })
})
