/**
 * Halyard's store contract, run against every implementation (abstract-level style): each
 * test gets a fresh, open store from the factory and the suite closes it afterwards.
 */
import type { Test } from 'tap'
import type {
  QueuedMessage, SessionMeta, Store, StoredMessage, SubscriptionRecord,
} from '../../src/persistence/index.js'

export interface StoreSuiteOptions {
  name: string
  /** A fresh store, not yet opened; `t` owns any temp dir it needs. */
  factory: (t: Test) => Store | Promise<Store>
}

export const message = (topic: string, payload: string | Buffer, extra: Partial<StoredMessage> = {}): StoredMessage => ({
  topic,
  payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
  qos: 1,
  retain: false,
  ...extra,
})

export const queued = (store: Store, topic: string, extra: Partial<QueuedMessage> = {}): QueuedMessage => ({
  ...message(topic, `to ${topic}`),
  seq: store.nextSeq(),
  state: 'queued',
  ...extra,
})

export const sub = (filter: string, extra: Partial<SubscriptionRecord> = {}): SubscriptionRecord => ({
  filter, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, ...extra,
})

export const meta = (clientId: string, extra: Partial<SessionMeta> = {}): SessionMeta => ({
  clientId, protocolVersion: 5, expiryInterval: 3600, ...extra,
})

export async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of source) out.push(item)
  return out
}

export const retainedTopics = async (store: Store, filters: string[]): Promise<string[]> =>
  (await collect(store.retainedMatching(filters))).map((m) => m.topic).sort()

/** Every byte value, to prove payloads are stored as bytes rather than text. */
export const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))

