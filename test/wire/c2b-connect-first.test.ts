import t from 'tap'
import { collect, connect } from '../helpers/client.js'
import {
  assertHealthy, connectPacket, connected, disconnectPacket, expectClose, expectDisconnect, openRaw, packet,
  pingreqPacket, publishPacket, str, subscribePacket, u16, wireBroker,
} from '../helpers/raw.js'

/*
 * c2b: the first packet on a connection must be CONNECT, and only the first. Before CONNECT the
 * broker has no protocol version and no session, so every refusal is a plain close.
 */

const { b, healthy } = await wireBroker(t)

const notConnect: Array<[string, Buffer]> = [
  ['PUBLISH', publishPacket({ topic: 'a/b', payload: 'x' })],
  ['SUBSCRIBE', subscribePacket({ filters: [['a/b', 0]] })],
  ['PINGREQ', pingreqPacket()],
  ['DISCONNECT', disconnectPacket()],
  // Every other type too, well-formed for its kind, including the ones only a server sends.
  ['packet type 0 (reserved)', Buffer.from([0x00, 0x00])],
  ['CONNACK', Buffer.from([0x20, 0x02, 0x00, 0x00])],
  ['PUBACK', packet(0x40, u16(1))],
  ['PUBREC', packet(0x50, u16(1))],
  ['PUBREL', packet(0x62, u16(1))],
  ['PUBCOMP', packet(0x70, u16(1))],
  ['SUBACK', packet(0x90, u16(1), [0x00])],
  ['UNSUBSCRIBE', packet(0xa2, u16(1), str('a/b'))],
  ['UNSUBACK', packet(0xb0, u16(1))],
  ['PINGRESP', Buffer.from([0xd0, 0x00])],
  ['AUTH', Buffer.from([0xf0, 0x00])],
]
for (const [name, bytes] of notConnect) {
  t.test(`c2b: ${name} before CONNECT closes the connection [MQTT-3.1.0-1]`, async (t) => {
    const raw = await openRaw(t, b.port)
    raw.send(bytes)
    await expectClose(t, raw)
  })
}

t.test('c2b: a second CONNECT at 3.1.1 closes the connection [MQTT-3.1.0-2]', async (t) => {
  const { raw } = await connected(t, b.port, { version: 4, clientId: 'second-4' })
  raw.send(connectPacket({ version: 4, clientId: 'second-4' }))
  await expectClose(t, raw)
})

t.test('c2b: a second CONNECT at 5.0 gets DISCONNECT 0x82 and a close [MQTT-3.1.0-2]', async (t) => {
  const { raw } = await connected(t, b.port, { version: 5, clientId: 'second-5' })
  raw.send(connectPacket({ version: 5, clientId: 'second-5' }))
  await expectDisconnect(t, raw, 0x82)
})

t.test('c2b: a second CONNECT at 5.0 with an unsupported level gets DISCONNECT 0x82, not 0x84 [MQTT-3.1.0-2]', async (t) => {
  const { raw } = await connected(t, b.port, { version: 5, clientId: 'second-level6' })
  raw.send(packet(0x10, str('MQTT'), [6, 0x02], u16(60), [0x00], str('second-level6')))
  await expectDisconnect(t, raw, 0x82)
})

t.test('c2b: a second CONNECT at 5.0 that is itself malformed gets DISCONNECT 0x82 [MQTT-3.1.0-2]', async (t) => {
  const { raw } = await connected(t, b.port, { version: 5, clientId: 'second-bad' })
  raw.send(connectPacket({ version: 5, clientId: 'second-bad', extraFlags: 0x01 }))
  await expectDisconnect(t, raw, 0x82)
})

t.test('c2b: a second CONNECT pipelined behind the first is still refused [MQTT-3.1.0-2]', async (t) => {
  const raw = await openRaw(t, b.port)
  raw.send(connectPacket({ version: 5, clientId: 'pipelined' }), connectPacket({ version: 5, clientId: 'pipelined' }))
  const connack = await raw.readPacket()
  t.equal(connack[0], 0x20, 'the first CONNECT is answered')
  t.equal(connack[3], 0x00, 'and accepted')
  await expectDisconnect(t, raw, 0x82)
})

