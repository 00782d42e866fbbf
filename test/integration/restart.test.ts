import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import t, { type Test } from 'tap'
import { MemoryStore, type Store, type StoredMessage } from '../../src/index.js'
import type { QueuedMessage } from '../../src/persistence/index.js'
import { startBroker } from '../helpers/broker.js'
import type { StartOptions } from '../helpers/transports.js'
import { closeClient, collect, connect, delay, until } from '../helpers/client.js'
import { PacketClient } from '../helpers/packet-client.js'

/*
 * A broker restarted on the same store: sessions come back from it (not hydrated: their queue
 * is read back when the client returns). A MemoryStore kept across two brokers stands in for
 * the data directory where the test has to hold the read of a queue half-way.
 */

/** A MemoryStore whose queue reads, while `isGated`, wait until `release()`: the read of a queue, held still. */
class GatedStore extends MemoryStore {
  isGated = false
  #reached: Array<() => void> = []
  #waiting = 0
  #release: Array<() => void> = []

  override async *queue(clientId: string): AsyncGenerator<QueuedMessage> {
    if (this.isGated) {
      this.#waiting++
      for (const r of this.#reached.splice(0)) r()
      await new Promise<void>((resolve) => this.#release.push(resolve))
    }
    yield* super.queue(clientId)
  }

  /** Resolves once a queue read is waiting at the gate. */
  async reached(): Promise<void> {
    if (this.#waiting > 0) return
    await new Promise<void>((resolve) => this.#reached.push(resolve))
  }

  release(): void {
    this.isGated = false
    for (const r of this.#release.splice(0)) r()
  }
}

const message = (payload: string, qos: 1 | 2): StoredMessage => ({ topic: 'r/x', payload: Buffer.from(payload), qos, retain: false })

async function hasSession(store: Store, clientId: string): Promise<boolean> {
  for await (const record of store.sessions()) if (record.clientId === clientId) return true
  return false
}

/** A persistent 5.0 session subscribed to `r/#` at QoS 2 and offline, with `queued` waiting for it. */
async function offlineSessionWith(t: Test, store: MemoryStore, clientId: string, queued: StoredMessage[], opts: StartOptions = {}): Promise<void> {
  const first = await startBroker({ ...opts, store, memory: true })
  const sub = await PacketClient.open(t, first.url, 5)
  await sub.connect({ clientId, clean: false, sessionExpiryInterval: 3600 })
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'r/#', qos: 2 }] })
  await sub.next('suback')
  sub.send({ cmd: 'disconnect' })
  await until(() => first.broker.connectionCount === 0, 2000, 'the subscriber to leave')
  for (const m of queued) await first.broker.publish(m)
  await first.close()
}

t.test('after a restart, messages published while a session\'s queue is read back come after it, each once [MQTT-4.6.0-6] [MQTT-4.3.3-1]', async (t) => {
  const store = new GatedStore()
  await offlineSessionWith(t, store, 'svc', [message('old0', 1), message('old1', 2), message('old2', 1)])
  store.isGated = true
  const second = await startBroker({ store, memory: true })
  t.teardown(() => second.close())
  const back = await PacketClient.open(t, second.url, 5)
  const connack = back.connect({ clientId: 'svc', clean: false, sessionExpiryInterval: 3600 })
  await store.reached()
  // Published while the broker reads the stored queue: they must wait behind it.
  await second.broker.publish(message('new0', 2))
  await second.broker.publish(message('new1', 1))
  store.release()
  t.equal((await connack).sessionPresent, true)
  const got: string[] = []
  for (let i = 0; i < 5; i++) got.push((await back.next('publish')).payload.toString())
  t.same(got, ['old0', 'old1', 'old2', 'new0', 'new1'], 'the stored queue first, then the new messages, in order')
  await second.broker.publish(message('marker', 1))
  t.equal((await back.next('publish')).payload.toString(), 'marker', 'nothing was sent twice')
})

t.test('after a restart, a session resumed with Session Expiry Interval 0 still gets its queue [MQTT-3.1.2-5]', async (t) => {
  const store = new MemoryStore()
  await offlineSessionWith(t, store, 'svc0', [message('kept0', 1), message('kept1', 2)])
  const second = await startBroker({ store, memory: true })
  t.teardown(() => second.close())
  const back = await PacketClient.open(t, second.url, 5)
  t.equal((await back.connect({ clientId: 'svc0', clean: false, sessionExpiryInterval: 0 })).sessionPresent, true)
  const got = [(await back.next('publish')).payload.toString(), (await back.next('publish')).payload.toString()]
  t.same(got, ['kept0', 'kept1'], 'the queue read before the session stopped being kept')
  t.equal(await hasSession(store, 'svc0'), false, 'and the session is no longer stored')
})

t.test('after a restart, an offline session still keeps its queue within limits.maxQueuedBytes', async (t) => {
  const opts = { config: { limits: { maxQueuedBytes: 100 } } }
  const store = new MemoryStore()
  await offlineSessionWith(t, store, 'bytes', [], opts)
  const second = await startBroker({ ...opts, store, memory: true })
  t.teardown(() => second.close())
  // 40 + 40 bytes fit in 100; the third would make 120.
  for (const p of ['a', 'b', 'c']) await second.broker.publish(message(p.repeat(40), 1))
  const back = await PacketClient.open(t, second.url, 5)
  t.equal((await back.connect({ clientId: 'bytes', clean: false, sessionExpiryInterval: 3600 })).sessionPresent, true)
  await second.broker.publish(message('end', 1))
  const got: string[] = []
  for (let i = 0; i < 3; i++) got.push((await back.next('publish')).payload.toString().slice(0, 3))
  t.same(got, ['aaa', 'bbb', 'end'], 'the first two were queued, the third dropped')
})

t.test('after a restart, a will whose delay was running is published when the delay runs out [MQTT-3.1.3-9]', async (t) => {
  const store = new MemoryStore()
  const first = await startBroker({ store, memory: true })
  const leaving = await connect(first.url, {
    protocolVersion: 5, clientId: 'leaving', clean: false, properties: { sessionExpiryInterval: 3600 },
    will: { topic: 'will/restart', payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 2 } },
  })
  leaving.stream.destroy()
  const droppedAt = Date.now()
  await until(() => first.broker.connectionCount === 0, 2000, 'the broker to see the connection drop')
  await first.close()

  const second = await startBroker({ store, memory: true })
  t.teardown(() => second.close())
  const watcher = await connect(second.url, { protocolVersion: 5, clientId: 'watcher' })
  t.teardown(() => closeClient(watcher))
  const got = collect(watcher)
  await watcher.subscribeAsync('will/#', { qos: 1 })
  const [m] = await got.next(1, 5000)
  t.equal(m?.payload, 'gone')
  const after = Date.now() - droppedAt
  t.ok(after >= 1900, `not before the Will Delay Interval (${after} ms after the drop)`)
})

