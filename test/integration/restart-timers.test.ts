import t from 'tap'
import type { IClientOptions } from 'mqtt'
import { dropAndWait, openV5, restartable, waitOut } from '../helpers/restart.js'

/*
 * Will Delay Interval and Session Expiry Interval across a broker restart on the same LevelDB
 * data dir. Both run from the moment the network connection closed [MQTT-3.1.3-9],
 * [MQTT-3.1.2-23], so a restart in the middle must neither restart them from zero nor forget
 * them. Each test waits out part of an interval before restarting (that time is what is under
 * test), then checks the arrival time against the two answers: counted from the disconnect
 * (right) and counted from the restart (wrong), which the restart point puts well apart.
 */

const persistent = (clientId: string, sessionExpiryInterval = 60): IClientOptions =>
  ({ clientId, clean: false, properties: { sessionExpiryInterval } })

const withWill = (opts: IClientOptions, topic: string, payload: string, willDelayInterval: number): IClientOptions =>
  ({ ...opts, will: { topic, payload: Buffer.from(payload), qos: 1, retain: false, properties: { willDelayInterval } } })

t.test('a delayed will keeps its delay counted from the disconnect across a restart, and is published once [MQTT-3.1.3-9]', async (t) => {
  const r = await restartable(t)
  let b = await r.start()
  const watcher = persistent('a-watch')
  const w1 = await openV5(t, b.url, watcher)
  await w1.client.subscribeAsync('rwill/a/#', { qos: 1 })
  const dying = await openV5(t, b.url, withWill(persistent('a-dying'), 'rwill/a/dying', 'late', 3))
  const droppedAt = await dropAndWait(b, dying, 'a-dying')
  await r.stop()
  await waitOut(droppedAt, 1500)
  b = await r.start()
  const w2 = await openV5(t, b.url, watcher)
  t.equal(w2.connack.sessionPresent, true, 'the watcher resumes its session')
  // The control's will is due 3 s after this drop, later than a dying-client will re-armed
  // from zero at the restart would be: once the control's arrives, a second or restarted
  // copy of the first would have arrived before it.
  const control = await openV5(t, b.url, withWill(persistent('a-control'), 'rwill/a/control', 'control', 3))
  await dropAndWait(b, control, 'a-control')
  const [first] = await w2.got.next(1, 8000)
  const elapsed = Date.now() - droppedAt
  t.equal(first?.payload, 'late', 'the will of the client that dropped before the restart comes first')
  t.ok(elapsed >= 2950, `not before its 3 s delay (${elapsed} ms after the disconnect)`)
  t.ok(elapsed < 4200, `at 3 s after the disconnect, not 3 s after the restart (>= 4.5 s): ${elapsed} ms`)
  const all = await w2.got.next(2, 8000)
  t.same(all.map((m) => m.topic), ['rwill/a/dying', 'rwill/a/control'], 'the first will exactly once, then the control')
})

t.test('a will whose delay ran out while the broker was down is published at restart, to sessions restored after its own [MQTT-3.1.3-9]', async (t) => {
  // Sessions are restored in client id order: the dying client's comes first, so its will
  // must wait until the watcher's subscription is back in the router.
  const r = await restartable(t)
  let b = await r.start()
  const watcher = persistent('z-watch')
  const w1 = await openV5(t, b.url, watcher)
  await w1.client.subscribeAsync('rwill/due/#', { qos: 1 })
  await w1.client.endAsync()
  const dying = await openV5(t, b.url, withWill(persistent('a-due'), 'rwill/due/x', 'due while down', 1))
  const droppedAt = await dropAndWait(b, dying, 'a-due')
  await r.stop()
  await waitOut(droppedAt, 1200)
  b = await r.start()
  const w2 = await openV5(t, b.url, watcher)
  t.equal(w2.connack.sessionPresent, true)
  const [m] = await w2.got.next(1)
  t.same([m?.topic, m?.payload], ['rwill/due/x', 'due while down'], 'queued for the watcher while it was offline')
})

