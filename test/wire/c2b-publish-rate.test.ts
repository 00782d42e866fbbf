import t from 'tap'
import { collect, connect } from '../helpers/client.js'
import {
  assertHealthy, connected, hex, pingreqPacket, publishPacket, wireBroker, type RawClient,
} from '../helpers/raw.js'

/*
 * c2b: limits.maxPublishRate and limits.maxPublishByteRate. A client over its rate is slowed
 * down, not cut off and not dropped: the broker stops reading its socket until the rate allows
 * more, so TCP flow control holds the client back. Every message still arrives, in order; the
 * client's other packets wait with them; every other client goes on at full speed.
 */

const RATE = 50
const BYTE_RATE = 20_000
const { b, healthy } = await wireBroker(t, { memory: true, config: { limits: { maxPublishRate: RATE, maxPublishByteRate: BYTE_RATE } } })

/** Reads `count` PUBACKs; returns the ms from `start` at which each arrived. */
async function pubacks(raw: RawClient, count: number, start: number): Promise<number[]> {
  const at: number[] = []
  for (let i = 0; i < count; i++) {
    const got = await raw.readPacket(5000)
    if (got[0] !== 0x40) throw new Error(`expected PUBACK, got ${hex(got)}`)
    at.push(Date.now() - start)
  }
  return at
}

for (const version of [4, 5] as const) {
  t.test(`v${version} messages per second: ${RATE * 3} QoS 1 publishes in one write take about 2 s, and none is lost`, async (t) => {
    const topic = `rate/${version}`
    const watcher = await connect(b.url, { protocolVersion: 5, clientId: `rate-watch-${version}` })
    t.teardown(() => watcher.endAsync())
    const got = collect(watcher)
    await watcher.subscribeAsync(topic, { qos: 1 })
    const { raw } = await connected(t, b.port, { version, clientId: `rate-${version}` })
    const count = RATE * 3
    const start = Date.now()
    raw.send(Buffer.concat(Array.from({ length: count }, (_, i) => publishPacket({ version, topic, qos: 1, id: i + 1, payload: String(i) }))))
    const at = await pubacks(raw, count, start)
    // One second's worth goes at once; the other two seconds' worth at the rate.
    t.ok((at[RATE - 1] ?? Infinity) < 500, `the first ${RATE} (the burst) are acknowledged at once (${at[RATE - 1]} ms)`)
    t.ok((at[count - 1] ?? 0) >= 1500, `the last only after about 2 s (${at[count - 1]} ms)`)
    t.ok((at[count - 1] ?? Infinity) < 4000, 'but not much later')
    const messages = await got.next(count)
    t.same(messages.map((m) => m.payload), Array.from({ length: count }, (_, i) => String(i)), 'every message delivered, in order')
    t.notOk(raw.isClosed, 'the client is still connected')
  })
}

t.test(`bytes per second: 40 publishes of 1000 bytes (twice the ${BYTE_RATE} B/s) are slowed down by the byte rate alone`, async (t) => {
  const { raw } = await connected(t, b.port, { version: 5, clientId: 'byte-rate' })
  const start = Date.now()
  const payload = 'b'.repeat(1000)
  raw.send(Buffer.concat(Array.from({ length: 40 }, (_, i) => publishPacket({ version: 5, topic: 'rate/bytes', qos: 1, id: i + 1, payload }))))
  const at = await pubacks(raw, 40, start)
  t.ok((at[15] ?? Infinity) < 500, `the first 20 KB go at once (${at[15]} ms)`)
  t.ok((at[39] ?? 0) >= 700, `the last waits for the byte budget (${at[39]} ms)`)
})

t.test('a throttled client does not slow anyone else: another client is answered at once meanwhile', async (t) => {
  const { raw } = await connected(t, b.port, { version: 4, clientId: 'throttled' })
  const { raw: other } = await connected(t, b.port, { version: 4, clientId: 'bystander' })
  raw.send(Buffer.concat(Array.from({ length: RATE * 3 }, (_, i) => publishPacket({ topic: 'rate/flood', qos: 1, id: i + 1, payload: 'x' }))))
  await raw.readPacket()
  const start = Date.now()
  other.send(pingreqPacket())
  t.equal(hex(await other.readPacket()), 'd0 00', 'PINGRESP')
  t.ok(Date.now() - start < 200, `within 200 ms (${Date.now() - start} ms)`)
  // The throttled client's own PINGREQ waits behind its publishes: it is the client that is held.
  raw.send(pingreqPacket())
  const rest = await pubacks(raw, RATE * 3 - 1, start)
  t.ok((rest.at(-1) ?? 0) > 1000, 'its own publishes are still being paced')
  t.equal(hex(await raw.readPacket(2000)), 'd0 00', 'and its PINGREQ is answered after them')
})

t.test('the healthy client still publishes and subscribes', (t) => assertHealthy(t, healthy, 'health/rate'))