export function runStoreSuite(t: Test, { name, factory }: StoreSuiteOptions): void {
  const test = (title: string, fn: (t: Test, store: Store) => Promise<void>): void => {
    void t.test(`${name}: ${title}`, async (t) => {
      const store = await factory(t)
      await store.open()
      t.teardown(() => store.close())
      await fn(t, store)
    })
  }

  test('one commit makes the retained message, queue entries and incoming id visible together', async (t, store) => {
    const retained = message('a/b', 'r', { retain: true })
    const entries = [
      { clientId: 'c1', message: queued(store, 'a/b') },
      { clientId: 'c2', message: queued(store, 'a/b') },
    ]
    await store.commit({ retained, enqueue: entries, incoming: { clientId: 'pub', messageId: 7 } })
    t.same(await collect(store.retainedMatching(['a/b'])), [retained])
    t.same(await collect(store.queue('c1')), [entries[0]?.message])
    t.same(await collect(store.queue('c2')), [entries[1]?.message])
    t.equal(await store.hasIncoming('pub', 7), true)
  })

  test('a retained update is visible to lookups as soon as it is committed, before the write resolves', async (t, store) => {
    await store.commit({ retained: message('live/t', 'old', { retain: true }) })
    const writing = store.commit({ retained: message('live/t', 'new', { retain: true }) })
    t.same((await collect(store.retainedMatching(['live/#']))).map((m) => m.payload.toString()), ['new'])
    const deleting = store.commit({ retained: message('live/t', '', { retain: true }) })
    t.same(await collect(store.retainedMatching(['live/#'])), [], 'a pending delete hides the old value')
    await Promise.all([writing, deleting])
    t.same(await collect(store.retainedMatching(['live/#'])), [])
  })

  test('a retained message is replaced by the next one and deleted by an empty payload [MQTT-3.3.1-6]', async (t, store) => {
    await store.commit({ retained: message('x', 'one', { retain: true }) })
    await store.commit({ retained: message('x', 'two', { retain: true }) })
    t.same((await collect(store.retainedMatching(['x']))).map((m) => m.payload.toString()), ['two'])
    t.equal(await store.countRetained(), 1)
    await store.commit({ retained: message('x', '', { retain: true }) })
    t.same(await collect(store.retainedMatching(['#'])), [])
    t.equal(await store.countRetained(), 0)
  })

  test('retainedMatching follows + and #, keeps $ topics from leading wildcards, yields each once', async (t, store) => {
    for (const topic of ['a', 'a/b', 'a/b/c', 'a/x/c', 'b/b', '$SYS/load', '/lead']) {
      await store.commit({ retained: message(topic, topic, { retain: true }) })
    }
    t.same(await retainedTopics(store, ['a/+/c']), ['a/b/c', 'a/x/c'])
    t.same(await retainedTopics(store, ['a/#']), ['a', 'a/b', 'a/b/c', 'a/x/c'], '# matches the parent [MQTT-4.7.1-2]')
    t.same(await retainedTopics(store, ['#']), ['/lead', 'a', 'a/b', 'a/b/c', 'a/x/c', 'b/b'], '[MQTT-4.7.2-1]')
    t.same(await retainedTopics(store, ['+/load', '+/b']), ['a/b', 'b/b'], '[MQTT-4.7.2-1]')
    t.same(await retainedTopics(store, ['$SYS/#']), ['$SYS/load'])
    t.same(await retainedTopics(store, ['+/lead']), ['/lead'], 'an empty first level is a level')
    const overlapping = await collect(store.retainedMatching(['a/#', 'a/b', '+/b', '#']))
    t.equal(overlapping.length, 6, 'no duplicates when several filters match one topic')
    t.same(await retainedTopics(store, ['nothing/here']), [])
  })

  test('expired retained messages are skipped and deleted [MQTT-3.3.2-5]', async (t, store) => {
    await store.commit({ retained: message('old', 'x', { retain: true, expiresAt: Date.now() - 1 }) })
    await store.commit({ retained: message('new', 'y', { retain: true, expiresAt: Date.now() + 60_000 }) })
    t.same(await retainedTopics(store, ['#']), ['new'])
    // The delete is queued behind the read; any later write resolves after it.
    await store.commit({})
    t.equal(await store.countRetained(), 1)
  })

  test('payloads, properties and correlation data round-trip byte-exact, User Property order kept [MQTT-3.3.2-18]', async (t, store) => {
    const full = message('p', allBytes, {
      qos: 2,
      retain: true,
      origin: 'publisher',
      expiresAt: Date.now() + 60_000,
      properties: {
        payloadFormatIndicator: false,
        contentType: 'application/octet-stream',
        responseTopic: 'reply/here',
        correlationData: Buffer.from([0, 0xff, 0x00, 0x80]),
        userProperties: [['z', '1'], ['a', '2'], ['z', '3'], ['\u0000odd', 'kept']],
      },
    })
    await store.commit({ retained: full, enqueue: [{ clientId: 'c', message: { ...full, seq: store.nextSeq(), state: 'queued', subscriptionIds: [1, 7] } }] })
    const [retained] = await collect(store.retainedMatching(['p']))
    t.same(retained, full)
    t.ok(retained?.payload.equals(allBytes))
    t.ok(retained?.properties?.correlationData?.equals(Buffer.from([0, 0xff, 0x00, 0x80])))
    const order = [['z', '1'], ['a', '2'], ['z', '3'], ['\u0000odd', 'kept']]
    t.strictSame(retained?.properties?.userProperties, order, 'retained: interleaved names in the order sent')
    const [entry] = await collect(store.queue('c'))
    t.same(entry?.subscriptionIds, [1, 7])
    t.ok(entry?.payload.equals(allBytes))
    t.strictSame(entry?.properties?.userProperties, order, 'queued: interleaved names in the order sent')
  })

  test('the queue reads back in seq order and leaves out expired entries', async (t, store) => {
    const first = queued(store, 't/1')
    const second = queued(store, 't/2')
    const expired = queued(store, 't/3', { expiresAt: Date.now() - 1 })
    await store.commit({ enqueue: [{ clientId: 'c', message: second }] })
    await store.commit({ enqueue: [{ clientId: 'c', message: expired }, { clientId: 'c', message: first }] })
    t.same((await collect(store.queue('c'))).map((m) => m.seq), [first.seq, second.seq])
    t.same(await collect(store.queue('nobody')), [])
  })

  test('updateQueued sets state and packet id, removeQueued drops the entry', async (t, store) => {
    const a = queued(store, 'a')
    const b = queued(store, 'b')
    await store.commit({ enqueue: [{ clientId: 'c', message: a }, { clientId: 'c', message: b }] })
    t.equal(await store.queueLength('c'), 2)
    await store.updateQueued('c', a.seq, 'sent', 11)
    await store.updateQueued('c', b.seq, 'sent', 12)
    await store.updateQueued('c', b.seq, 'released', 12)
    t.match(await collect(store.queue('c')), [
      { seq: a.seq, state: 'sent', messageId: 11 },
      { seq: b.seq, state: 'released', messageId: 12 },
    ])
    await store.updateQueued('c', a.seq, 'queued')
    t.equal((await collect(store.queue('c')))[0]?.messageId, undefined, 'no messageId: none')
    await store.removeQueued('c', a.seq)
    t.same((await collect(store.queue('c'))).map((m) => m.seq), [b.seq])
    t.equal(await store.queueLength('c'), 1)
    await store.updateQueued('c', a.seq, 'sent', 13)
    await store.removeQueued('c', 999_999)
    t.same((await collect(store.queue('c'))).map((m) => m.seq), [b.seq], 'a gone entry stays gone')
    t.equal(await store.queueLength('c'), 1)
  })

  test('removeQueuedMany drops several entries and their states in one write, and only those', async (t, store) => {
    const [a, b, c] = [queued(store, 'a'), queued(store, 'b'), queued(store, 'c')]
    await store.commit({ enqueue: [a, b, c].map((message) => ({ clientId: 'cl', message })) })
    await store.updateQueued('cl', b.seq, 'released', 5)
    await store.removeQueuedMany('cl', [a.seq, b.seq, 999_999])
    t.same((await collect(store.queue('cl'))).map((m) => m.seq), [c.seq])
    t.equal(await store.queueLength('cl'), 1)
    await store.removeQueuedMany('cl', [])
    t.equal(await store.queueLength('cl'), 1, 'an empty list changes nothing')
  })

  test('writes issued without waiting land in the order they were issued', async (t, store) => {
    const a = queued(store, 'a')
    const enqueue = store.commit({ enqueue: [{ clientId: 'c', message: a }] })
    const update = store.updateQueued('c', a.seq, 'sent', 1)
    const remove = store.removeQueued('c', a.seq)
    await Promise.all([enqueue, update, remove])
    t.same(await collect(store.queue('c')), [])
  })

  test('many commits in one tick all resolve, and all are there', async (t, store) => {
    const commits = Array.from({ length: 2000 }, (_, i) =>
      store.commit({ enqueue: [{ clientId: `c${i % 10}`, message: queued(store, `t/${i}`) }] }))
    await Promise.all(commits)
    let total = 0
    for (let i = 0; i < 10; i++) total += await store.queueLength(`c${i}`)
    t.equal(total, 2000)
  })

  test('nextSeq is strictly increasing', async (t, store) => {
    let last = store.nextSeq()
    let isIncreasing = true
    for (let i = 0; i < 10_000; i++) {
      const next = store.nextSeq()
      if (next <= last) isIncreasing = false
      last = next
    }
    t.ok(isIncreasing)
  })

  test('session meta and subscriptions come back from getSession and sessions()', async (t, store) => {
    const will = { topic: 'gone', payload: allBytes, qos: 1 as const, retain: false, properties: { willDelayInterval: 5 } }
    await store.putSessionMeta(meta('c1', { will, disconnectedAt: 1234 }))
    await store.putSessionMeta(meta('c2', { protocolVersion: 4, expiryInterval: 0xffffffff }))
    await store.putSubscriptions('c1', [sub('a/+'), sub('b/#', { qos: 2, subscriptionId: 9 })])
    await store.putSubscriptions('c1', [sub('a/+', { qos: 0, noLocal: true, retainHandling: 2 })])
    await store.removeSubscriptions('c1', ['b/#', 'not/there'])
    const c1 = await store.getSession('c1')
    t.same(c1, { ...meta('c1', { will, disconnectedAt: 1234 }), subscriptions: [sub('a/+', { qos: 0, noLocal: true, retainHandling: 2 })] })
    t.ok(c1?.will?.payload.equals(allBytes))
    t.equal(await store.getSession('nobody'), undefined)
    const all = (await collect(store.sessions())).sort((a, b) => a.clientId.localeCompare(b.clientId))
    t.same(all.map((s) => [s.clientId, s.subscriptions.length]), [['c1', 1], ['c2', 0]])
  })

  test('deleteSession removes everything the client owns, and nothing of a client with a longer id', async (t, store) => {
    for (const id of ['abc', 'abcdef', 'abc!x', 'ab%c']) {
      await store.putSessionMeta(meta(id))
      await store.putSubscriptions(id, [sub(`${id}/t`)])
      await store.commit({ enqueue: [{ clientId: id, message: queued(store, 't') }], incoming: { clientId: id, messageId: 1 } })
    }
    const before = await collect(store.queue('abc'))
    await store.updateQueued('abc', before[0]?.seq ?? 0, 'sent', 4)
    await store.deleteSession('abc')
    t.equal(await store.getSession('abc'), undefined)
    t.same(await collect(store.queue('abc')), [])
    t.equal(await store.queueLength('abc'), 0)
    t.same(await store.incomingIds('abc'), [])
    for (const id of ['abcdef', 'abc!x', 'ab%c']) {
      t.same((await store.getSession(id))?.subscriptions.map((s) => s.filter), [`${id}/t`], id)
      t.equal(await store.queueLength(id), 1, id)
      t.same(await store.incomingIds(id), [1], id)
    }
    t.same((await collect(store.sessions())).map((s) => s.clientId).sort(), ['ab%c', 'abc!x', 'abcdef'])
  })

  test('inbound QoS 2 ids are remembered until removed [MQTT-4.3.3-10]', async (t, store) => {
    for (const messageId of [300, 2, 65535]) await store.commit({ incoming: { clientId: 'c', messageId } })
    t.same(await store.incomingIds('c'), [2, 300, 65535])
    t.equal(await store.hasIncoming('c', 300), true)
    t.equal(await store.hasIncoming('other', 300), false)
    await store.removeIncoming('c', 300)
    t.equal(await store.hasIncoming('c', 300), false)
    t.same(await store.incomingIds('c'), [2, 65535])
  })
}