t.test('a will delayed past the session expiry is published when the session ends, counted across a restart [MQTT-3.1.3-9]', async (t) => {
  const r = await restartable(t)
  let b = await r.start()
  const dyingOpts = withWill(persistent('b-dying', 2), 'rwill/b/x', 'session over', 30)
  const dying = await openV5(t, b.url, dyingOpts)
  const droppedAt = await dropAndWait(b, dying, 'b-dying')
  await r.stop()
  await waitOut(droppedAt, 1300)
  b = await r.start()
  const watcher = await openV5(t, b.url, { clientId: 'b-watch' })
  await watcher.client.subscribeAsync('rwill/b/#', { qos: 1 })
  const [m] = await watcher.got.next(1, 5000)
  const elapsed = Date.now() - droppedAt
  t.equal(m?.payload, 'session over')
  t.ok(elapsed >= 1950, `not before the 2 s session expiry (${elapsed} ms)`)
  t.ok(elapsed < 3100, `at the session expiry counted from the disconnect, not from the restart (>= 3.3 s): ${elapsed} ms`)
  const back = await openV5(t, b.url, { ...persistent('b-dying', 2) })
  t.equal(back.connack.sessionPresent, false, 'the session ended with its will')
})

t.test('a reconnect after the restart, within the will delay, cancels the will [MQTT-3.1.3-9]', async (t) => {
  const r = await restartable(t)
  let b = await r.start()
  const watcher = persistent('c-watch')
  const w1 = await openV5(t, b.url, watcher)
  await w1.client.subscribeAsync('rwill/c/#', { qos: 1 })
  const dyingOpts = withWill(persistent('c-back'), 'rwill/c/back', 'must not appear', 2)
  const dying = await openV5(t, b.url, dyingOpts)
  // Dropped after the first, with a longer delay: its will proves the first one's time ran out.
  const control = await openV5(t, b.url, withWill(persistent('c-control'), 'rwill/c/control', 'control', 3))
  await dropAndWait(b, dying, 'c-back')
  await dropAndWait(b, control, 'c-control')
  await r.stop()
  b = await r.start()
  const w2 = await openV5(t, b.url, watcher)
  const back = await openV5(t, b.url, persistent('c-back'))
  t.equal(back.connack.sessionPresent, true, 'the session survived the restart and is resumed within the delay')
  const [m] = await w2.got.next(1, 6000)
  t.equal(m?.topic, 'rwill/c/control', 'only the control will is published')
})

t.test('a session expires on time across a restart; one reconnecting before its expiry gets Session Present 1 and its queue [MQTT-3.1.2-23]', async (t) => {
  const r = await restartable(t)
  let b = await r.start()
  const short = persistent('d-short', 2)
  const long = persistent('d-long', 5)
  for (const opts of [short, long]) {
    const c = await openV5(t, b.url, opts)
    await c.client.subscribeAsync('rsess/t', { qos: 1 })
    await c.client.endAsync()
  }
  const closedAt = Date.now()
  const pub = await openV5(t, b.url, { clientId: 'd-pub' })
  await pub.client.publishAsync('rsess/t', 'queued', { qos: 1 })
  await r.stop()
  await waitOut(closedAt, 1500)
  b = await r.start()
  // 2.7 s after the disconnect: past the 2 s expiry, before a 2 s expiry re-armed at the
  // restart (>= 3.5 s), and well before the 5 s one.
  await waitOut(closedAt, 2700)
  const gone = await openV5(t, b.url, short)
  t.equal(gone.connack.sessionPresent, false, 'the 2 s session had expired: Session Present 0')
  const kept = await openV5(t, b.url, long)
  t.equal(kept.connack.sessionPresent, true, 'the 5 s session had not: Session Present 1')
  const [queued] = await kept.got.next(1)
  t.equal(queued?.payload, 'queued', 'and its queue is delivered')
  await gone.client.subscribeAsync('rsess/t', { qos: 1 })
  const pub2 = await openV5(t, b.url, { clientId: 'd-pub' })
  await pub2.client.publishAsync('rsess/t', 'marker', { qos: 1 })
  const [m] = await gone.got.next(1)
  t.equal(m?.payload, 'marker', 'the expired session\'s queued message went with it')
})
