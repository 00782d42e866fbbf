/** Small helpers every scenario uses: bounded waits, payloads, opening many clients. */
import { CpuWindow, type CpuWindowResult } from '../lib/proc.js'
import type { LoadResult, LoadSpec } from '../lib/types.js'
import { RawClient, type OpenOptions } from './raw-client.js'

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Polls every 5 ms until `isDone()`, or `progress()` has not moved for `quietMs`, or `maxMs`
 * passed. Always returns; says why it stopped.
 */
export async function waitFor(opts: {
  isDone: () => boolean
  progress: () => number
  quietMs: number
  maxMs: number
}): Promise<'done' | 'quiet' | 'timeout'> {
  const startedAt = performance.now()
  let last = opts.progress()
  let lastMovedAt = startedAt
  for (;;) {
    if (opts.isDone()) return 'done'
    const now = performance.now()
    const progress = opts.progress()
    if (progress !== last) {
      last = progress
      lastMovedAt = now
    } else if (now - lastMovedAt >= opts.quietMs) {
      return 'quiet'
    }
    if (now - startedAt >= opts.maxMs) return 'timeout'
    await sleep(5)
  }
}

/** A payload of `bytes` bytes of printable filler. */
export function payload(bytes: number): Buffer {
  const buf = Buffer.alloc(bytes)
  for (let i = 0; i < bytes; i++) buf[i] = 0x61 + (i % 26)
  return buf
}

/** Opens `count` clients, `concurrency` at a time; rejects on the first failure. */
export async function openMany(
  count: number,
  concurrency: number,
  options: (i: number) => OpenOptions,
): Promise<RawClient[]> {
  const clients: RawClient[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      clients[i] = await RawClient.open(options(i))
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  } catch (err) {
    for (const client of clients) client?.destroy()
    throw err
  }
  return clients
}

export function closeAll(clients: Iterable<RawClient | undefined>): void {
  for (const client of clients) client?.destroy()
}

/** Names the first client the broker closed on us, if any: a broker-side failure. */
export function brokerClosures(clients: Iterable<RawClient | undefined>): string[] {
  const reasons = new Map<string, number>()
  for (const client of clients) {
    if (client !== undefined && client.isClosed && client.closeReason !== '') {
      reasons.set(client.closeReason, (reasons.get(client.closeReason) ?? 0) + 1)
    }
  }
  return [...reasons].map(([reason, n]) => `${n} connection(s): ${reason}`)
}

export function baseOptions(spec: LoadSpec): { port: number; version: 4 | 5 } {
  return { port: spec.port, version: spec.version }
}

export function cpuWindow(spec: LoadSpec): CpuWindow {
  return new CpuWindow(spec.brokerPid, spec.clockTicks, { broker: spec.brokerCore, load: spec.loadCore })
}

/** The CPU fields of a `LoadResult` from one measured window. */
export function cpuFields(w: CpuWindowResult): Pick<LoadResult, 'brokerCpuPct' | 'loadCpuPct' | 'brokerCoreOtherPct' | 'loadCoreOtherPct'> {
  return {
    brokerCpuPct: w.brokerCpuPct, loadCpuPct: w.loadCpuPct,
    brokerCoreOtherPct: w.brokerCoreOtherPct, loadCoreOtherPct: w.loadCoreOtherPct,
  }
}
