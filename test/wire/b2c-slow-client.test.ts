import t from 'tap'
import { open, until } from '../helpers/client.js'
import { assertHealthy, connected, subscribePacket, wireBroker } from '../helpers/raw.js'

/*
 * b2c: a subscriber that stops reading. The broker's writes to it pile up; past
 * limits.maxClientBufferBytes its QoS 0 messages are dropped, and if it is still past it
 * limits.slowClientTimeout later it is cut off. Meanwhile the publisher is acknowledged at full
 * speed and every other subscriber gets every message: one stuck client slows no one else.
 */

const MAX_BUFFER = 256 * 1024
const TIMEOUT_MS = 1000
const { b, healthy } = await wireBroker(t, {
  memory: true,
  config: { limits: { maxClientBufferBytes: MAX_BUFFER, slowClientTimeout: TIMEOUT_MS } },
})

const payload = Buffer.alloc(32 * 1024, 0x73)

/**
 * Publishes QoS 1 messages to `topic` until `isDone()` or `ms` have passed: `burst` of them back
 * to back (enough to fill the kernel's socket buffers and more), then one every 10 ms. Returns
 * how many, and the slowest PUBACK.
 */
async function flood(topic: string, isDone: () => boolean, ms: number, burst = 600): Promise<{ sent: number; slowestMs: number }> {
  const { client: pub } = await open(b.url, { protocolVersion: 5, clientId: `flood-${topic}` })
  const deadline = Date.now() + ms
  let sent = 0
  let slowestMs = 0
  while (!isDone() && Date.now() < deadline) {
    const start = Date.now()
    await pub.publishAsync(topic, payload, { qos: 1 })
    slowestMs = Math.max(slowestMs, Date.now() - start)
    if (++sent > burst) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  await pub.endAsync()
  return { sent, slowestMs }
}

for (const version of [4, 5] as const) {
  t.test(`v${version} a subscriber that never reads is cut off; the publisher and a reading subscriber are not slowed`, async (t) => {
    const topic = `slow/${version}`
    const clientId = `never-reads-${version}`
    const { raw } = await connected(t, b.port, { version, clientId })
    raw.send(subscribePacket({ version, id: 1, filters: [[topic, 0]] }))
    await raw.readPacket()
    raw.pauseReading()
    const reader = await open(b.url, { protocolVersion: 5, clientId: `reads-${version}` })
    t.teardown(() => reader.client.endAsync())
    await reader.client.subscribeAsync(topic, { qos: 1 })

    let cutAt: number | undefined
    let reason = ''
    const onGone = (client: { clientId: string }, why: string): void => {
      if (client.clientId !== clientId) return
      cutAt = Date.now()
      reason = why
    }
    b.broker.on('clientDisconnected', onGone)
    t.teardown(() => { b.broker.off('clientDisconnected', onGone) })

    const start = Date.now()
    // Enough to fill the kernel's socket buffers on both ends and then MAX_BUFFER.
    const { sent, slowestMs } = await flood(topic, () => cutAt !== undefined, 8000)
    t.ok(cutAt !== undefined, `cut off after ${sent} messages (${(sent * payload.length / 2 ** 20).toFixed(0)} MiB)`)
    t.match(reason, 'not reading', `the reason says why: "${reason}"`)
    t.ok((cutAt ?? Infinity) - start < 5000, `within 5 s of the flood starting (${(cutAt ?? 0) - start} ms)`)
    t.ok(slowestMs < 1000, `no PUBACK took a second or more (slowest ${slowestMs} ms)`)
    await reader.got.next(sent, 10_000)
    t.equal(reader.got.messages.length, sent, 'the reading subscriber got every message')
  })
}

t.test('a subscriber that stops reading for less than slowClientTimeout is not cut off', async (t) => {
  const topic = 'slow/pauses'
  const clientId = 'pauses'
  const { raw } = await connected(t, b.port, { version: 5, clientId })
  raw.send(subscribePacket({ version: 5, id: 1, filters: [[topic, 0]] }))
  await raw.readPacket()
  let isCut = false
  const onGone = (client: { clientId: string }): void => { if (client.clientId === clientId) isCut = true }
  b.broker.on('clientDisconnected', onGone)
  t.teardown(() => { b.broker.off('clientDisconnected', onGone) })

  raw.pauseReading()
  const pausedAt = Date.now()
  const flooding = flood(topic, () => false, TIMEOUT_MS * 2)
  await until(() => Date.now() - pausedAt > TIMEOUT_MS / 2, TIMEOUT_MS, 'half the timeout')
  raw.resumeReading()
  // It reads again (and the test throws the bytes away): the backlog drains, the watch ends.
  await until(() => { raw.discard(); return Date.now() - pausedAt > TIMEOUT_MS * 2 }, TIMEOUT_MS * 3, 'twice the timeout')
  await flooding
  t.notOk(isCut, 'still connected at twice the timeout')
  t.notOk(raw.isClosed, 'and the socket is open')
})

t.test('the healthy client still publishes and subscribes', (t) => assertHealthy(t, healthy, 'health/slow-client'))
