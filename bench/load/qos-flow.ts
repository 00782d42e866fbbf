/**
 * QoS 1 and QoS 2 end to end: `publishers` clients, each on its own topic with at most `window`
 * messages unacknowledged by the broker (PUBACK, or PUBCOMP at QoS 2), and one persistent
 * subscriber on `bench/+` at the same QoS that acknowledges everything it receives.
 *
 * Publishers also stop while `backlogCap` messages are sent but not yet received, so the
 * broker's queue to the subscriber stays bounded (and below any queue limit) and a message
 * missing after the drain is a real loss, not a queue overflow.
 *
 * Packet ids are tracked in a 64 Ki-entry table per client: an acknowledgement for an id that
 * is not outstanding is counted (`unexpectedAcks`), and a QoS 2 PUBLISH repeated before PUBREL
 * is counted once.
 */
import type { LoadResult, LoadSpec } from '../lib/types.js'
import { baseOptions, brokerClosures, closeAll, cpuFields, cpuWindow, openMany, payload, sleep, waitFor } from './common.js'
import { RawClient } from './raw-client.js'
import {
  PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, PublishTemplate, ackTemplate, publishPacketId, qosOf,
} from './wire.js'

/** No delivery for this long while sending: stop sending; after sending: the drain is over. */
const STALL_MS = 3000
const QUIET_MS = 3000
const OUTSTANDING = 1
const RELEASED = 2

/** Collects acknowledgements while a chunk is read and writes them in one buffer after it. */
class AckBatch {
  readonly #first: number
  #ids: number[] = []

  constructor(type: typeof PUBACK | typeof PUBREC | typeof PUBREL | typeof PUBCOMP) {
    this.#first = ackTemplate(type)[0]!
  }

  add(packetId: number): void {
    this.#ids.push(packetId)
  }

  flush(client: RawClient): void {
    const ids = this.#ids
    if (ids.length === 0) return
    const out = Buffer.allocUnsafe(ids.length * 4)
    for (let i = 0; i < ids.length; i++) {
      out[i * 4] = this.#first
      out[i * 4 + 1] = 2
      out.writeUInt16BE(ids[i]!, i * 4 + 2)
    }
    this.#ids = []
    client.write(out)
  }
}

/** Shared counters of one run. */
interface Flow {
  readonly spec: LoadSpec
  sent: number
  completed: number
  received: number
  duplicates: number
  unexpectedAcks: number
  isStopped: boolean
  lastDeliveryAt: number
}

class WindowedPublisher {
  client: RawClient | null = null
  inflight = 0
  readonly #flow: Flow
  readonly #template: PublishTemplate
  readonly #state = new Uint8Array(65536)
  readonly #releases = new AckBatch(PUBREL)
  #nextId = 1

  constructor(flow: Flow, topic: string) {
    this.#flow = flow
    const spec = flow.spec
    this.#template = new PublishTemplate({ topic, payload: payload(spec.payloadBytes), qos: spec.qos, version: spec.version })
  }

  onFrame(type: number, _flags: number, buf: Buffer, start: number): void {
    const id = buf.readUInt16BE(start)
    const state = this.#state
    if (type === PUBACK || type === PUBCOMP) {
      const isExpected = state[id] === (type === PUBACK ? OUTSTANDING : RELEASED)
      if (!isExpected) {
        this.#flow.unexpectedAcks++
        return
      }
      state[id] = 0
      this.inflight--
      this.#flow.completed++
    } else if (type === PUBREC) {
      if (state[id] === OUTSTANDING) state[id] = RELEASED
      else this.#flow.unexpectedAcks++
      this.#releases.add(id)
    }
  }

  /** After each chunk: release what was received, then refill the window. */
  onChunk(): void {
    if (this.client === null) return
    this.#releases.flush(this.client)
    this.pump()
  }

  pump(): void {
    const flow = this.#flow
    const client = this.client
    if (client === null || flow.isStopped || client.isClosed) return
    const room = Math.min(flow.spec.window - this.inflight, flow.spec.backlogCap - (flow.sent - flow.received))
    if (room <= 0) return
    const size = this.#template.length
    const out = Buffer.allocUnsafe(room * size)
    for (let i = 0; i < room; i++) {
      let id = this.#nextId
      while (this.#state[id] !== 0) id = id === 65535 ? 1 : id + 1
      this.#nextId = id === 65535 ? 1 : id + 1
      this.#state[id] = OUTSTANDING
      this.#template.copyTo(out, i * size, id)
    }
    this.inflight += room
    flow.sent += room
    client.write(out)
  }
}

class AckingSubscriber {
  readonly #flow: Flow
  readonly #awaitingRelease = new Uint8Array(65536)
  readonly #acks: AckBatch
  readonly #completions = new AckBatch(PUBCOMP)

