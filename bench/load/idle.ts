/**
 * Idle connections: open `connections` clients, `connectConcurrency` CONNECT+SUBSCRIBE pairs
 * outstanding at a time, each subscribing to its own `idle/<i>`; then hold them quiet for
 * `holdSeconds`. Reports the connect rate (connections acknowledged per second), the broker's
 * RSS growth per connection (VmRSS after the hold minus before the first connect) and its CPU
 * while connecting (the CPU columns) and while holding (`holdBrokerCpuPct`). A probe then publishes to 100 of the topics to show the connections still
 * work.
 */
import type { LoadResult, LoadSpec } from '../lib/types.js'
import { memoryKiB } from '../lib/proc.js'
import { baseOptions, brokerClosures, closeAll, cpuFields, cpuWindow, payload, sleep, waitFor } from './common.js'
import { RawClient } from './raw-client.js'
import { PUBLISH, PublishTemplate } from './wire.js'

const PROBES = 100

export async function runIdle(spec: LoadSpec): Promise<LoadResult> {
  let probesReceived = 0
  const sink = {
    onFrame(type: number): void {
      if (type === PUBLISH) probesReceived++
    },
  }
  const clients: (RawClient | undefined)[] = new Array<RawClient | undefined>(spec.connections)
  const notes: string[] = []
  try {
    const rssBeforeKiB = memoryKiB(spec.brokerPid, 'VmRSS')
    const startedAt = performance.now()
    const connectCpu = cpuWindow(spec)
    const connectDeadline = startedAt + Math.max(30, spec.seconds * 20) * 1000
    let next = 0
    let connected = 0
    let failed = 0
    let firstError = ''
    const worker = async (): Promise<void> => {
      while (next < spec.connections && performance.now() < connectDeadline) {
        const i = next++
        try {
          clients[i] = await RawClient.open({
            ...baseOptions(spec), clientId: `bench-idle-${i}`, subscribe: { filter: `idle/${i}`, qos: 0 }, sink,
          })
          connected++
        } catch (err) {
          failed++
          if (firstError === '') firstError = (err as Error).message
        }
      }
    }
    await Promise.all(Array.from({ length: spec.connectConcurrency }, worker))
    const connectSeconds = (performance.now() - startedAt) / 1000
    const connecting = connectCpu.stop()
    if (failed > 0) notes.push(`${failed} connections failed; first: ${firstError}`)
    if (connected + failed < spec.connections) notes.push(`connect phase timed out after ${connected + failed} attempts`)

    const cpu = cpuWindow(spec)
    await sleep(spec.holdSeconds * 1000)
    const hold = cpu.stop()
    const rssAfterKiB = memoryKiB(spec.brokerPid, 'VmRSS')
    const stillOpen = clients.filter((c) => c !== undefined && !c.isClosed).length
    if (stillOpen < connected) notes.push(`${connected - stillOpen} connections closed by the broker while idle`)

    const probe = await RawClient.open({ ...baseOptions(spec), clientId: 'bench-idle-probe' })
    const probeTargets = Array.from({ length: Math.min(PROBES, spec.connections) }, (_, k) =>
      Math.floor((k * spec.connections) / Math.min(PROBES, spec.connections)))
    const parts = probeTargets.map((i) =>
      new PublishTemplate({ topic: `idle/${i}`, payload: payload(16), qos: 0, version: spec.version }).bytes)
    probe.write(Buffer.concat(parts))
    const expectedProbes = probeTargets.filter((i) => clients[i] !== undefined && !clients[i].isClosed).length
    await waitFor({ isDone: () => probesReceived >= expectedProbes, progress: () => probesReceived, quietMs: 2000, maxMs: 5000 })
    probe.destroy()
    if (probesReceived < expectedProbes) notes.push(`probe: ${probesReceived}/${expectedProbes} delivered`)
    notes.push(...brokerClosures(clients))

    return {
      sent: spec.connections, expected: spec.connections, received: connected, drops: spec.connections - connected,
      seconds: connectSeconds, rate: connected / connectSeconds,
      ...cpuFields(connecting),
      metrics: {
        connections: connected, connectRate: connected / connectSeconds,
        holdBrokerCpuPct: hold.brokerCpuPct, rssBeforeKiB, rssAfterKiB, rssPerConnKiB: (rssAfterKiB - rssBeforeKiB) / Math.max(1, connected),
        probesDelivered: probesReceived, probesExpected: expectedProbes,
      },
      notes,
    }
  } finally {
    closeAll(clients)
  }
}
