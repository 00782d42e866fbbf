import t, { type Test } from 'tap'
import { Level } from 'level'
import { LevelStore } from '../../src/persistence/index.js'
import { allBytes, collect, message, meta, queued, retainedTopics, runStoreSuite, sub } from './store-suite.js'

runStoreSuite(t, { name: 'level', factory: (t) => new LevelStore({ path: t.testdir() }) })

const open = async (path: string, sync = false): Promise<LevelStore> => {
  const store = new LevelStore({ path, sync })
  await store.open()
  return store
}

void t.test('after close and reopen everything is there, and seqs keep increasing', async (t) => {
  const path = t.testdir()
  const first = await open(path)
  const a = queued(first, 'q/a')
  const b = queued(first, 'q/b')
  const retained = message('r/1', allBytes, { retain: true, properties: { correlationData: Buffer.from([0, 1]) } })
  await first.putSessionMeta(meta('c', { disconnectedAt: 5 }))
  await first.putSubscriptions('c', [sub('r/#', { subscriptionId: 3 }), sub('x/+')])
  await first.commit({ retained, enqueue: [{ clientId: 'c', message: a }, { clientId: 'c', message: b }], incoming: { clientId: 'c', messageId: 42 } })
  await first.updateQueued('c', a.seq, 'sent', 9)
  const lastSeq = first.nextSeq()
  // Not awaited: close() must wait for it.
  const pending = first.removeQueued('c', b.seq)
  await first.close()
  await pending

  const second = await open(path)
  t.teardown(() => second.close())
  t.same(await collect(second.retainedMatching(['r/+'])), [retained])
  t.equal(await second.countRetained(), 1)
  t.same(await second.getSession('c'), { ...meta('c', { disconnectedAt: 5 }), subscriptions: [sub('r/#', { subscriptionId: 3 }), sub('x/+')] })
  t.same(await collect(second.queue('c')), [{ ...a, state: 'sent', messageId: 9 }])
  t.same(await second.incomingIds('c'), [42])
  t.ok(second.nextSeq() > lastSeq, 'seq continues above what was handed out before the close')
})

void t.test('User Properties keep their order across a close and reopen: retained, queued and will [MQTT-3.3.2-18]', async (t) => {
  const path = t.testdir()
  const order: Array<[string, string]> = [['z', '1'], ['a', '2'], ['z', '3']]
  const first = await open(path)
  const retained = message('r/1', 'kept', { retain: true, properties: { userProperties: order } })
  const entry = queued(first, 'q/a', { properties: { userProperties: order } })
  const will = { topic: 'w', payload: Buffer.from('bye'), qos: 1 as const, retain: false, properties: { willDelayInterval: 30, userProperties: order } }
  await first.putSessionMeta(meta('c', { will }))
  await first.commit({ retained, enqueue: [{ clientId: 'c', message: entry }] })
  await first.close()

  const second = await open(path)
  t.teardown(() => second.close())
  const [r] = await collect(second.retainedMatching(['r/1']))
  t.strictSame(r?.properties?.userProperties, order, 'retained')
  const [q] = await collect(second.queue('c'))
  t.strictSame(q?.properties?.userProperties, order, 'queued')
  t.strictSame((await second.getSession('c'))?.will?.properties?.userProperties, order, 'will')
})

void t.test('a store opened with sync: true writes, and reopens with its data', async (t) => {
  const path = t.testdir()
  const first = await open(path, true)
  await first.commit({ retained: message('s', 'synced', { retain: true }), enqueue: [{ clientId: 'c', message: queued(first, 's') }] })
  await first.close()
  const second = await open(path, true)
  t.teardown(() => second.close())
  t.same(await retainedTopics(second, ['#']), ['s'])
  t.equal(await second.queueLength('c'), 1)
})

void t.test('open() twice is one open, and close() before open() is harmless', async (t) => {
  const store = new LevelStore({ path: t.testdir() })
  await store.close()
  await Promise.all([store.open(), store.open()])
  await store.commit({ retained: message('x', 'y', { retain: true }) })
  await store.close()
  await store.open()
  t.equal(await store.countRetained(), 1)
  await store.close()
})

/** Records the keys of every LevelDB write batch the store makes (it uses chained batches). */
function recordBatches(t: Test): string[][] {
  const batches: string[][] = []
  const original = Level.prototype.batch
  t.capture(Level.prototype, 'batch', function (this: Level<string, Buffer>) {
    const batch = original.call(this) as ReturnType<Level<string, Buffer>['batch']>
    const keys: string[] = []
    batches.push(keys)
    const put = batch.put.bind(batch)
    const del = batch.del.bind(batch)
    batch.put = (key: string, value: Buffer) => (keys.push(key), put(key, value))
    batch.del = (key: string) => (keys.push(key), del(key))
    return batch
  })
  return batches
}

void t.test('one commit is one db.batch, and commits of the same tick share one', async (t) => {
  const store = await open(t.testdir())
  t.teardown(() => store.close())
  const batches = recordBatches(t)
  await store.commit({
    retained: message('a', 'r', { retain: true }),
    enqueue: [{ clientId: 'c1', message: queued(store, 'a') }, { clientId: 'c2', message: queued(store, 'a') }],
    incoming: { clientId: 'p', messageId: 1 },
  })
  t.same(batches.map((keys) => keys.map((key) => key.slice(0, 2)).sort()), [['i!', 'm!', 'q!', 'q!', 'r!']],
    'retained, both queue entries, the incoming id and the seq mark in one batch')
  batches.length = 0
  await Promise.all(Array.from({ length: 500 }, (_, i) => store.commit({ retained: message(`t/${i}`, 'x', { retain: true }) })))
  t.equal(batches.length, 1, '500 commits issued together: one batch')
  t.equal(batches[0]?.length, 501)
})