for (const version of [4, 5] as const) {
  t.test(`c2b: v${version} a malformed packet in the same write as CONNECT closes the connection and publishes the will [MQTT-3.1.2-8]`, async (t) => {
    // The CONNECT is still being processed when the bad bytes behind it are decoded: the
    // session it creates must still be released, not left attached to a dead connection.
    const topic = `will/pipelined/${version}`
    const watcher = await connect(b.url, { protocolVersion: 5, clientId: `pipelined-watch-${version}` })
    t.teardown(() => watcher.endAsync())
    const got = collect(watcher)
    await watcher.subscribeAsync(topic, { qos: 1 })
    const raw = await openRaw(t, b.port)
    raw.send(connectPacket({ version, clientId: `pipelined-will-${version}`, will: { topic, payload: 'bye', qos: 1 } }), [0x00, 0x00])
    // Not pinned: whether the CONNACK gets out before the close (it does not today: the bad
    // bytes are decoded while CONNECT is still in its handler). Either is within the spec.
    await raw.closed()
    t.pass('closed within 1 s')
    const [will] = await got.next(1, 2000)
    t.equal(will?.payload, 'bye', 'the will is published')
  })
}

t.test('c2b: a CONNECT that never arrives is closed after limits.connectTimeout', async (t) => {
  const slow = await wireBroker(t, { config: { limits: { connectTimeout: 300 } } })

  t.test('nothing sent at all', async (t) => {
    const raw = await openRaw(t, slow.b.port)
    const { elapsed, rest } = await raw.timeClose(1000)
    t.equal(rest.length, 0, 'closed without a reply')
    t.ok(elapsed >= 250, `not before the timeout (${elapsed} ms)`)
  })

  t.test('only the first bytes of a CONNECT', async (t) => {
    const raw = await openRaw(t, slow.b.port)
    raw.send(connectPacket({ version: 4, clientId: 'half' }).subarray(0, 6))
    const { elapsed, rest } = await raw.timeClose(1000)
    t.equal(rest.length, 0, 'closed without a reply')
    t.ok(elapsed >= 250, `not before the timeout (${elapsed} ms)`)
  })

  t.test('a client that connects in time stays connected past the timeout', async (t) => {
    const { raw } = await connected(t, slow.b.port, { version: 4, clientId: 'in-time' })
    // Ask for something after the timeout has passed: it must be answered.
    await new Promise<void>((resolve) => setTimeout(resolve, 400))
    raw.send(pingreqPacket())
    t.equal((await raw.readPacket()).toString('hex'), 'd000', 'PINGRESP after the connect timeout')
  })

  t.test('the healthy client on that broker is unaffected', (t) => assertHealthy(t, slow.healthy, 'health/slow'))
})

t.test('c2b: a CONNECT whose authentication never finishes is closed after limits.connectTimeout', async (t) => {
  // An authenticate hook that never answers (a user store that hangs) must not hold the socket.
  const stuck = await wireBroker(t, {
    config: { limits: { connectTimeout: 300 } },
    hooks: { authenticate: ({ username }) => username === 'stuck' ? new Promise<boolean>(() => undefined) : Promise.resolve(true) },
  })
  for (const version of [4, 5] as const) {
    const raw = await openRaw(t, stuck.b.port)
    raw.send(connectPacket({ version, clientId: `stuck-${version}`, username: 'stuck', password: 'p' }))
    const { elapsed, rest } = await raw.timeClose(1500)
    t.equal(rest.length, 0, `v${version}: closed without a CONNACK`)
    t.ok(elapsed >= 250, `v${version}: not before the timeout (${elapsed} ms)`)
  }
  t.test('the healthy client on that broker is unaffected', (t) => assertHealthy(t, stuck.healthy, 'health/stuck'))
})

t.test('the healthy client still publishes and subscribes', (t) => assertHealthy(t, healthy, 'health/first'))