t.test('session expiry runs across a restart: expired while down, or on time after it [MQTT-3.1.2-23]', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'halyard-expiry-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const first = await startBroker({ dataDir })
  for (const [clientId, sessionExpiryInterval] of [['gone', 1], ['soon', 3], ['kept', 3600]] as const) {
    const c = await PacketClient.open(t, first.url, 5)
    await c.connect({ clientId, clean: false, sessionExpiryInterval })
    c.send({ cmd: 'disconnect' })
  }
  await until(() => first.broker.connectionCount === 0, 2000, 'the clients to leave')
  const leftAt = Date.now()
  await first.close()
  await delay(1200) // 'gone' runs out while no broker is running

  const expiredAt = new Map<string, number>()
  const logger = pino({ level: 'info' }, {
    write(line: string) {
      const entry = JSON.parse(line) as { msg?: string; clientId?: string }
      if (entry.msg === 'session expired' && entry.clientId !== undefined) expiredAt.set(entry.clientId, Date.now())
    },
  })
  const second = await startBroker({ dataDir, logger })
  t.teardown(() => second.close())
  const resume = async (clientId: string): Promise<boolean> => {
    const c = await PacketClient.open(t, second.url, 5)
    const { sessionPresent } = await c.connect({ clientId, clean: false, sessionExpiryInterval: 3600 })
    c.send({ cmd: 'disconnect' })
    return sessionPresent
  }
  t.equal(await resume('gone'), false, 'a session that expired while the broker was down is gone')
  t.equal(await resume('kept'), true, 'a session that has not expired is resumed')
  t.notOk(expiredAt.has('soon'), 'a session with time left is not expired at the restart')
  await until(() => expiredAt.has('soon'), 5000, "'soon' to expire")
  const after = (expiredAt.get('soon') ?? 0) - leftAt
  t.ok(after >= 2900 && after < 4500, `expired 3 s after it went offline, counting the time the broker was down (${after} ms)`)
  t.equal(await resume('soon'), false, 'and it is gone')
})