void t.test('deleteSession waits for earlier writes and is not undone by them', async (t) => {
  const store = await open(t.testdir())
  t.teardown(() => store.close())
  const early = store.commit({ enqueue: [{ clientId: 'c', message: queued(store, 'early') }] })
  const removal = store.deleteSession('c')
  const late = store.commit({ enqueue: [{ clientId: 'c', message: queued(store, 'late') }] })
  await Promise.all([early, removal, late])
  t.same((await collect(store.queue('c'))).map((m) => m.topic), ['late'])
})

void t.test('20k retained: a literal lookup reads one key through the index, no scan', async (t) => {
  const store = await open(t.testdir())
  t.teardown(() => store.close())
  const writes: Array<Promise<void>> = []
  for (let i = 0; i < 20_000; i++) {
    writes.push(store.commit({ retained: message(`fleet/${i % 100}/dev/${i}`, `v${i}`, { retain: true }) }))
  }
  await Promise.all(writes)
  t.equal(await store.countRetained(), 20_000)

  const getMany = t.capture(Level.prototype, 'getMany', Level.prototype.getMany)
  const iterators = t.capture(Level.prototype, 'iterator', Level.prototype.iterator)
  const keys = t.capture(Level.prototype, 'keys', Level.prototype.keys)
  const values = t.capture(Level.prototype, 'values', Level.prototype.values)
  const found = await collect(store.retainedMatching(['fleet/7/dev/1207']))
  t.same(found.map((m) => m.payload.toString()), ['v1207'])
  t.same(getMany.args().map((a) => a[0]), [['r!fleet/7/dev/1207']], 'one key read')
  t.equal(iterators.args().length + keys.args().length + values.args().length, 0, 'no iterator opened')

  const branch = await collect(store.retainedMatching(['fleet/7/#']))
  t.equal(branch.length, 200)
  t.equal(getMany.args().flatMap((a) => a[0] as string[]).length, 200, 'only the matching keys are read')
})

void t.test('the retained index is built after open(): lookups wait for it, and changes made meanwhile hold', async (t) => {
  const path = t.testdir()
  const first = await open(path)
  const count = 20_000
  const writes: Array<Promise<void>> = []
  for (let i = 0; i < count; i++) writes.push(first.commit({ retained: message(`idx/${i}`, `v${i}`, { retain: true }) }))
  await Promise.all(writes)
  await first.close()

  const second = await open(path)
  t.teardown(() => second.close())
  // Right after open(), before the scan of 20,000 keys can have finished: a delete, a
  // replacement and a new topic. The scan reads the database as it was and must not undo them.
  const changes = Promise.all([
    second.commit({ retained: message('idx/7', '', { retain: true }) }),
    second.commit({ retained: message('idx/8', 'replaced', { retain: true }) }),
    second.commit({ retained: message('idx/new', 'fresh', { retain: true }) }),
  ])
  t.equal(await second.countRetained(), count, 'count waits for the index: 20,000 - 1 deleted + 1 new')
  const found = await collect(second.retainedMatching(['idx/#']))
  await changes
  const byTopic = new Map(found.map((m) => [m.topic, m.payload.toString()]))
  t.equal(byTopic.size, count, 'every topic once')
  t.notOk(byTopic.has('idx/7'), 'the topic deleted during the build stays deleted')
  t.equal(byTopic.get('idx/8'), 'replaced', 'the replacement wins over the value on disk')
  t.equal(byTopic.get('idx/new'), 'fresh', 'a topic added during the build is there')
  t.equal(byTopic.get('idx/19999'), 'v19999', 'and what was on disk')
})

void t.test('removing queue entries deletes their state keys, also for states written before a restart', async (t) => {
  const path = t.testdir()
  const rawKeys = async (): Promise<string[]> => {
    const db = new Level<string, Buffer>(path, { keyEncoding: 'utf8', valueEncoding: 'buffer' })
    await db.open()
    const keys: string[] = []
    for await (const key of db.keys({ gte: 'q!', lt: 'q"' })) keys.push(key)
    await db.close()
    return keys
  }
  const first = await open(path)
  const [a, b, c] = [queued(first, 'a'), queued(first, 'b'), queued(first, 'c')]
  await first.commit({ enqueue: [a, b, c].map((message) => ({ clientId: 'cl', message })) })
  await first.updateQueued('cl', a.seq, 'sent', 1)
  await first.updateQueued('cl', b.seq, 'released', 2)
  await first.removeQueuedMany('cl', [a.seq])
  await first.close()
  t.equal((await rawKeys()).length, 3, 'b and c, and b\'s state: a went with its state')

  const second = await open(path)
  // A state written by the previous process is known once the queue has been read.
  t.same((await collect(second.queue('cl'))).map((m) => m.seq), [b.seq, c.seq])
  await second.removeQueued('cl', b.seq)
  await second.removeQueuedMany('cl', [c.seq])
  await second.close()
  t.same(await rawKeys(), [], 'no state key left behind')
})