  constructor(flow: Flow) {
    this.#flow = flow
    this.#acks = new AckBatch(flow.spec.qos === 2 ? PUBREC : PUBACK)
  }

  onFrame(type: number, flags: number, buf: Buffer, start: number): void {
    if (type === PUBLISH) {
      const qos = qosOf(flags)
      if (qos === 0) {
        this.#flow.received++
        return
      }
      const id = publishPacketId(buf, start)
      if (qos === 2 && this.#awaitingRelease[id] === 1) this.#flow.duplicates++
      else this.#flow.received++
      if (qos === 2) this.#awaitingRelease[id] = 1
      this.#acks.add(id)
    } else if (type === PUBREL) {
      const id = buf.readUInt16BE(start)
      this.#awaitingRelease[id] = 0
      this.#completions.add(id)
    }
  }

  flush(client: RawClient): void {
    this.#acks.flush(client)
    this.#completions.flush(client)
  }
}

export async function runQosFlow(spec: LoadSpec): Promise<LoadResult> {
  const flow: Flow = {
    spec, sent: 0, completed: 0, received: 0, duplicates: 0, unexpectedAcks: 0, isStopped: false, lastDeliveryAt: 0,
  }
  const publishers = Array.from({ length: spec.publishers }, (_, i) => new WindowedPublisher(flow, `bench/${i}`))
  const acking = new AckingSubscriber(flow)
  const wantsBody = (): boolean => true
  const subscriber = await RawClient.open({
    ...baseOptions(spec), clientId: 'bench-e2e-sub', isClean: false,
    subscribe: { filter: 'bench/+', qos: spec.qos }, sink: acking, wantsBody,
  })
  const clients: RawClient[] = [subscriber]
  try {
    const opened = await openMany(spec.publishers, 50, (i) => ({
      ...baseOptions(spec), clientId: `bench-pub-${i}`, sink: publishers[i]!, wantsBody,
    }))
    clients.push(...opened)
    opened.forEach((client, i) => {
      const p = publishers[i]!
      p.client = client
      client.onChunk = () => p.onChunk()
    })
    subscriber.onChunk = () => {
      flow.lastDeliveryAt = performance.now()
      acking.flush(subscriber)
      // Publishers held back by the backlog cap get room as deliveries arrive.
      for (const p of publishers) if (p.inflight < spec.window) p.pump()
    }

    const startedAt = performance.now()
    flow.lastDeliveryAt = startedAt
    const cpu = cpuWindow(spec)
    for (const p of publishers) p.pump()
    const notes: string[] = []
    const endAt = startedAt + spec.seconds * 1000
    while (performance.now() < endAt) {
      await sleep(Math.min(100, Math.max(1, endAt - performance.now())))
      if (performance.now() - flow.lastDeliveryAt > STALL_MS) {
        notes.push(`stalled: no delivery for ${STALL_MS / 1000} s with ${flow.sent - flow.received} outstanding; sending stopped early`)
        break
      }
    }
    flow.isStopped = true
    const window = cpu.stop()
    const isSettled = (): boolean => flow.received >= flow.sent && publishers.every((p) => p.inflight === 0)
    const drained = await waitFor({
      isDone: isSettled, progress: () => flow.received + flow.completed,
      quietMs: QUIET_MS, maxMs: spec.drainSeconds * 1000,
    })
    if (drained !== 'done') {
      notes.push(`drain ended (${drained}): ${flow.sent - flow.received} not received, ${flow.sent - flow.completed} not acknowledged`)
    }
    const acknowledgedButLost = flow.completed - flow.received
    if (acknowledgedButLost > 0) notes.push(`${acknowledgedButLost} messages acknowledged to their publisher but not delivered by the end of the drain`)
    if (flow.duplicates > 0) notes.push(`${flow.duplicates} QoS 2 duplicates before PUBREL`)
    if (flow.unexpectedAcks > 0) notes.push(`${flow.unexpectedAcks} acknowledgements for ids not outstanding`)
    notes.push(...brokerClosures(clients))
    const seconds = (Math.max(flow.lastDeliveryAt, startedAt + 1) - startedAt) / 1000
    return {
      sent: flow.sent, expected: flow.sent, received: flow.received, drops: Math.max(0, flow.sent - flow.received),
      seconds, rate: flow.received / seconds,
      ...cpuFields(window),
      metrics: {
        acknowledged: flow.completed, acknowledgedButLost: Math.max(0, acknowledgedButLost),
        duplicates: flow.duplicates, unexpectedAcks: flow.unexpectedAcks,
      },
      notes,
    }
  } finally {
    closeAll(clients)
  }
}
