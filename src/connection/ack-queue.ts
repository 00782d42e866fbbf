import type { OutboundPacket } from '../protocol/index.js'

interface Pending {
  ack: OutboundPacket
  isReady: boolean
}

/**
 * Acknowledgements leave in the order their PUBLISH/PUBREL arrived [MQTT-4.6.0-2..4], even
 * though each waits for its own store write: an ack that is ready early waits behind the
 * ones before it.
 */
export class AckQueue {
  readonly #queue: Pending[] = []
  readonly #send: (ack: OutboundPacket) => void
  readonly #fail: (err: unknown) => void

  constructor(send: (ack: OutboundPacket) => void, fail: (err: unknown) => void) {
    this.#send = send
    this.#fail = fail
  }

  push(after: Promise<void> | null, ack: OutboundPacket): void {
    if (after === null && this.#queue.length === 0) {
      this.#send(ack)
      return
    }
    const pending: Pending = { ack, isReady: after === null }
    this.#queue.push(pending)
    if (after === null) return
    after.then(() => {
      pending.isReady = true
      this.#drain()
    }, this.#fail)
  }

  #drain(): void {
    const queue = this.#queue
    let n = 0
    while (n < queue.length && queue[n]?.isReady === true) {
      const head = queue[n]
      if (head !== undefined) this.#send(head.ack)
      n++
    }
    if (n > 0) queue.splice(0, n)
  }
}
