import t from 'tap'
import type { IClientOptions } from 'mqtt'
import { closeClient, open } from '../helpers/client.js'
import { openV5, restartable } from '../helpers/restart.js'

/*
 * A graceful stop (SIGTERM, `broker.close()`) closes every connection from the server's side.
 * None of those clients sent DISCONNECT, so their wills stand [MQTT-3.1.2-8]: a will whose
 * session ends with its connection is published before the store closes, and a delayed will
 * of a persistent session waits, stored, for its delay counted from that close, across the
 * restart. A persistent subscriber that is offline at the stop finds them queued afterwards.
 */

const watcherOpts: IClientOptions = { clientId: 'sw-watch', clean: false, properties: { sessionExpiryInterval: 300 } }

t.test('a graceful stop publishes the wills of connected clients whose sessions end with them [MQTT-3.1.2-8]', async (t) => {
  const r = await restartable(t)
  let b = await r.start()
  const w1 = await openV5(t, b.url, watcherOpts)
  await w1.client.subscribeAsync('sw/now/#', { qos: 1 })
  await w1.client.endAsync()
  const v5 = await openV5(t, b.url, {
    clientId: 'sw-v5', will: { topic: 'sw/now/v5', payload: Buffer.from('v5 gone'), qos: 1, retain: false },
  })
  const v4 = await open(b.url, {
    protocolVersion: 4, clientId: 'sw-v4', clean: true,
    will: { topic: 'sw/now/v4', payload: Buffer.from('v4 gone'), qos: 1, retain: false },
  })
  t.teardown(() => closeClient(v4.client))
  const polite = await openV5(t, b.url, {
    clientId: 'sw-polite', will: { topic: 'sw/now/polite', payload: Buffer.from('never'), qos: 1, retain: false },
  })
  await polite.client.endAsync()
  t.ok(v5.client.connected && v4.client.connected, 'both clients with wills are connected when the broker stops')
  await r.stop()
  b = await r.start()
  const w2 = await openV5(t, b.url, watcherOpts)
  t.equal(w2.connack.sessionPresent, true, 'the watcher resumes its session')
  const got = await w2.got.next(2, 5000)
  t.same(got.map((m) => `${m.topic}=${m.payload}`).sort(), ['sw/now/v4=v4 gone', 'sw/now/v5=v5 gone'],
    'both wills were queued for the offline watcher')
  // A later message on the same filter marks the end: a will of the client that sent
  // DISCONNECT would have been queued before it [MQTT-3.1.2-10].
  const marker = await openV5(t, b.url, { clientId: 'sw-marker' })
  await marker.client.publishAsync('sw/now/marker', 'end', { qos: 1 })
  const all = await w2.got.next(3, 5000)
  t.same(all.map((m) => m.topic).slice(2), ['sw/now/marker'], 'no will for the client that disconnected normally')
})

t.test('a graceful stop keeps a persistent session\'s delayed will for its delay, counted across the restart [MQTT-3.1.3-9]', async (t) => {
  const r = await restartable(t)
  let b = await r.start()
  const w1 = await openV5(t, b.url, watcherOpts)
  await w1.client.subscribeAsync('sw/later/#', { qos: 1 })
  await w1.client.endAsync()
  const dying = await openV5(t, b.url, {
    clientId: 'sw-delayed', clean: false, properties: { sessionExpiryInterval: 60 },
    will: { topic: 'sw/later/x', payload: Buffer.from('after the delay'), qos: 1, retain: false, properties: { willDelayInterval: 2 } },
  })
  t.ok(dying.client.connected)
  const stoppedAt = Date.now()
  await r.stop()
  b = await r.start()
  const w2 = await openV5(t, b.url, watcherOpts)
  t.equal(w2.connack.sessionPresent, true)
  const [m] = await w2.got.next(1, 6000)
  const elapsed = Date.now() - stoppedAt
  t.same([m?.topic, m?.payload], ['sw/later/x', 'after the delay'], 'the delayed will is published after the restart')
  t.ok(elapsed >= 1950, `not before its 2 s delay from the stop (${elapsed} ms)`)
})

t.test('draining a node publishes the wills of the clients it sends away [MQTT-3.1.2-8]', async (t) => {
  const r = await restartable(t)
  const b = await r.start()
  // 3.1.1 clients are not redirected, so this watcher can come back to the drained node.
  const watcher: IClientOptions = { protocolVersion: 4, clientId: 'sw-drain-watch', clean: false }
  const w1 = await open(b.url, watcher)
  await w1.client.subscribeAsync('sw/drain/#', { qos: 1 })
  await w1.client.endAsync()
  const moving = await openV5(t, b.url, {
    clientId: 'sw-moving', will: { topic: 'sw/drain/moving', payload: Buffer.from('gone'), qos: 1, retain: false },
  })
  t.ok(moving.client.connected)
  await b.broker.redirect('other:1883')
  const w2 = await open(b.url, watcher)
  t.teardown(() => closeClient(w2.client))
  const [m] = await w2.got.next(1, 5000)
  t.same([m?.topic, m?.payload], ['sw/drain/moving', 'gone'], 'the redirected client\'s will was published')
})
