/**
 * A WebSocket as a byte stream, the same kind of duplex a TCP socket is.
 *
 * ws's own `createWebSocketStream` pushes every message into the stream, text frames included,
 * so the bytes of a text frame would reach the MQTT decoder before any 'message' listener could
 * close the connection. This stream decides first: binary frames are pushed, and the first text
 * frame closes the WebSocket (1003) with nothing of it, or of anything after it, pushed
 * [MQTT-6.0.0-1]. Frame boundaries mean nothing to MQTT, so the consumer sees one byte stream
 * in which a packet may span frames and a frame may hold several packets [MQTT-6.0.0-2].
 *
 * Back-pressure, both ways:
 * - in: when the consumer stops reading (`push` returns false) the WebSocket is paused, which
 *   pauses its socket, so a fast client cannot fill the broker's memory;
 * - out: a write completes only when ws has handed the frame to the socket and the socket has
 *   handed it to the kernel (ws.send's callback), so `writableLength` counts every byte the
 *   browser has not yet taken — ws's `bufferedAmount` and what waits behind it. The session
 *   logic reads it (as `bufferedBytes`) to drop QoS 0 messages for a client that is not reading.
 *   Writes waiting together (a corked batch) go out as one frame.
 */
import { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'

/** Close code for data the endpoint cannot accept (RFC 6455 section 7.4.1). */
const UNSUPPORTED_DATA = 1003

export class WebSocketStream extends Duplex {
  readonly #ws: WebSocket
  #isRefused = false

  constructor(ws: WebSocket) {
    super({ allowHalfOpen: false })
    this.#ws = ws
    ws.on('message', this.#onMessage)
    // An abrupt disconnect must look like a closed TCP socket: the will is due [MQTT-3.1.2-8].
    ws.once('close', () => {
      this.push(null)
      this.destroy()
    })
    ws.on('error', (err: Error) => this.destroy(err))
  }

  /** The subprotocol agreed in the handshake: `mqtt`, `mqttv3.1`, or '' when none was offered. */
  get protocol(): string {
    return this.#ws.protocol
  }

  readonly #onMessage = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void => {
    if (this.#isRefused) return
    if (!isBinary) {
      this.#isRefused = true
      this.#ws.close(UNSUPPORTED_DATA, 'MQTT needs binary frames')
      return
    }
    const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
    if (!this.push(chunk)) this.#ws.pause()
  }

  override _read(): void {
    if (this.#ws.isPaused) this.#ws.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.#send(chunk, callback)
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (err?: Error | null) => void): void {
    this.#send(chunks.length === 1 && chunks[0] !== undefined ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback)
  }

  #send(bytes: Buffer, callback: (err?: Error | null) => void): void {
    if (this.#ws.readyState !== this.#ws.OPEN) {
      callback(new Error('WebSocket is not open'))
      return
    }
    this.#ws.send(bytes, { binary: true }, (err) => callback(err ?? null))
  }

  override _final(callback: (err?: Error | null) => void): void {
    // Every write has completed by now, so the close frame follows the last packet.
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.close(1000)
    callback()
  }

  override _destroy(err: Error | null, callback: (err: Error | null) => void): void {
    // The normal way here is the WebSocket's 'close'. Otherwise the connection gave up on it
    // (a peer that never answers our close frame, a refused connection): cut the socket.
    if (this.#ws.readyState !== this.#ws.CLOSED) this.#ws.terminate()
    callback(err)
  }
}
