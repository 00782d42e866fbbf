import type { Duplex } from 'node:stream'

/** Packets averaging fewer bytes than this are copied into one buffer per flush; bigger ones go as a writev. */
const COALESCE_BELOW = 2048

/** What the outbox tells its connection about a client that leaves its bytes unread. */
export interface SlowReaderPolicy {
  readonly maxClientBufferBytes: number
  readonly slowClientTimeout: number
  /** Called when the client is still beyond `maxClientBufferBytes` after `slowClientTimeout` ms. */
  onSlowReader(buffered: number): void
}

/**
 * The bytes a connection sends in one tick, written to its stream together: one write per tick
 * per connection however many packets the tick produced (the hot path's "one socket write per
 * batch"). Small packets are copied into one buffer (one copy costs less than a stream write
 * per packet: 100,000 retained messages on SUBSCRIBE, a subscriber's share of a busy tick);
 * big ones go out corked, as one writev, without being copied.
 *
 * It also notices a client that stops reading: past `maxClientBufferBytes` unread it arms one
 * timer, and a client still beyond it `slowClientTimeout` ms later without the socket having
 * drained in between is reported to the connection, which cuts it off.
 */
export class Outbox {
  readonly #stream: Duplex
  readonly #policy: SlowReaderPolicy
  #out: Buffer[] = []
  #bytes = 0
  #isScheduled = false
  /** Armed while the client leaves more than maxClientBufferBytes unread. */
  #slowReader: { timer: NodeJS.Timeout; onDrain: () => void } | undefined

  constructor(stream: Duplex, policy: SlowReaderPolicy) {
    this.#stream = stream
    this.#policy = policy
  }

  /** Bytes queued here and in the stream, not yet taken by the client. */
  get bufferedBytes(): number {
    return this.#bytes + this.#stream.writableLength
  }

  /** Queues bytes for this tick's single write. */
  write(bytes: Buffer): void {
    this.#out.push(bytes)
    this.#bytes += bytes.length
    if (!this.#isScheduled) {
      this.#isScheduled = true
      process.nextTick(Outbox.#flushSoon, this)
    }
  }

  static #flushSoon(outbox: Outbox): void {
    outbox.flush()
  }

  /** Writes what is queued now (the tick's flush, or a closing connection's last bytes). */
  flush(): void {
    this.#isScheduled = false
    const out = this.#out
    const stream = this.#stream
    if (out.length === 0 || stream.destroyed) return
    const bytes = this.#bytes
    this.#out = []
    this.#bytes = 0
    if (out.length === 1) {
      stream.write(out[0])
    } else if (bytes <= out.length * COALESCE_BELOW) {
      stream.write(Buffer.concat(out, bytes))
    } else {
      stream.cork()
      for (const buf of out) stream.write(buf)
      stream.uncork()
    }
    if (this.#slowReader === undefined && stream.writableLength > this.#policy.maxClientBufferBytes) this.#watchSlowReader()
  }

  /** Stops watching for a slow reader: the connection is closing. */
  stop(): void {
    if (this.#slowReader === undefined) return
    clearTimeout(this.#slowReader.timer)
    this.#stream.off('drain', this.#slowReader.onDrain)
    this.#slowReader = undefined
  }

  #watchSlowReader(): void {
    const policy = this.#policy
    const onDrain = (): void => {
      if (this.#slowReader === undefined) return
      clearTimeout(this.#slowReader.timer)
      this.#slowReader = undefined
    }
    const timer = setTimeout(() => {
      this.#stream.off('drain', onDrain)
      this.#slowReader = undefined
      const buffered = this.bufferedBytes
      if (buffered > policy.maxClientBufferBytes) policy.onSlowReader(buffered)
    }, policy.slowClientTimeout)
    timer.unref()
    this.#slowReader = { timer, onDrain }
    this.#stream.once('drain', onDrain)
  }
}
