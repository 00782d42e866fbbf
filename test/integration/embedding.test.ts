import type { ISubackPacket } from 'mqtt-packet'
import pino from 'pino'
import t from 'tap'
import type { Test } from 'tap'
import { createBroker, type Broker, type BrokerHooks, type ClientInfo, type StoredMessage } from '../../src/index.js'
import { closeClient, open, waitFor, type Opened } from '../helpers/client.js'
import { forEachTransport, type Transport } from '../helpers/transports.js'

/** What an embedding application does: createBroker with hooks, listen, close when done. */
async function embed(t: Test, transport: Transport, hooks: BrokerHooks): Promise<{ broker: Broker; url: string }> {
  const broker = await createBroker({
    hooks,
    logger: pino({ level: process.env.HALYARD_TEST_LOG ?? 'silent' }),
    config: { host: '127.0.0.1', port: 0, wsPort: -1, dataDir: null },
  })
  await broker.listen()
  t.teardown(() => broker.close())
  const { tcp, ws } = broker.addresses()
  const url = transport === 'tcp' ? `mqtt://127.0.0.1:${tcp?.port ?? 0}` : `ws://127.0.0.1:${ws?.port ?? 0}/mqtt`
  return { broker, url }
}

forEachTransport(t, (t, { transport, protocolVersion, tag }) => {
  const connectTo = async (t: Test, url: string, clientId: string, extra: object = {}): Promise<Opened> => {
    const opened = await open(url, { protocolVersion, clientId, ...extra })
    t.teardown(() => closeClient(opened.client))
    return opened
  }

  t.test('authenticate: a refusal is CONNACK 0x86 at 5.0, return code 4 at 3.1.1 [MQTT-3.2.2-6]', async (t) => {
    const seen: Array<{ clientId: string; username: string | undefined; password: string | undefined; protocolVersion: number }> = []
    const { url } = await embed(t, transport, {
      authenticate: async (req) => {
        seen.push({ clientId: req.clientId, username: req.username, password: req.password?.toString(), protocolVersion: req.protocolVersion })
        return req.username === 'alice' && req.password?.toString() === 'secret'
      },
    })
    const err = await open(url, { protocolVersion, clientId: `auth-bad-${tag}`, username: 'alice', password: 'wrong' }).then(
      () => null, (e: Error & { code?: number }) => e)
    t.equal(err?.code, protocolVersion === 5 ? 0x86 : 4, 'refused with Bad User Name or Password')
    const ok = await connectTo(t, url, `auth-ok-${tag}`, { username: 'alice', password: 'secret' })
    t.equal(ok.client.connected, true, 'the right password is accepted')
    t.same(seen, [
      { clientId: `auth-bad-${tag}`, username: 'alice', password: 'wrong', protocolVersion },
      { clientId: `auth-ok-${tag}`, username: 'alice', password: 'secret', protocolVersion },
    ], 'the hook saw who was asking')
  })

  t.test('authorizePublish: a refusal is PUBACK/PUBREC 0x87 at 5.0, a silent drop at 3.1.1 [MQTT-3.3.5-2]', async (t) => {
    const { url } = await embed(t, transport, {
      authorizePublish: async (client, topic) => !topic.startsWith('secret/') || client.clientId.startsWith('admin'),
    })
    const sub = await connectTo(t, url, `admin-sub-${tag}`)
    await sub.client.subscribeAsync('#', { qos: 1 })
    const pub = await connectTo(t, url, `user-${tag}`)
    for (const qos of [1, 2] as const) {
      const result = await pub.client.publishAsync('secret/x', `refused at QoS ${qos}`, { qos }).then(
        () => null, (e: Error & { code?: number }) => e)
      if (protocolVersion === 5) t.equal(result?.code, 0x87, `QoS ${qos}: Not authorized`)
      else t.equal(result, null, `QoS ${qos}: acknowledged as usual, nothing to tell a 3.1.1 client`)
    }
    t.equal(pub.client.connected, true, 'the publisher stays connected')
    await pub.client.publishAsync('public/x', 'allowed', { qos: 1 })
    const [m] = await sub.got.next(1)
    t.equal(m?.payload, 'allowed', 'the refused messages were not delivered')
  })

  t.test('authorizeSubscribe: a refusal is SUBACK 0x87 at 5.0, 0x80 at 3.1.1, per filter [MQTT-3.9.3-1]', async (t) => {
    const { url } = await embed(t, transport, {
      authorizeSubscribe: async (_client, sub) => !sub.topic.startsWith('secret/'),
    })
    const sub = await connectTo(t, url, `sub-${tag}`)
    const suback = waitFor<[ISubackPacket]>(sub.client, 'packetreceive')
    await sub.client.subscribeAsync({ 'public/t': { qos: 1 }, 'secret/t': { qos: 1 } }).catch(() => undefined)
    const [packet] = await suback
    t.same(packet.granted, [1, protocolVersion === 5 ? 0x87 : 0x80])
    const pub = await connectTo(t, url, `sub-p-${tag}`)
    await pub.client.publishAsync('secret/t', 'hidden', { qos: 1 })
    await pub.client.publishAsync('public/t', 'visible', { qos: 1 })
    const [m] = await sub.got.next(1)
    t.equal(m?.payload, 'visible', 'the refused filter receives nothing')
  })

  t.test('events: clientConnected, published and clientDisconnected describe what happened', async (t) => {
    const { broker, url } = await embed(t, transport, {})
    const id = `events-${tag}`
    const connected = waitFor<[ClientInfo]>(broker, 'clientConnected')
    const c = await connectTo(t, url, id, { username: 'bob' })
    const [info] = await connected
    t.same({ clientId: info.clientId, username: info.username, protocolVersion: info.protocolVersion },
      { clientId: id, username: 'bob', protocolVersion })
    t.type(info.remoteAddress, 'string')
    const published = waitFor<[StoredMessage, string | undefined]>(broker, 'published')
    await c.client.publishAsync('events/t', 'hello', { qos: 1, retain: false })
    const [message, origin] = await published
    t.same([message.topic, message.payload.toString(), message.qos, origin], ['events/t', 'hello', 1, id])
    const disconnected = waitFor<[ClientInfo, string]>(broker, 'clientDisconnected')
    await c.client.endAsync()
    const [gone, reason] = await disconnected
    t.equal(gone.clientId, id)
    t.type(reason, 'string')
  })
})
