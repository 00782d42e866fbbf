import t from 'tap'
import type { Test } from 'tap'
import { until, type Opened } from '../helpers/client.js'
import { PacketClient } from '../helpers/packet-client.js'
import { forEachTransport, type Target } from '../helpers/transports.js'

/*
 * How a shared subscription picks the one member that gets each message (MQTT 5.0 section 4.8.2
 * leaves the choice to the server): `sharedSubscriptionStrategy` round-robin (the default),
 * random and least-inflight, each on its own broker.
 */

const payloadsOf = (count: number): string[] => Array.from({ length: count }, (_, i) => `m${String(i).padStart(3, '0')}`)

/**
 * Subscribes `members` to `$share/{group}/{topic}` (and `topic`-end, unshared), publishes
 * `count` QoS 1 messages one after the other, then an unshared end marker: once every member
 * has the marker, a duplicate of any shared message would have reached its member before it.
 * Returns, per published message in order, the index of the member that received it.
 */
async function spreadOver(t: Test, target: Target, tag: string, members: Opened[], count: number): Promise<number[]> {
  const topic = `strat/${tag}`
  for (const m of members) {
    await m.client.subscribeAsync(`$share/g/${topic}`, { qos: 1 })
    await m.client.subscribeAsync(`${topic}-end`, { qos: 1 })
  }
  const { client: pub } = await target.connect(t, { clientId: `strat-pub-${tag}` })
  const payloads = payloadsOf(count)
  for (const p of payloads) await pub.publishAsync(topic, p, { qos: 1 })
  await pub.publishAsync(`${topic}-end`, 'end', { qos: 1 })
  await until(() => members.every((m) => m.got.messages.some((x) => x.topic === `${topic}-end`)), 10_000, 'the end marker at every member')
  const owner = new Map<string, number>()
  const duplicates: string[] = []
  members.forEach((m, i) => {
    for (const x of m.got.messages) {
      if (x.topic !== topic) continue
      if (owner.has(x.payload)) duplicates.push(x.payload)
      owner.set(x.payload, i)
    }
  })
  t.same(duplicates, [], 'no message reached more than one member')
  t.same([...owner.keys()].sort(), payloads, `every one of the ${count} messages was delivered`)
  return payloads.map((p) => owner.get(p) ?? -1)
}

forEachTransport(t, (t, { tag, startBroker, protocolVersion }) => {
  t.test('round-robin: each message goes to exactly one member, in strict rotation (MQTT 5.0 section 4.8.2)', async (t) => {
    const target = await startBroker(t, { memory: true, config: { sharedSubscriptionStrategy: 'round-robin' } })
    const members = [0, 1, 2].map((i) => target.connect(t, { clientId: `rr-${i}-${tag}` }))
    const owners = await spreadOver(t, target, `rr-${tag}`, await Promise.all(members), 30)
    t.same(new Set(owners.slice(0, 3)).size, 3, 'the first three messages go to three different members')
    t.ok(owners.every((o, i) => o === owners[i % 3]), `then the same rotation over and over: ${owners.join('')}`)
  })

  t.test('random: each of 200 messages goes to exactly one of 3 members, each gets some, not in rotation (MQTT 5.0 section 4.8.2)', async (t) => {
    const target = await startBroker(t, { memory: true, config: { sharedSubscriptionStrategy: 'random' } })
    const members = [0, 1, 2].map((i) => target.connect(t, { clientId: `rnd-${i}-${tag}` }))
    const owners = await spreadOver(t, target, `rnd-${tag}`, await Promise.all(members), 200)
    // With a uniform pick, P(some member gets none of 200) <= 3 * (2/3)^200 ~ 2e-35, and
    // P(the 200 picks form a strict rotation) = 3! / 3^200 ~ 2e-95: neither can flake.
    const counts = [0, 1, 2].map((i) => owners.filter((o) => o === i).length)
    t.ok(counts.every((c) => c > 0), `every member got some (${counts.join(' + ')})`)
    const isRotation = new Set(owners.slice(0, 3)).size === 3 && owners.every((o, i) => o === owners[i % 3])
    t.notOk(isRotation, 'the picks are not the round-robin rotation')
  })

  t.test('least-inflight: a member holding its QoS 1 acknowledgements is not chosen while another has fewer inflight (MQTT 5.0 section 4.8.2)', async (t) => {
    const target = await startBroker(t, { memory: true, config: { sharedSubscriptionStrategy: 'least-inflight' } })
    // Raw clients, so that nothing is acknowledged unless the test says so. A PINGREQ behind a
    // PUBACK is answered only once the broker has handled the PUBACK (packets of a connection
    // are handled in order), which makes the inflight counts exact at every publish.
    const join = async (name: string): Promise<PacketClient> => {
      const c = await PacketClient.open(t, target.url, protocolVersion)
      await c.connect({ clientId: `li-${name}-${tag}`, clean: true })
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `$share/g/li/${tag}`, qos: 1 }] })
      await c.next('suback')
      return c
    }
    const holder = await join('holder')
    const acker = await join('acker')
    const { client: pub } = await target.connect(t, { clientId: `li-pub-${tag}` })
    const publish = (p: string): Promise<unknown> => pub.publishAsync(`li/${tag}`, p, { qos: 1 })

    await publish('first')
    const held = await holder.next('publish')
    t.equal(String(held.payload), 'first', 'with nothing inflight anywhere, the first member gets the first message')
    for (let i = 0; i < 10; i++) {
      await publish(`acked-${i}`)
      const p = await acker.next('publish')
      t.equal(String(p.payload), `acked-${i}`, `acked-${i} goes to the member with 0 inflight, not the one with 1`)
      acker.send({ cmd: 'puback', messageId: p.messageId ?? 0 })
      acker.send({ cmd: 'pingreq' })
      await acker.next('pingresp')
    }
    // The acker now holds one too: both have 1 inflight, and the holder is picked again.
    await publish('held-by-acker')
    t.equal(String((await acker.next('publish')).payload), 'held-by-acker')
    await publish('tie')
    const next = await holder.next('publish')
    t.equal(String(next.payload), 'tie', 'the holder\'s next message is the one sent once the loads were equal: it got none in between')
  })
})
