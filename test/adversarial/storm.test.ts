import t from 'tap'
import { assertArena, openArena } from '../helpers/arena.js'
import { connect, open } from '../helpers/client.js'
import {
  connectPacket, openRaw, packet, props, Prop, prop, str, subscribePacket, u16, type RawClient,
} from '../helpers/raw.js'

/*
 * adversarial: a reconnect storm. One client id connects 200 times, ten connections at a time,
 * each taking over the one before [MQTT-3.1.4-3] while it subscribes and unsubscribes on its
 * persistent session; every seventh connection is cut off mid-way. Afterwards the broker must be
 * consistent: one client with that id resumes the session and holds exactly the subscriptions
 * the storm left (one copy of each message, nothing from a filter it saw unsubscribed), and a
 * clean start really ends it. The broker is a process of its own with a healthy publisher and
 * subscriber working beside it (test/helpers/arena.ts).
 */

t.setTimeout(60_000)
const arena = await openArena(t)
const ID = 'storm'
const RECONNECTS = 200
const AT_ONCE = 10

/** Persistent-session CONNECT at either version; both keep the session for 300 s. */
function stormConnect(version: 4 | 5): Buffer {
  return connectPacket({
    version,
    clientId: ID,
    clean: false,
    ...(version === 5 ? { properties: props(prop.u32(Prop.SessionExpiryInterval, 300)) } : {}),
  })
}

function unsubscribePacket(version: 4 | 5, id: number, filter: string): Buffer {
  return packet(0xa2, u16(id), version === 5 ? props() : Buffer.alloc(0), str(filter))
}

/** Waits (bounded) for UNSUBACK with this id, or the close; true when UNSUBACK came. */
async function sawUnsuback(raw: RawClient, id: number): Promise<boolean> {
  try {
    for (;;) {
      const got = await raw.readPacket(2000)
      if (got[0] === 0xb0 && got.readUInt16BE(2) === id) return true
    }
  } catch {
    return false
  }
}

const unsubscribed: number[] = []

t.test(`${RECONNECTS} connections with one client id, ${AT_ONCE} at a time, each subscribing and unsubscribing`, async (t) => {
  const start = Date.now()
  for (let wave = 0; wave < RECONNECTS / AT_ONCE; wave++) {
    const results = await Promise.all(Array.from({ length: AT_ONCE }, async (_, k) => {
      const i = wave * AT_ONCE + k
      const version = i % 2 === 0 ? 5 : 4
      const raw = await openRaw(t, arena.port)
      raw.send(stormConnect(version),
        subscribePacket({ version, id: 1, filters: [['storm/keep', 1], [`storm/tmp/${i}`, 1]] }),
        unsubscribePacket(version, 2, `storm/tmp/${i}`))
      if (i % 7 === 3) {
        raw.destroy()
        return null
      }
      const done = await sawUnsuback(raw, 2)
      raw.destroy()
      return done ? i : null
    }))
    for (const i of results) if (i !== null) unsubscribed.push(i)
  }
  t.ok(unsubscribed.length > 0, `${unsubscribed.length} of the connections saw their UNSUBACK before being taken over`)
  t.ok(Date.now() - start < 30_000, `the storm took ${Date.now() - start} ms`)
})

t.test('afterwards one client with that id resumes the session, holding exactly what the storm left', async (t) => {
  const { client, connack, got } = await open(arena.url, {
    protocolVersion: 5, clientId: ID, clean: false, properties: { sessionExpiryInterval: 300 },
  })
  t.teardown(() => client.end(true))
  t.equal(connack.sessionPresent, true, 'session present')
  const pub = await connect(arena.url, { protocolVersion: 5, clientId: 'storm-pub' })
  t.teardown(() => pub.endAsync())
  // Anything queued for the session while the storm raged may arrive first: start counting from here.
  await pub.publishAsync('storm/keep', 'first', { qos: 1 })
  for (const i of unsubscribed) await pub.publishAsync(`storm/tmp/${i}`, `tmp-${i}`, { qos: 1 })
  await pub.publishAsync('storm/keep', 'last', { qos: 1 })
  await got.next(2)
  const deadline = Date.now() + 5000
  while (!got.messages.some((m) => m.payload === 'last') && Date.now() < deadline) await got.next(got.messages.length + 1, 5000)
  const fromHere = got.messages.slice(got.messages.findIndex((m) => m.payload === 'first'))
  t.same(fromHere.map((m) => m.payload), ['first', 'last'],
    'storm/keep once per message, and nothing from a storm/tmp/* filter that was seen unsubscribed')
  await client.endAsync()
})

t.test('a clean start ends that session: nothing of it is left', async (t) => {
  const clean = await open(arena.url, { protocolVersion: 5, clientId: ID, clean: true })
  t.equal(clean.connack.sessionPresent, false, 'clean start: no session present')
  await clean.client.endAsync()
  const again = await open(arena.url, { protocolVersion: 5, clientId: ID, clean: false, properties: { sessionExpiryInterval: 300 } })
  t.teardown(() => again.client.end(true))
  t.equal(again.connack.sessionPresent, false, 'and no session survives it')
  const pub = await connect(arena.url, { protocolVersion: 5, clientId: 'storm-pub-2' })
  t.teardown(() => pub.endAsync())
  await again.client.subscribeAsync('storm/marker', { qos: 1 })
  await pub.publishAsync('storm/keep', 'ghost', { qos: 1 })
  await pub.publishAsync('storm/marker', 'marker', { qos: 1 })
  const [first] = await again.got.next(1)
  t.equal(first?.payload, 'marker', 'no storm/keep subscription is left behind in the router')
  await again.client.endAsync()
})

t.test('the broker is fine', (t) => assertArena(t, arena, 30))
