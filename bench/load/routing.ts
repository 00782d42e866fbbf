/**
 * Routing with many subscriptions: `subscriptions` filters, a third each exact
 * (`route/A/B/C`), single-level wildcard (`route/A/+/C`) and multi-level wildcard
 * (`route/A/B/#`), then QoS 0 publishers on random topics of the same space.
 *
 * The space grows with the subscriptions: `a` takes n = subscriptions / 30 values, `b` and `c`
 * ten each. There is one `+` filter for every (a, c), one `#` filter for every (a, b), and
 * exact filters on 10·n distinct topics of the 100·n. So every topic matches exactly one `+`
 * and one `#` filter, and one in ten an exact one as well: the work of one publish is the same
 * at 10,000 and at 100,000 subscriptions, and a broker whose matching does not depend on how
 * many filters it holds publishes at the same rate at both.
 *
 * The filters are spread over the same 30 subscriber connections at both sizes, ten per kind,
 * so that only the number of filters changes, not how many sockets the deliveries go to (the
 * runner lifts Halyard's default cap of 1,000 subscriptions per client; the others have none).
 * Each connection holds filters of one kind only, so no connection has two filters that match
 * one topic and every broker delivers exactly one copy per matching filter. Publishers write batches of
 * PUBLISH packets on fixed random topics whose expected deliveries are counted in advance, and
 * wait while more than `backlogCap` deliveries are outstanding, as in flood.ts.
 */
import type { LoadResult, LoadSpec } from '../lib/types.js'
import { baseOptions, brokerClosures, closeAll, cpuFields, cpuWindow, openMany, payload, sleep, waitFor } from './common.js'
import type { RawClient } from './raw-client.js'
import { PUBLISH, PublishTemplate } from './wire.js'

const CONNECTIONS_PER_KIND = 10
const FILTERS_PER_SUBSCRIBE = 100
const TOPICS_PER_BATCH = 128
const WRITES_PER_TURN = 4
const STALL_MS = 3000
const QUIET_MS = 2000

/** A small deterministic PRNG (mulberry32), so every broker sees the same topics. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Space {
  n: number
  filters: { exact: string[]; plus: string[]; hash: string[] }
  exactTopics: Set<number>
}

const topicOf = (index: number): string => {
  const c = index % 10
  const b = Math.floor(index / 10) % 10
  const a = Math.floor(index / 100)
  return `route/${a}/${b}/${c}`
}

function buildSpace(subscriptions: number): Space {
  const n = Math.max(1, Math.round(subscriptions / 30))
  const plus: string[] = []
  const hash: string[] = []
  for (let a = 0; a < n; a++) {
    for (let k = 0; k < 10; k++) {
      plus.push(`route/${a}/+/${k}`)
      hash.push(`route/${a}/${k}/#`)
    }
  }
  const rand = random(6)
  const exactTopics = new Set<number>()
  while (exactTopics.size < 10 * n) exactTopics.add(Math.floor(rand() * 100 * n))
  return { n, filters: { exact: [...exactTopics].map(topicOf), plus, hash }, exactTopics }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

interface Publisher {
  client: RawClient
  batch: Buffer
  /** Deliveries one batch is expected to cause. */
  deliveries: number
}

export async function runRouting(spec: LoadSpec): Promise<LoadResult> {
  const space = buildSpace(spec.subscriptions)
  const perConnection = Math.ceil(space.filters.plus.length / CONNECTIONS_PER_KIND)
  const groups = [
    ...chunks(space.filters.exact, perConnection),
    ...chunks(space.filters.plus, perConnection),
    ...chunks(space.filters.hash, perConnection),
  ]
  let received = 0
  const times = { lastDeliveryAt: 0 }
  const countingSink = {
    onFrame(type: number): void {
      if (type === PUBLISH) received++
    },
  }
  const subscribeStartedAt = performance.now()
  const subscribers = await openMany(groups.length, 20, (i) => ({
    ...baseOptions(spec), clientId: `bench-route-sub-${i}`, sink: countingSink,
  }))
  const clients: RawClient[] = [...subscribers]
  try {
    await Promise.all(subscribers.map(async (client, i) => {
      for (const filters of chunks(groups[i] ?? [], FILTERS_PER_SUBSCRIBE)) await client.subscribeMany(filters, 0)
    }))
    const subscribeSeconds = (performance.now() - subscribeStartedAt) / 1000
    const filterCount = groups.reduce((sum, g) => sum + g.length, 0)

    const body = payload(spec.payloadBytes)
    const publishers: Publisher[] = (await openMany(spec.publishers, 50, (i) => ({
      ...baseOptions(spec), clientId: `bench-route-pub-${i}`,
    }))).map((client, i) => {
      clients.push(client)
      const rand = random(1000 + i)
      const parts: Buffer[] = []
      let deliveries = 0
      for (let k = 0; k < TOPICS_PER_BATCH; k++) {
        const index = Math.floor(rand() * 100 * space.n)
        parts.push(new PublishTemplate({ topic: topicOf(index), payload: body, qos: 0, version: spec.version }).bytes)
        deliveries += 2 + (space.exactTopics.has(index) ? 1 : 0)
      }
      return { client, batch: Buffer.concat(parts), deliveries }
    })

    let sent = 0
    let expected = 0
    let isStopped = false
    const blocked = new Set<Publisher>()
    const backlog = (): number => expected - received
    const pump = (p: Publisher): void => {
      for (let n = 0; n < WRITES_PER_TURN; n++) {
        if (isStopped || p.client.isClosed) return
        if (backlog() > spec.backlogCap) {
          blocked.add(p)
          return
        }
        sent += TOPICS_PER_BATCH
        expected += p.deliveries
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
    const drained = await waitFor({
      isDone: () => received >= expected, progress: () => received, quietMs: QUIET_MS, maxMs: spec.drainSeconds * 1000,
    })
    if (drained !== 'done') notes.push(`drain ended (${drained}) with ${expected - received} deliveries missing`)
    notes.push(...brokerClosures(clients))
    const seconds = (Math.max(times.lastDeliveryAt, startedAt + 1) - startedAt) / 1000
    return {
      sent, expected, received, drops: Math.max(0, expected - received),
      seconds, rate: received / seconds,
      ...cpuFields(window),
      metrics: {
        publishRate: sent / seconds, subscriptions: filterCount, deliveriesPerPublish: expected / Math.max(1, sent),
        subscribeSeconds,
      },
      notes,
    }
  } finally {
    closeAll(clients)
  }
}
