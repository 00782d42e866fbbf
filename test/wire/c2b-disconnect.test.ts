import t, { type Test } from 'tap'
import { collect, connect } from '../helpers/client.js'
import {
  assertHealthy, connected, disconnectPacket, expectClose, expectDisconnect, prop, Prop, props, wireBroker,
  type ConnectOptions,
} from '../helpers/raw.js'

/*
 * c2b: DISCONNECT packets that are not a normal disconnect. Only a valid DISCONNECT (5.0: with
 * Reason Code 0x00) deletes the will [MQTT-3.1.2-10]; a broken one is a protocol violation, so
 * the connection ends as on any error and the will is published [MQTT-3.1.2-8].
 */

const { b, healthy } = await wireBroker(t)
let n = 0

/**
 * Connects a raw client with a will and a watcher subscribed to it; `willArrives` resolves
 * with the will's payload, or null if none arrives within `ms`.
 */
async function withWill(t: Test, o: ConnectOptions & { version: 4 | 5 }): Promise<{
  raw: Awaited<ReturnType<typeof connected>>['raw']
  willArrives: (ms: number) => Promise<string | null>
}> {
  const topic = `will/disconnect/${n}`
  const watcher = await connect(b.url, { protocolVersion: 5, clientId: `dc-watch-${n}` })
  t.teardown(() => watcher.endAsync())
  const got = collect(watcher)
  await watcher.subscribeAsync(topic, { qos: 1 })
  const { raw } = await connected(t, b.port, { ...o, clientId: `dc-${n++}`, will: { topic, payload: 'will', qos: 1 } })
  const willArrives = async (ms: number): Promise<string | null> => {
    try {
      const [m] = await got.next(1, ms)
      return m?.payload ?? null
    } catch {
      return null
    }
  }
  return { raw, willArrives }
}

t.test('c2b: v5 DISCONNECT raising Session Expiry Interval from 0 gets DISCONNECT 0x82 and the will [MQTT-3.14.2-2]', async (t) => {
  const { raw, willArrives } = await withWill(t, { version: 5 })
  raw.send(disconnectPacket({ reasonCode: 0, properties: props(prop.u32(Prop.SessionExpiryInterval, 60)) }))
  await expectDisconnect(t, raw, 0x82)
  t.equal(await willArrives(2000), 'will', 'the will is published: this was no normal disconnect')
})

t.test('c2b: v5 DISCONNECT changing a non-zero Session Expiry Interval is a normal disconnect (the control case)', async (t) => {
  const { raw, willArrives } = await withWill(t, { version: 5, properties: props(prop.u32(Prop.SessionExpiryInterval, 10)) })
  raw.send(disconnectPacket({ reasonCode: 0, properties: props(prop.u32(Prop.SessionExpiryInterval, 60)) }))
  await expectClose(t, raw, 'closed without a DISCONNECT back')
  // A will that was published would be on its way already; 300 ms bounds the wait for "none".
  t.equal(await willArrives(300), null, 'no will after a normal DISCONNECT [MQTT-3.1.2-10]')
})

t.test('c2b: v5 DISCONNECT 0x04 (Disconnect with Will Message) publishes the will [MQTT-3.14.4-3]', async (t) => {
  const { raw, willArrives } = await withWill(t, { version: 5 })
  raw.send(disconnectPacket({ reasonCode: 0x04 }))
  await expectClose(t, raw, 'closed without a DISCONNECT back')
  t.equal(await willArrives(2000), 'will', 'the will is published')
})

t.test('c2b: v4 DISCONNECT with flags 0b0001 closes the connection and publishes the will [MQTT-3.14.1-1]', async (t) => {
  const { raw, willArrives } = await withWill(t, { version: 4 })
  raw.send([0xe1, 0x00])
  await expectClose(t, raw)
  t.equal(await willArrives(2000), 'will', 'the will is published: this was no DISCONNECT')
})

t.test('c2b: v4 DISCONNECT with a body closes the connection and publishes the will (section 3.14)', async (t) => {
  const { raw, willArrives } = await withWill(t, { version: 4 })
  raw.send([0xe0, 0x01, 0x00])
  await expectClose(t, raw)
  t.equal(await willArrives(2000), 'will', 'the will is published: this was no DISCONNECT')
})

t.test('the healthy client still publishes and subscribes', (t) => assertHealthy(t, healthy, 'health/disconnect'))
