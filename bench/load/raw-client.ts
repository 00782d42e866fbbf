/**
 * A bare MQTT client on a raw `node:net` socket: it writes pre-encoded bytes, consumes CONNACK
 * and SUBACK itself and hands every other frame to the scenario's `FrameSink`. TCP_NODELAY is
 * on for every socket so that small writes are not held back by Nagle's algorithm.
 */
import { connect, type Socket } from 'node:net'
import {
  CONNACK, FrameReader, SUBACK, connectPacket, subscribeManyPacket, subscribePacket,
  type FrameSink, type ProtocolVersion, type QoS,
} from './wire.js'

/** Seconds; long enough that no run needs a PINGREQ (runs are capped well below it). */
export const KEEPALIVE = 300

export interface OpenOptions {
  port: number
  clientId: string
  version: ProtocolVersion
  isClean?: boolean
  /** Sent right behind CONNECT in the same write, without waiting for CONNACK. */
  subscribe?: { filter: string; qos: QoS }
  sink?: FrameSink
  wantsBody?: (type: number, flags: number) => boolean
  timeoutMs?: number
}

interface Waiter {
  resolve: () => void
  reject: (err: Error) => void
}

const noSink: FrameSink = { onFrame: () => undefined }

export class RawClient implements FrameSink {
  readonly socket: Socket
  readonly clientId: string
  readonly version: ProtocolVersion
  sink: FrameSink
  /** Called after every received chunk, once its frames have been handled. */
  onChunk: (() => void) | null = null
  isClosed = false
  closeReason = ''
  readonly #reader: FrameReader
  #connack: Waiter | null = null
  #suback: Waiter | null = null
  #nextSubscribeId = 1

  private constructor(socket: Socket, opts: OpenOptions) {
    this.socket = socket
    this.clientId = opts.clientId
    this.version = opts.version
    this.sink = opts.sink ?? noSink
    this.#reader = new FrameReader(this, opts.wantsBody ?? (() => false))
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#reader.push(chunk)
      } catch (err) {
        this.#fail(`unreadable bytes from the broker: ${(err as Error).message}`)
        return
      }
      this.onChunk?.()
    })
    socket.on('error', (err) => this.#fail(`socket error: ${err.message}`))
    socket.on('close', () => this.#fail('connection closed by the broker'))
  }

  /** Connects, sends CONNECT (and SUBSCRIBE if asked) and resolves once acknowledged. */
  static async open(opts: OpenOptions): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port: opts.port, noDelay: true })
    const client = new RawClient(socket, opts)
    const timeoutMs = opts.timeoutMs ?? 10_000
    const timer = setTimeout(() => client.#fail(`no CONNACK/SUBACK within ${timeoutMs} ms`), timeoutMs)
    try {
      const connected = new Promise<void>((resolve, reject) => (client.#connack = { resolve, reject }))
      const parts = [connectPacket({
        clientId: opts.clientId, version: opts.version, isClean: opts.isClean ?? true, keepalive: KEEPALIVE,
      })]
      let subscribed: Promise<void> | undefined
      if (opts.subscribe !== undefined) {
        subscribed = client.#expectSuback()
        parts.push(subscribePacket({ packetId: client.#nextSubscribeId++, version: opts.version, ...opts.subscribe }))
      }
      socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts))
      // Both at once: a refused CONNACK must not leave the SUBACK promise rejected unobserved.
      await Promise.all([connected, subscribed])
      return client
    } catch (err) {
      socket.destroy()
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  /** Sends SUBSCRIBE and resolves at SUBACK; frames that arrive meanwhile go to the sink. */
  async subscribe(filter: string, qos: QoS, timeoutMs = 10_000): Promise<void> {
    const subscribed = this.#expectSuback()
    const timer = setTimeout(() => this.#fail(`no SUBACK within ${timeoutMs} ms`), timeoutMs)
    this.socket.write(subscribePacket({ packetId: this.#nextSubscribeId++, filter, qos, version: this.version }))
    try {
      await subscribed
    } finally {
      clearTimeout(timer)
    }
  }

  /** One SUBSCRIBE with every filter in `filters`; resolves at SUBACK if every one was granted. */
  async subscribeMany(filters: string[], qos: QoS, timeoutMs = 30_000): Promise<void> {
    const subscribed = this.#expectSuback()
    const timer = setTimeout(() => this.#fail(`no SUBACK within ${timeoutMs} ms`), timeoutMs)
    this.socket.write(subscribeManyPacket({ packetId: this.#nextSubscribeId++, filters, qos, version: this.version }))
    try {
      await subscribed
    } finally {
      clearTimeout(timer)
    }
  }

  write(bytes: Buffer): boolean {
    return this.socket.write(bytes)
  }

  destroy(): void {
    this.isClosed = true
    this.socket.destroy()
  }

  onFrame(type: number, flags: number, buf: Buffer, start: number, end: number): void {
    if (type === CONNACK) this.#onConnack(buf, start, end)
    else if (type === SUBACK) this.#onSuback(buf, start, end)
    else this.sink.onFrame(type, flags, buf, start, end)
  }

  #expectSuback(): Promise<void> {
    if (this.#suback !== null) throw new Error('one SUBSCRIBE at a time')
    return new Promise<void>((resolve, reject) => (this.#suback = { resolve, reject }))
  }

  #onConnack(buf: Buffer, start: number, end: number): void {
    const waiter = this.#connack
    this.#connack = null
    // 3.1.1: [flags, return code]; 5.0: [flags, reason code, properties].
    const code = end - start >= 2 ? buf[start + 1]! : 0xff
    if (code === 0) waiter?.resolve()
    else this.#fail(`CONNACK refused with code 0x${code.toString(16)}`, waiter)
  }

  #onSuback(buf: Buffer, start: number, end: number): void {
    const waiter = this.#suback
    this.#suback = null
    // After the packet id (and at 5.0 the properties) one granted QoS or failure code
    // (0x80 and above) per filter.
    let at = start + 2
    if (this.version === 5) {
      let length = 0
      let multiplier = 1
      for (;;) {
        const byte = buf[at++] ?? 0
        length += (byte & 0x7f) * multiplier
        multiplier *= 128
        if ((byte & 0x80) === 0 || at >= end) break
      }
      at += length
    }
    let code = at < end ? 0 : 0xff
    for (let i = at; i < end; i++) code = Math.max(code, buf[i]!)
    if (code < 0x80) waiter?.resolve()
    else this.#fail(`SUBACK refused with code 0x${code.toString(16)}`, waiter)
  }

  #fail(reason: string, waiter?: Waiter | null): void {
    if (!this.isClosed) {
      this.isClosed = true
      this.closeReason = reason
      this.socket.destroy()
    }
    const err = new Error(`${this.clientId}: ${reason}`)
    waiter?.reject(err)
    this.#connack?.reject(err)
    this.#suback?.reject(err)
    this.#connack = null
    this.#suback = null
  }
}
