import t from 'tap'
import type { ClientInfo } from '../../src/index.js'
import { closeClient, until, waitFor, type Opened, type Received } from '../helpers/client.js'
import type { TestBroker } from '../helpers/broker.js'
import { forEachTransport } from '../helpers/transports.js'

/** Cuts the connection without DISCONNECT, as a crashed client or a dead network would. */
function dropConnection(c: Opened): void {
  c.client.stream.destroy()
}

/** Resolves when the broker has finished closing `clientId`'s connection (will handled). */
async function disconnected(b: TestBroker, clientId: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    const [info] = await waitFor<[ClientInfo, string]>(b.broker, 'clientDisconnected', deadline - Date.now())
    if (info.clientId === clientId) return
  }
}

forEachTransport(t, (t, { connect, tag, protocolVersion, broker }) => {
  t.test('the will is published with its QoS and retain when the connection drops [MQTT-3.1.2-8]', async (t) => {
    const watcher = await connect(t, { clientId: `abrupt-w-${tag}` })
    await watcher.client.subscribeAsync('will/abrupt/+', { qos: 2 })
    const dying = await connect(t, {
      clientId: `abrupt-${tag}`,
      will: { topic: 'will/abrupt/1', payload: Buffer.from('gone'), qos: 1, retain: true },
    })
    dropConnection(dying)
    const [m] = await watcher.got.next(1)
    t.same([m?.topic, m?.payload, m?.qos], ['will/abrupt/1', 'gone', 1], 'published at the will QoS')
    // A will has no acknowledgement to wait for, and the retained copy becomes visible once it
    // is stored, a moment after the live delivery: poll (bounded) with fresh subscribers.
    let retained: Received | undefined
    await until(async () => {
      const later = await connect(t, { clientId: `abrupt-l-${tag}`, clean: true })
      await later.client.subscribeAsync('will/abrupt/+', { qos: 2 })
      retained = (await later.got.next(1, 200).catch(() => []))[0]
      await closeClient(later.client)
      return retained !== undefined
    }, 3000, 'the will to be retained')
    t.same([retained?.payload, retained?.retain, retained?.qos], ['gone', true, 1], 'and retained, because Will Retain was set [MQTT-3.1.2-17]')
  })

  t.test('the will is not published after a normal DISCONNECT [MQTT-3.1.2-10]', async (t) => {
    const watcher = await connect(t, { clientId: `normal-w-${tag}` })
    await watcher.client.subscribeAsync('will/normal/#', { qos: 1 })
    const id = `normal-${tag}`
    const leaving = await connect(t, { clientId: id, will: { topic: 'will/normal/x', payload: Buffer.from('gone'), qos: 1, retain: false } })
    const done = disconnected(broker, id)
    await leaving.client.endAsync()
    await done
    await watcher.client.publishAsync('will/normal/marker', 'marker', { qos: 1 })
    const [m] = await watcher.got.next(1)
    t.equal(m?.payload, 'marker', 'no will before the marker')
  })

  if (protocolVersion !== 5) return

  t.test('5.0: DISCONNECT with reason 0x04 publishes the will [MQTT-3.14.4-3]', async (t) => {
    const watcher = await connect(t, { clientId: `dw-w-${tag}` })
    await watcher.client.subscribeAsync('will/with/#', { qos: 1 })
    const leaving = await connect(t, { clientId: `dw-${tag}`, will: { topic: 'will/with/x', payload: Buffer.from('asked for'), qos: 1, retain: false } })
    await leaving.client.endAsync(false, { reasonCode: 0x04 })
    const [m] = await watcher.got.next(1)
    t.same([m?.topic, m?.payload], ['will/with/x', 'asked for'])
  })

  t.test('5.0: a delayed will is published once the Will Delay Interval has passed [MQTT-3.1.3-9]', async (t) => {
    const watcher = await connect(t, { clientId: `delay-w-${tag}` })
    await watcher.client.subscribeAsync('will/delay/#', { qos: 1 })
    const dying = await connect(t, {
      clientId: `delay-${tag}`,
      properties: { sessionExpiryInterval: 60 },
      will: { topic: 'will/delay/x', payload: Buffer.from('late'), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
    })
    const droppedAt = Date.now()
    dropConnection(dying)
    const [m] = await watcher.got.next(1, 5000)
    t.equal(m?.payload, 'late')
    t.ok(Date.now() - droppedAt >= 950, `not before the delay (${Date.now() - droppedAt} ms)`)
  })

  t.test('5.0: a delayed will is not published when the client reconnects within the delay [MQTT-3.1.3-9]', async (t) => {
    const watcher = await connect(t, { clientId: `back-w-${tag}` })
    await watcher.client.subscribeAsync('will/back/#', { qos: 1 })
    const id = `back-${tag}`
    const session = { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } }
    const dying = await connect(t, {
      ...session,
      will: { topic: 'will/back/returning', payload: Buffer.from('must not appear'), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
    })
    // A control client whose will is due later: once its will arrives, the first one's
    // timer has run out too, so its absence is proven without a sleep.
    const control = await connect(t, {
      clientId: `back-c-${tag}`,
      will: { topic: 'will/back/control', payload: Buffer.from('control'), qos: 1, retain: false, properties: { willDelayInterval: 2 } },
      properties: { sessionExpiryInterval: 60 },
    })
    const gone = disconnected(broker, id)
    dropConnection(dying)
    await gone
    dropConnection(control)
    const back = await connect(t, session)
    t.equal(back.connack.sessionPresent, true, 'the session was resumed within the delay')
    const [m] = await watcher.got.next(1, 5000)
    t.equal(m?.topic, 'will/back/control', 'only the control will was published')
  })

  t.test('5.0: a will delayed past the session expiry is published when the session ends [MQTT-3.1.3-9]', async (t) => {
    const watcher = await connect(t, { clientId: `end-w-${tag}` })
    await watcher.client.subscribeAsync('will/end/#', { qos: 1 })
    const dying = await connect(t, {
      clientId: `end-${tag}`,
      properties: { sessionExpiryInterval: 1 },
      will: { topic: 'will/end/x', payload: Buffer.from('session over'), qos: 1, retain: false, properties: { willDelayInterval: 30 } },
    })
    const droppedAt = Date.now()
    dropConnection(dying)
    const [m] = await watcher.got.next(1, 5000)
    const elapsed = Date.now() - droppedAt
    t.equal(m?.payload, 'session over')
    t.ok(elapsed >= 950 && elapsed < 5000, `at the session expiry (1 s), not the will delay (30 s): ${elapsed} ms`)
  })
})
