import t from 'tap'
import { openV5, restartable, waitOut } from '../helpers/restart.js'

/*
 * Message Expiry Interval across a broker restart on the same LevelDB data dir: the interval
 * runs in wall-clock time from the publish, whether the broker is up or not. An expired
 * message is not delivered [MQTT-3.3.2-5]; one still alive goes out with the interval reduced
 * by the time it waited [MQTT-3.3.2-6], downtime included.
 */

const expiry = (messageExpiryInterval: number): { qos: 1; properties: { messageExpiryInterval: number } } =>
  ({ qos: 1, properties: { messageExpiryInterval } })

t.test('queued messages expire across a restart; one still alive is delivered with its interval reduced by the time spent [MQTT-3.3.2-5] [MQTT-3.3.2-6]', async (t) => {
  const r = await restartable(t)
  let b = await r.start()
  const session = { clientId: 'e-sub', clean: false, properties: { sessionExpiryInterval: 60 } }
  const sub = await openV5(t, b.url, session)
  await sub.client.subscribeAsync('rexp/q/#', { qos: 1 })
  await sub.client.endAsync()
  const pub = await openV5(t, b.url, { clientId: 'e-pub' })
  const publishedAt = Date.now()
  await pub.client.publishAsync('rexp/q/before', 'expires before the restart', expiry(1))
  await pub.client.publishAsync('rexp/q/after', 'expires after the restart', expiry(2))
  await pub.client.publishAsync('rexp/q/alive', 'alive', expiry(10))
  await r.stop()
  await waitOut(publishedAt, 1300)
  b = await r.start()
  // The 2 s message is still alive when the broker restores the queue, and gone when the
  // subscriber comes back.
  await waitOut(publishedAt, 2300)
  const back = await openV5(t, b.url, session)
  t.equal(back.connack.sessionPresent, true, 'the session survived the restart')
  const [first] = await back.got.next(1)
  t.same([first?.topic, first?.payload], ['rexp/q/alive', 'alive'], 'the first message delivered is the one not yet expired')
  const left = first?.properties?.messageExpiryInterval
  const spent = (Date.now() - publishedAt) / 1000
  t.ok(typeof left === 'number' && left <= Math.ceil(10 - 2.3) && left >= Math.floor(10 - spent),
    `Message Expiry Interval reduced by the ${spent.toFixed(1)} s spent, downtime included: ${String(left)}`)
  const pub2 = await openV5(t, b.url, { clientId: 'e-pub' })
  await pub2.client.publishAsync('rexp/q/marker', 'marker', { qos: 1 })
  const all = await back.got.next(2)
  t.same(all.map((m) => m.topic), ['rexp/q/alive', 'rexp/q/marker'], 'neither expired message is delivered')
})

t.test('a retained message expires across a restart; one still alive is sent with its interval reduced by the time spent [MQTT-3.3.2-5] [MQTT-3.3.2-6]', async (t) => {
  const r = await restartable(t)
  let b = await r.start()
  const pub = await openV5(t, b.url, { clientId: 'er-pub' })
  const publishedAt = Date.now()
  await pub.client.publishAsync('rexp/r/short', 'short', { ...expiry(1), retain: true })
  await pub.client.publishAsync('rexp/r/long', 'long', { ...expiry(10), retain: true })
  await r.stop()
  await waitOut(publishedAt, 1500)
  b = await r.start()
  const sub = await openV5(t, b.url, { clientId: 'er-sub' })
  await sub.client.subscribeAsync('rexp/r/#', { qos: 1 })
  const [first] = await sub.got.next(1)
  t.same([first?.topic, first?.retain], ['rexp/r/long', true], 'only the retained message not yet expired is sent')
  const left = first?.properties?.messageExpiryInterval
  const spent = (Date.now() - publishedAt) / 1000
  t.ok(typeof left === 'number' && left <= Math.ceil(10 - 1.5) && left >= Math.floor(10 - spent),
    `Message Expiry Interval reduced by the ${spent.toFixed(1)} s spent, downtime included: ${String(left)}`)
  // Retained messages go out before live ones on a subscribe [MQTT-4.6.0-6]: once the live
  // marker arrives, the expired one would have been sent already.
  const pub2 = await openV5(t, b.url, { clientId: 'er-pub' })
  await pub2.client.publishAsync('rexp/r/marker', 'marker', { qos: 1 })
  const all = await sub.got.next(2)
  t.same(all.map((m) => m.topic), ['rexp/r/long', 'rexp/r/marker'], 'the expired retained message is not sent')
  // A second subscriber after the marker: the expired message is not in the store's answer either.
  const late = await openV5(t, b.url, { clientId: 'er-late' })
  await late.client.subscribeAsync('rexp/r/short', { qos: 1 })
  await pub2.client.publishAsync('rexp/r/short', 'live', { qos: 1 })
  const [m] = await late.got.next(1)
  t.same([m?.payload, m?.retain], ['live', false], 'a subscribe to the expired topic alone gets nothing retained')
})
