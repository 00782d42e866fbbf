import type { OutboundPacket } from '../protocol/index.js'

/** What a counted acknowledgement releases: a session's share of our Receive Maximum. */
export interface InflightCounter {
  inboundInflight: number
}

interface Pending {
  ack: OutboundPacket
  /** The write to wait for; null once it has landed (or when there was none). */
  after: Promise<void> | null
  countedIn: InflightCounter | undefined
}

/**
 * Acknowledgements leave in the order their PUBLISH/PUBREL arrived [MQTT-4.6.0-2..4], even
 * though each waits for its own store write: an ack that is ready early waits behind the
 * ones before it.
 *
 * Only the head of the queue is waited on, through two handlers made once per queue: the
 * queue cannot move before its head does, so watching every write would only add a closure
 * and a promise per message. When a write lands, the head is released with every entry
 * behind it that needs no write, and the next write is watched.
 *
 * A counted entry (a QoS 1 PUBLISH, see handlers/publish.ts) gives its place in the session's
 * `inboundInflight` back when its ack is released, whether or not the connection still takes it.
 */
export class AckQueue {
  readonly #queue: Pending[] = []
  readonly #send: (ack: OutboundPacket) => void
  readonly #fail: (err: unknown) => void

  constructor(send: (ack: OutboundPacket) => void, fail: (err: unknown) => void) {
    this.#send = send
    this.#fail = fail
  }

  push(after: Promise<void> | null, ack: OutboundPacket, countedIn?: InflightCounter): void {
    const queue = this.#queue
    if (after === null && queue.length === 0) {
      this.#release(ack, countedIn)
      return
    }
    queue.push({ ack, after, countedIn })
    if (queue.length === 1) this.#drain()
  }

  readonly #onHeadWritten = (): void => {
    const head = this.#queue[0]
    if (head !== undefined) head.after = null
    this.#drain()
  }

  readonly #onHeadFailed = (err: unknown): void => {
    this.#fail(err)
  }

  /** Releases the head while it needs no write, then waits for the next write. */
  #drain(): void {
    const queue = this.#queue
    let n = 0
    while (n < queue.length) {
      const head = queue[n] as Pending
      if (head.after !== null) {
        head.after.then(this.#onHeadWritten, this.#onHeadFailed)
        break
      }
      this.#release(head.ack, head.countedIn)
      n++
    }
    if (n > 0) queue.splice(0, n)
  }

  #release(ack: OutboundPacket, countedIn: InflightCounter | undefined): void {
    if (countedIn !== undefined) countedIn.inboundInflight--
    this.#send(ack)
  }
}
