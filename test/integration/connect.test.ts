import type { IDisconnectPacket } from 'mqtt'
import t from 'tap'
import { waitFor } from '../helpers/client.js'
import { forEachTransport } from '../helpers/transports.js'

forEachTransport(t, (t, { connect, tag, protocolVersion }) => {
  /** A session that outlives its connection: 3.1.1 clean=false, 5.0 with a Session Expiry Interval. */
  const persistent = protocolVersion === 5
    ? { clean: false, properties: { sessionExpiryInterval: 60 } }
    : { clean: false }

  t.test('CONNACK session present is 0 for a new session and for a clean one [MQTT-3.2.2-2, MQTT-3.2.2-3]', async (t) => {
    const fresh = await connect(t, { clientId: `new-${tag}`, ...persistent })
    t.equal(fresh.connack.sessionPresent, false, 'no session existed: session present 0 [MQTT-3.2.2-3]')
    await fresh.client.endAsync()
    const clean = await connect(t, { clientId: `new-${tag}`, clean: true })
    t.equal(clean.connack.sessionPresent, false, 'clean start: session present 0 [MQTT-3.2.2-2]')
  })

  t.test('CONNACK session present is 1 when a stored session is resumed [MQTT-3.2.2-3]', async (t) => {
    const first = await connect(t, { clientId: `resume-${tag}`, ...persistent })
    await first.client.subscribeAsync('resume/t', { qos: 1 })
    await first.client.endAsync()
    const again = await connect(t, { clientId: `resume-${tag}`, ...persistent })
    t.equal(again.connack.sessionPresent, true)
  })

  if (protocolVersion === 5) {
    t.test('an empty client id gets an Assigned Client Identifier that works as an id [MQTT-3.2.2-16]', async (t) => {
      const { client, connack } = await connect(t, { clientId: '' })
      const assigned = connack.properties?.assignedClientIdentifier
      t.type(assigned, 'string')
      t.ok((assigned ?? '').length > 0, 'a non-empty identifier')
      await client.subscribeAsync('assigned/t', { qos: 1 })
      const other = await connect(t, { clientId: '' })
      t.not(other.connack.properties?.assignedClientIdentifier, assigned, 'each client gets its own')
    })
  } else {
    t.test('an empty client id with clean session is accepted [MQTT-3.1.3-6, MQTT-3.1.3-7]', async (t) => {
      const { client, got } = await connect(t, { clientId: '', clean: true })
      await client.subscribeAsync('anon/t', { qos: 1 })
      await client.publishAsync('anon/t', 'hi', { qos: 1 })
      const [m] = await got.next(1)
      t.equal(m?.payload, 'hi')
    })
  }

  t.test('a second connection with the same client id takes over: the first is closed [MQTT-3.1.4-3]', async (t) => {
    const old = await connect(t, { clientId: `take-${tag}` })
    const disconnect = protocolVersion === 5 ? waitFor<[IDisconnectPacket]>(old.client, 'disconnect') : null
    const closed = waitFor(old.client, 'close')
    const next = await connect(t, { clientId: `take-${tag}` })
    await closed
    t.pass('the old connection was closed')
    if (disconnect !== null) {
      const [packet] = await disconnect
      t.equal(packet.reasonCode, 0x8e, '5.0: the old client is told Session taken over (0x8E)')
    }
    await next.client.subscribeAsync('take/t', { qos: 1 })
    await next.client.publishAsync('take/t', 'new owner', { qos: 1 })
    const [m] = await next.got.next(1)
    t.equal(m?.payload, 'new owner', 'the new connection works')
  })

  t.test('takeover hands a persistent session to the new connection: session present 1 [MQTT-3.1.4-3]', async (t) => {
    const old = await connect(t, { clientId: `take2-${tag}`, ...persistent })
    await old.client.subscribeAsync('take2/t', { qos: 1 })
    const closed = waitFor(old.client, 'close')
    const next = await connect(t, { clientId: `take2-${tag}`, ...persistent })
    await closed
    t.equal(next.connack.sessionPresent, true)
    const { client: pub } = await connect(t, { clientId: `take2-pub-${tag}` })
    await pub.publishAsync('take2/t', 'kept', { qos: 1 })
    const [m] = await next.got.next(1)
    t.equal(m?.payload, 'kept', 'the subscription moved with the session')
    t.equal(old.got.messages.length, 0, 'the old connection got nothing')
  })

  t.test('clean start discards the old session and its subscriptions [MQTT-3.1.2-4]', async (t) => {
    const first = await connect(t, { clientId: `discard-${tag}`, ...persistent })
    await first.client.subscribeAsync('discard/old', { qos: 1 })
    await first.client.endAsync()
    const clean = await connect(t, { clientId: `discard-${tag}`, clean: true })
    t.equal(clean.connack.sessionPresent, false)
    await clean.client.subscribeAsync('discard/marker', { qos: 1 })
    const { client: pub } = await connect(t, { clientId: `discard-pub-${tag}` })
    await pub.publishAsync('discard/old', 'old subscription', { qos: 1 })
    await pub.publishAsync('discard/marker', 'marker', { qos: 1 })
    const [m] = await clean.got.next(1)
    t.equal(m?.payload, 'marker', 'nothing arrives through the discarded subscription')
    await clean.client.endAsync()
    const after = await connect(t, { clientId: `discard-${tag}`, ...persistent })
    t.equal(after.connack.sessionPresent, false, 'the old session is gone for good')
  })
})
