/**
 * End-to-end latency at a fixed rate: one QoS 0 publisher sending `rate` messages per second
 * (the due messages are sent every millisecond, one socket write each), one subscriber on the
 * same topic. Each payload ends with the send time (a float64 of `performance.now()`); both
 * clients live in this process, so one clock serves both ends. TCP_NODELAY is on for both
 * sockets. The first 20% of the run (at most two seconds) is warm-up and not counted: every
 * broker gets the same, and a broker that has run for a while is what the latency is about.
 * Measured on this machine, Halyard's p99 in a 3 s run (0.6 s warm-up) was 0.9-1.9 ms, in a
 * 12 s run 0.3-0.5 ms, while Mosquitto's stayed at 0.2-0.3 ms: V8 is still optimising then.
 */
import type { LoadResult, LoadSpec } from '../lib/types.js'
import { baseOptions, brokerClosures, closeAll, cpuFields, cpuWindow, payload, sleep, waitFor } from './common.js'
import { RawClient } from './raw-client.js'
import { PUBLISH, PublishTemplate } from './wire.js'

export async function runLatency(spec: LoadSpec): Promise<LoadResult> {
  const samples = new Float64Array(Math.ceil(spec.rate * (spec.seconds + 1)))
  let sampleCount = 0
  let received = 0
  let lastDeliveryAt = 0
  let warmupEndsAt = Number.POSITIVE_INFINITY
  const sink = {
    onFrame(type: number, _flags: number, buf: Buffer, _start: number, end: number): void {
      if (type !== PUBLISH) return
      const now = performance.now()
      const sentAt = buf.readDoubleLE(end - 8)
      received++
      lastDeliveryAt = now
      if (sentAt >= warmupEndsAt && sampleCount < samples.length) samples[sampleCount++] = now - sentAt
    },
  }
  const subscriber = await RawClient.open({
    ...baseOptions(spec), clientId: 'bench-lat-sub', subscribe: { filter: 'bench/latency', qos: 0 },
    sink, wantsBody: (type) => type === PUBLISH,
  })
  const clients = [subscriber]
  try {
    const publisher = await RawClient.open({ ...baseOptions(spec), clientId: 'bench-lat-pub' })
    clients.push(publisher)
    const template = new PublishTemplate({
      topic: 'bench/latency', payload: payload(Math.max(8, spec.payloadBytes)), qos: 0, version: spec.version,
    })

    const startedAt = performance.now()
    warmupEndsAt = startedAt + Math.min(2000, spec.seconds * 200)
    const endAt = startedAt + spec.seconds * 1000
    const cpu = cpuWindow(spec)
    let sent = 0
    while (!publisher.isClosed) {
      const now = performance.now()
      if (now >= endAt) break
      const due = Math.floor(((now - startedAt) * spec.rate) / 1000)
      for (; sent < due; sent++) {
        const message = Buffer.allocUnsafe(template.length)
        template.copyTo(message, 0, 0)
        message.writeDoubleLE(performance.now(), template.length - 8)
        publisher.write(message)
      }
      await sleep(1)
    }
    const window = cpu.stop()
    const notes: string[] = []
    const drained = await waitFor({
      isDone: () => received >= sent, progress: () => received, quietMs: 2000, maxMs: spec.drainSeconds * 1000,
    })
    if (drained !== 'done') notes.push(`drain ended (${drained}) with ${sent - received} messages missing`)
    notes.push(...brokerClosures(clients))

    const sorted = samples.subarray(0, sampleCount).sort()
    const at = (q: number): number => (sampleCount === 0 ? Number.NaN : sorted[Math.min(sampleCount - 1, Math.floor(q * sampleCount))]!)
    let sum = 0
    for (const v of sorted) sum += v
    const seconds = (Math.max(lastDeliveryAt, startedAt + 1) - startedAt) / 1000
    return {
      sent, expected: sent, received, drops: Math.max(0, sent - received), seconds, rate: received / seconds,
      ...cpuFields(window),
      metrics: {
        samples: sampleCount, p50Ms: at(0.5), p99Ms: at(0.99), p999Ms: at(0.999),
        maxMs: sampleCount === 0 ? Number.NaN : sorted[sampleCount - 1]!, meanMs: sum / Math.max(1, sampleCount),
        sendRate: sent / window.seconds,
      },
      notes,
    }
  } finally {
    closeAll(clients)
  }
}
