/**
 * Retained delivery: one publisher stores `retainedCount` retained messages on `ret/000000`,
 * `ret/000001`, ... (QoS 1, 100 in flight, so every one is stored once its PUBACK is back);
 * that loading is not timed. Then a new subscriber sends SUBSCRIBE `#` and the time is taken
 * until the last retained message has arrived. The topic digits are patched into one
 * pre-encoded PUBLISH, so loading needs no encoder either.
 */
import type { LoadResult, LoadSpec } from '../lib/types.js'
import { baseOptions, brokerClosures, closeAll, cpuFields, cpuWindow, payload, waitFor } from './common.js'
import { RawClient } from './raw-client.js'
import { PUBACK, PUBLISH, PublishTemplate } from './wire.js'

const LOAD_WINDOW = 100
const DIGITS = 6

export async function runRetained(spec: LoadSpec): Promise<LoadResult> {
  const count = Math.min(spec.retainedCount, 10 ** DIGITS)
  const clients: RawClient[] = []
  const notes: string[] = []
  try {
    await loadRetained(spec, count, clients)

    let received = 0
    let lastDeliveryAt = 0
    const sink = {
      onFrame(type: number, flags: number): void {
        if (type === PUBLISH && (flags & 1) === 1) {
          received++
          lastDeliveryAt = performance.now()
        }
      },
    }
    const subscriber = await RawClient.open({ ...baseOptions(spec), clientId: 'bench-ret-sub', sink })
    clients.push(subscriber)
    const startedAt = performance.now()
    lastDeliveryAt = startedAt
    const cpu = cpuWindow(spec)
    await subscriber.subscribe('#', 0, spec.drainSeconds * 1000)
    const outcome = await waitFor({
      isDone: () => received >= count, progress: () => received, quietMs: 2000, maxMs: spec.drainSeconds * 1000,
    })
    const window = cpu.stop()
    if (outcome !== 'done') notes.push(`delivery ended (${outcome}) after ${received}/${count} retained messages`)
    notes.push(...brokerClosures(clients))
    const seconds = (lastDeliveryAt - startedAt) / 1000
    return {
      sent: count, expected: count, received, drops: Math.max(0, count - received),
      seconds, rate: received / Math.max(seconds, 1e-6),
      ...cpuFields(window),
      metrics: { retained: count, timeMs: seconds * 1000 },
      notes,
    }
  } finally {
    closeAll(clients)
  }
}

/**
 * Publishes `count` retained messages at QoS 1 on `ret/000000`... (at most `window`
 * unacknowledged) and resolves when all are acknowledged.
 */
export async function loadRetained(spec: LoadSpec, count: number, clients: RawClient[], window = LOAD_WINDOW): Promise<void> {
  const template = new PublishTemplate({
    topic: `ret/${'0'.repeat(DIGITS)}`, payload: payload(spec.payloadBytes), qos: 1, isRetained: true, version: spec.version,
  })
  const digitsAt = template.topicOffset + 'ret/'.length
  let sent = 0
  let acked = 0
  let publisher: RawClient | null = null
  const pump = (): void => {
    if (publisher === null || publisher.isClosed) return
    const room = Math.min(window - (sent - acked), count - sent)
    if (room <= 0) return
    const size = template.length
    const out = Buffer.allocUnsafe(room * size)
    for (let i = 0; i < room; i++) {
      const n = sent + i
      template.copyTo(out, i * size, (n % 65535) + 1)
      out.write(String(n).padStart(DIGITS, '0'), i * size + digitsAt, 'latin1')
    }
    sent += room
    publisher.write(out)
  }
  publisher = await RawClient.open({
    ...baseOptions(spec), clientId: 'bench-ret-pub',
    sink: { onFrame: (type) => { if (type === PUBACK) acked++ } },
  })
  clients.push(publisher)
  publisher.onChunk = pump
  pump()
  const outcome = await waitFor({
    isDone: () => acked >= count, progress: () => acked, quietMs: 5000, maxMs: Math.max(60, count / 1000) * 1000,
  })
  if (outcome !== 'done') throw new Error(`loading retained messages stalled (${outcome}) at ${acked}/${count} acknowledged`)
}
