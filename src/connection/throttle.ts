/**
 * A client's publish rate (`limits.maxPublishRate` messages and `limits.maxPublishByteRate`
 * bytes of topic and payload per second), enforced as back-pressure rather than by dropping.
 *
 * Two token buckets, each holding one second's worth (the burst a client may send after a quiet
 * second). The connection charges every PUBLISH as it handles it, and a bucket may go into
 * debt. A debt stops the connection until it is paid back: packets already read wait, in order,
 * and the socket is not read, so the client's writes back up into the kernel's buffers and TCP
 * flow control slows it down. Nothing is dropped, and averaged over a second or two the client
 * gets exactly its rate, however it batches its writes.
 */
export class PublishThrottle {
  readonly #messages: Bucket | undefined
  readonly #bytes: Bucket | undefined

  /** Either rate may be 0 (no limit); `isNeeded` says whether a throttle is worth having. */
  constructor(messagesPerSecond: number, bytesPerSecond: number, now = Date.now()) {
    this.#messages = messagesPerSecond > 0 ? new Bucket(messagesPerSecond, now) : undefined
    this.#bytes = bytesPerSecond > 0 ? new Bucket(bytesPerSecond, now) : undefined
  }

  static isNeeded(messagesPerSecond: number, bytesPerSecond: number): boolean {
    return messagesPerSecond > 0 || bytesPerSecond > 0
  }

  /** Charges one PUBLISH; returns how many ms to stop reading for (0: read on). */
  charge(bytes: number, now = Date.now()): number {
    const forMessages = this.#messages?.take(1, now) ?? 0
    const forBytes = this.#bytes?.take(bytes, now) ?? 0
    return Math.max(forMessages, forBytes)
  }
}

class Bucket {
  readonly #rate: number
  #tokens: number
  #at: number

  constructor(perSecond: number, now: number) {
    this.#rate = perSecond
    this.#tokens = perSecond
    this.#at = now
  }

  /** Takes `n` tokens, into debt if need be; returns the ms until the debt is paid back. */
  take(n: number, now: number): number {
    this.#tokens = Math.min(this.#rate, this.#tokens + (now - this.#at) * this.#rate / 1000)
    this.#at = now
    this.#tokens -= n
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens * 1000 / this.#rate)
  }
}
