/**
 * Fills a broker for the cold-start scenario (not timed): `retainedCount` retained messages
 * (64 B, QoS 1, `ret/000000`...) and `subscriptions` persistent sessions (`cold-sess-<k>`,
 * clean session 0, one QoS 1 subscription each to `cold/<k>/#`), each ended by DISCONNECT so
 * the session outlives it. The runner then stops the broker, which leaves its data behind.
 */
import type { LoadResult, LoadSpec } from '../lib/types.js'
import { baseOptions, closeAll, cpuFields, cpuWindow, sleep } from './common.js'
import { RawClient } from './raw-client.js'
import { loadRetained } from './retained.js'
import { disconnectPacket } from './wire.js'

const WINDOW = 1000
const CONCURRENCY = 100

export async function runColdPrepare(spec: LoadSpec): Promise<LoadResult> {
  const startedAt = performance.now()
  const cpu = cpuWindow(spec)
  const clients: RawClient[] = []
  try {
    await loadRetained(spec, spec.retainedCount, clients, WINDOW)
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < spec.subscriptions) {
        const k = next++
        const client = await RawClient.open({
          ...baseOptions(spec), clientId: `cold-sess-${k}`, isClean: false, subscribe: { filter: `cold/${k}/#`, qos: 1 },
        })
        client.socket.end(disconnectPacket(spec.version))
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    // Let the last DISCONNECTs be read before the runner stops the broker.
    await sleep(500)
    const seconds = (performance.now() - startedAt) / 1000
    return {
      sent: spec.retainedCount, expected: spec.retainedCount, received: spec.retainedCount, drops: 0,
      seconds, rate: spec.retainedCount / seconds, ...cpuFields(cpu.stop()),
      metrics: { retained: spec.retainedCount, sessions: spec.subscriptions }, notes: [],
    }
  } finally {
    closeAll(clients)
  }
}
