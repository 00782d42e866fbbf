import t from 'tap'
import { PacketClient } from '../helpers/packet-client.js'
import { forEachTransport } from '../helpers/transports.js'

forEachTransport(t, (t, { connect, tag, protocolVersion, url, startBroker }) => {
  t.test('QoS 1 round trips both ways: PUBACK to the publisher, PUBACK from the subscriber frees the window [MQTT-4.3.2-1, MQTT-4.3.2-4]', async (t) => {
    // One message in flight per client: each delivery after the first proves the previous PUBACK was taken.
    const own = await startBroker(t, { memory: true, config: { limits: { maxInflight: 1 } } })
    const { client, got } = await own.connect(t, { clientId: `q1-${tag}` })
    await client.subscribeAsync('q1/t', { qos: 1 })
    for (const p of ['a', 'b', 'c']) await client.publishAsync('q1/t', p, { qos: 1 })
    const msgs = await got.next(3)
    t.same(msgs.map((m) => [m.payload, m.qos]), [['a', 1], ['b', 1], ['c', 1]])
  })

  t.test('QoS 2 round trips both ways: PUBREC/PUBREL/PUBCOMP complete in each direction [MQTT-4.3.3-1, MQTT-4.3.3-11]', async (t) => {
    const own = await startBroker(t, { memory: true, config: { limits: { maxInflight: 1 } } })
    const { client, got } = await own.connect(t, { clientId: `q2-${tag}` })
    await client.subscribeAsync('q2/t', { qos: 2 })
    for (const p of ['a', 'b', 'c']) await client.publishAsync('q2/t', p, { qos: 2 })
    const msgs = await got.next(3)
    t.same(msgs.map((m) => [m.payload, m.qos]), [['a', 2], ['b', 2], ['c', 2]])
  })

  t.test('a QoS 2 PUBLISH resent before PUBREL is acknowledged again but delivered once [MQTT-4.3.3-10]', async (t) => {
    const { client: sub, got } = await connect(t, { clientId: `q2dup-s-${tag}` })
    await sub.subscribeAsync('q2dup/t', { qos: 2 })
    const pub = await PacketClient.open(t, url, protocolVersion)
    await pub.connect({ clientId: `q2dup-p-${tag}`, clean: true })
    const publish = { cmd: 'publish' as const, topic: 'q2dup/t', payload: Buffer.from('once'), qos: 2 as const, retain: false, messageId: 7 }
    pub.send({ ...publish, dup: false })
    t.equal((await pub.next('pubrec')).messageId, 7)
    pub.send({ ...publish, dup: true })
    t.equal((await pub.next('pubrec')).messageId, 7, 'the resend is answered with PUBREC')
    pub.send({ cmd: 'pubrel', messageId: 7 })
    t.equal((await pub.next('pubcomp')).messageId, 7)
    pub.send({ ...publish, payload: Buffer.from('after release'), dup: false })
    t.equal((await pub.next('pubrec')).messageId, 7, 'the id is free again after PUBCOMP')
    pub.send({ cmd: 'pubrel', messageId: 7 })
    await pub.next('pubcomp')
    const msgs = await got.next(2)
    t.same(msgs.map((m) => m.payload), ['once', 'after release'], 'the duplicate was not routed again')
  })

  t.test('200 pipelined QoS 1 messages from one publisher arrive in order [MQTT-4.6.0-6]', async (t) => {
    const sub = await connect(t, { clientId: `order-s-${tag}` })
    await sub.client.subscribeAsync('order/t', { qos: 1 })
    const { client: pub } = await connect(t, { clientId: `order-p-${tag}` })
    const payloads = Array.from({ length: 200 }, (_, i) => String(i))
    await Promise.all(payloads.map((p) => pub.publishAsync('order/t', p, { qos: 1 })))
    const msgs = await sub.got.next(200, 10_000)
    t.same(msgs.map((m) => m.payload), payloads)
    t.ok(msgs.every((m) => m.qos === 1), 'all at QoS 1')
  })

  t.test('every published QoS is downgraded to the granted QoS: min(published, granted) [MQTT-3.8.4-8]', async (t) => {
    const sub = await connect(t, { clientId: `dg-s-${tag}` })
    await sub.client.subscribeAsync({ 'dg/0': { qos: 0 }, 'dg/1': { qos: 1 }, 'dg/2': { qos: 2 } })
    const { client: pub } = await connect(t, { clientId: `dg-p-${tag}` })
    const expected: string[] = []
    for (const granted of [0, 1, 2] as const) {
      for (const published of [0, 1, 2] as const) {
        await pub.publishAsync(`dg/${granted}`, `${published}`, { qos: published })
        expected.push(`dg/${granted} published ${published} -> ${Math.min(granted, published)}`)
      }
    }
    const msgs = await sub.got.nextWire(9)
    t.same(msgs.map((m) => `${m.topic} published ${m.payload} -> ${m.qos}`), expected)
  })

  t.test('with an inflight window of 2, no more than 2 are unacknowledged and all arrive in order [MQTT-4.9.0-2]', async (t) => {
    const own = await startBroker(t, { memory: true, config: { limits: { maxInflight: 2 } } })
    const sub = await PacketClient.open(t, own.url, protocolVersion)
    await sub.connect({ clientId: `win-s-${tag}`, clean: true })
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'win/t', qos: 1 }] })
    await sub.next('suback')
    const { client: pub } = await own.connect(t, { clientId: `win-p-${tag}` })
    const payloads = Array.from({ length: 6 }, (_, i) => `m${i}`)
    // Every PUBACK to the publisher means the message was routed: whatever the window allows
    // has been queued to the subscriber ahead of the PINGRESP asked for next.
    await Promise.all(payloads.map((p) => pub.publishAsync('win/t', p, { qos: 1 })))
    const seen: string[] = []
    const window = async (): Promise<number[]> => {
      sub.send({ cmd: 'pingreq' })
      const ids: number[] = []
      for (;;) {
        const packet = await sub.nextAny()
        if (packet.cmd === 'pingresp') return ids
        if (packet.cmd !== 'publish') throw new Error(`unexpected ${packet.cmd}`)
        seen.push(packet.payload.toString())
        ids.push(packet.messageId ?? 0)
      }
    }
    let ids = await window()
    t.equal(ids.length, 2, 'two sent before any PUBACK')
    while (ids.length > 0) {
      for (const id of ids) sub.send({ cmd: 'puback', messageId: id })
      ids = await window()
      t.ok(ids.length <= 2, `at most two in flight (${ids.length})`)
    }
    t.same(seen, payloads, 'all six, in order')
  })

  if (protocolVersion === 5) {
    t.test('5.0: PUBACK and PUBREC say 0x10 No matching subscribers when nobody subscribed (MQTT 5.0 sections 3.4.2.1, 3.5.2.1)', async (t) => {
      const pub = await PacketClient.open(t, url, 5)
      await pub.connect({ clientId: `nomatch-${tag}`, clean: true })
      pub.send({ cmd: 'publish', topic: 'nomatch/t', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, messageId: 1 })
      t.equal((await pub.next('puback')).reasonCode, 0x10, 'PUBACK 0x10')
      pub.send({ cmd: 'publish', topic: 'nomatch/t', payload: Buffer.from('x'), qos: 2, retain: false, dup: false, messageId: 2 })
      t.equal((await pub.next('pubrec')).reasonCode, 0x10, 'PUBREC 0x10')
      pub.send({ cmd: 'pubrel', messageId: 2 })
      await pub.next('pubcomp')
      pub.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'nomatch/#', qos: 1 }] })
      await pub.next('suback')
      pub.send({ cmd: 'publish', topic: 'nomatch/t', payload: Buffer.from('y'), qos: 1, retain: false, dup: false, messageId: 4 })
      const [first, second] = [await pub.nextAny(), await pub.nextAny()]
      const ack = [first, second].find((p) => p.cmd === 'puback')
      t.equal(ack?.cmd === 'puback' ? ack.reasonCode ?? 0 : -1, 0, 'PUBACK 0x00 once someone matches')
    })
  }
})
