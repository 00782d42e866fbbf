// What aedes' own suite does not check: that the aedes interface and Halyard's see the same
// data, and that what aedes stored survives a restart of the level store.
import t, { type Test } from 'tap'
import { Readable } from 'node:stream'
import { LevelStore, MemoryStore, type AedesAdapter } from '../../src/persistence/index.js'
import { collect, message, meta, queued, sub } from './store-suite.js'

const broker = { id: 'broker-1' }
const read = (stream: Readable): Promise<unknown[]> => collect(stream as AsyncIterable<unknown>)

const stores: Array<[string, (t: Test) => AedesAdapter]> = [
  ['memory', () => new MemoryStore()],
  ['level', (t) => new LevelStore({ path: t.testdir() })],
]

for (const [name, factory] of stores) {
  void t.test(`${name}: aedes and Halyard read each other's data`, async (t) => {
    const store = factory(t)
    await store.setup(broker)
    t.teardown(() => store.close())

    await store.storeRetained({ cmd: 'publish', topic: 'from/aedes', payload: Buffer.from('a'), qos: 1, retain: true })
    await store.commit({ retained: message('from/halyard', 'h', { retain: true, origin: 'pub' }) })
    t.same((await collect(store.retainedMatching(['from/+']))).map((m) => m.topic).sort(), ['from/aedes', 'from/halyard'])
    t.match(await read(store.createRetainedStreamCombi(['from/halyard'])), [{ cmd: 'publish', topic: 'from/halyard', clientId: 'pub' }])

    await store.putSessionMeta(meta('c'))
    await store.addSubscriptions({ id: 'c' }, [{ topic: 'x/#', qos: 1, rh: 1, rap: true, nl: true, subscriptionIdentifier: 4 }])
    t.same((await store.getSession('c'))?.subscriptions,
      [sub('x/#', { retainHandling: 1, retainAsPublished: true, noLocal: true, subscriptionId: 4 })])
    await store.removeSubscriptions({ id: 'c' }, ['x/#'])
    t.same((await store.getSession('c'))?.subscriptions, [], 'aedes-style removeSubscriptions')
    await store.putSubscriptions('c', [sub('y/+', { qos: 2 })])
    t.same(await store.subscriptionsByTopic('y/1'), [{ clientId: 'c', topic: 'y/+', qos: 2, rh: 0, rap: false, nl: false }])

    const entry = queued(store, 'q/1')
    await store.commit({ enqueue: [{ clientId: 'c', message: entry }] })
    await store.updateQueued('c', entry.seq, 'released', 77)
    t.same(await read(store.outgoingStream({ id: 'c' })), [{ cmd: 'pubrel', messageId: 77 }])
    await store.outgoingClearMessageId({ id: 'c' }, { cmd: 'pubcomp', messageId: 77 })
    t.equal(await store.queueLength('c'), 0)

    await store.commit({ incoming: { clientId: 'p', messageId: 5 } })
    await t.rejects(store.incomingGetPacket({ id: 'p' }, { messageId: 5 }), { code: 'MQTT_STORE_NO_SUCH_PACKET' },
      'an id Halyard stored has no packet behind it')
    await store.incomingDelPacket({ id: 'p' }, { messageId: 5 })
    t.equal(await store.hasIncoming('p', 5), false)
    await store.destroy()
    await t.rejects(store.destroy(), { code: 'MQTT_STORE_DESTROYED' })
  })
}

void t.test('level: what aedes stored is there after a restart', async (t) => {
  const path = t.testdir()
  const first = new LevelStore({ path })
  await first.setup(broker)
  const client = { id: 'dev!1' }
  await first.addSubscriptions(client, [{ topic: 'cmd/+', qos: 1, rh: 0, rap: false, nl: false }])
  await first.outgoingEnqueueCombi([{ clientId: client.id }], { cmd: 'publish', topic: 'cmd/a', payload: 'text', qos: 1, retain: false, brokerId: 'broker-1', brokerCounter: 3 })
  await first.outgoingUpdate(client, { cmd: 'publish', topic: 'cmd/a', brokerId: 'broker-1', brokerCounter: 3, messageId: 9 })
  await first.incomingStorePacket(client, { cmd: 'publish', topic: 'up', payload: Buffer.from([0, 1, 2]), qos: 2, messageId: 12 })
  await first.putWill(client, { topic: 'dead', payload: Buffer.from('bye'), qos: 0, retain: false })
  await first.destroy()

  const second = new LevelStore({ path })
  await second.setup(broker)
  t.teardown(() => second.close())
  t.same(await second.subscriptionsByClient(client), [{ topic: 'cmd/+', qos: 1, rh: 0, rap: false, nl: false }])
  t.same(await read(second.outgoingStream(client)), [{
    cmd: 'publish', topic: 'cmd/a', payload: 'text', qos: 1, retain: false, dup: false,
    brokerId: 'broker-1', brokerCounter: 3, messageId: 9,
  }])
  t.match(await second.incomingGetPacket(client, { messageId: 12 }), { topic: 'up', qos: 2, messageId: 12 })
  t.same(await read(second.streamWill({})), [{ topic: 'dead', payload: Buffer.from('bye'), qos: 0, retain: false, brokerId: 'broker-1', clientId: 'dev!1' }])
  t.same(await read(second.getClientList('cmd/+')), ['dev!1'])
  await second.deleteSession(client.id)
  t.equal(await second.getWill(client), undefined, 'deleteSession removes the aedes will too')
  t.same(await second.incomingIds(client.id), [])
})
