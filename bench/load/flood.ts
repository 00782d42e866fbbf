/**
 * QoS 0 floods: fan-in (many publishers, each on its own topic, one `bench/+` subscriber) and
 * fan-out (one publisher, every subscriber on the same topic).
 *
 * Each publisher writes one pre-built ~16 KB buffer of back-to-back PUBLISH packets at a time,
 * at most four per turn of the event loop, and waits for 'drain' when the socket pushes back.
 * Publishers also wait while more than `backlogCap` deliveries are in flight end to end, so a
 * broker's queues cannot grow without bound; if that wait sees no delivery for 3 s the sending
 * phase ends early and the note says so.
 */
import type { LoadResult, LoadSpec } from '../lib/types.js'
import { baseOptions, brokerClosures, closeAll, cpuFields, cpuWindow, openMany, payload, sleep, waitFor } from './common.js'
import type { RawClient } from './raw-client.js'
import { PUBLISH, PublishTemplate } from './wire.js'

const BATCH_BYTES = 16 * 1024
const WRITES_PER_TURN = 4
/** No delivery for this long while every publisher waits on the backlog: stop sending. */
const STALL_MS = 3000
/** No delivery for this long after sending stopped: the drain is over. */
const QUIET_MS = 2000

interface Publisher {
  client: RawClient
  batch: Buffer
  perBatch: number
}

export async function runFlood(spec: LoadSpec): Promise<LoadResult> {
  const topicOf = (i: number): string => (spec.isSharedTopic ? 'bench/fanout' : `bench/${i}`)
  const filter = spec.isSharedTopic ? 'bench/fanout' : 'bench/+'
  let received = 0
  const times = { lastDeliveryAt: 0 }
  const countingSink = {
    onFrame(type: number): void {
      if (type === PUBLISH) received++
    },
  }
  const subscribers = await openMany(spec.subscribers, 50, (i) => ({
    ...baseOptions(spec), clientId: `bench-sub-${i}`, subscribe: { filter, qos: 0 }, sink: countingSink,
  }))
  const clients: RawClient[] = [...subscribers]
  try {
    const publishers: Publisher[] = (await openMany(spec.publishers, 50, (i) => ({
      ...baseOptions(spec), clientId: `bench-pub-${i}`,
    }))).map((client, i) => {
      clients.push(client)
      const template = new PublishTemplate({
        topic: topicOf(i), payload: payload(spec.payloadBytes), qos: 0, version: spec.version,
      })
      const perBatch = Math.max(1, Math.floor(BATCH_BYTES / template.length))
      return { client, batch: template.repeat(perBatch), perBatch }
    })

    let sent = 0
    let isStopped = false
    const blocked = new Set<Publisher>()
    const backlog = (): number => sent * spec.subscribers - received
    const pump = (p: Publisher): void => {
      for (let n = 0; n < WRITES_PER_TURN; n++) {
        if (isStopped || p.client.isClosed) return
        if (backlog() > spec.backlogCap) {
          blocked.add(p)
          return
        }
        sent += p.perBatch
        if (!p.client.write(p.batch)) {
          p.client.socket.once('drain', () => pump(p))
          return
        }
      }
      setImmediate(pump, p)
    }
    const onDelivery = (): void => {
      times.lastDeliveryAt = performance.now()
      if (blocked.size > 0 && backlog() <= spec.backlogCap / 2) {
        const ready = [...blocked]
        blocked.clear()
        for (const p of ready) pump(p)
      }
    }
    for (const s of subscribers) s.onChunk = onDelivery

    const startedAt = performance.now()
    times.lastDeliveryAt = startedAt
    const cpu = cpuWindow(spec)
    for (const p of publishers) pump(p)
    const notes: string[] = []
    const endAt = startedAt + spec.seconds * 1000
    while (performance.now() < endAt) {
      await sleep(Math.min(100, Math.max(1, endAt - performance.now())))
      if (blocked.size === publishers.length && performance.now() - times.lastDeliveryAt > STALL_MS) {
        notes.push(`stalled: ${backlog()} deliveries outstanding and none for ${STALL_MS / 1000} s; sending stopped early`)
        break
      }
    }
    isStopped = true
    const window = cpu.stop()
    const expectedNow = (): number => sent * spec.subscribers
    const drained = await waitFor({
      isDone: () => received >= expectedNow(), progress: () => received,
      quietMs: QUIET_MS, maxMs: spec.drainSeconds * 1000,
    })
    if (drained !== 'done') notes.push(`drain ended (${drained}) with ${expectedNow() - received} deliveries missing`)
    notes.push(...brokerClosures(clients))
    const seconds = (Math.max(times.lastDeliveryAt, startedAt + 1) - startedAt) / 1000
    return {
      sent, expected: expectedNow(), received, drops: Math.max(0, expectedNow() - received),
      seconds, rate: received / seconds,
      ...cpuFields(window),
      metrics: { publishRate: sent / seconds, payloadBytes: spec.payloadBytes }, notes,
    }
  } finally {
    closeAll(clients)
  }
}
