import type { IncomingMessage } from 'node:http'
import * as mqttPacket from 'mqtt-packet'
import type { Packet } from 'mqtt-packet'
import WebSocket from 'ws'
import { WAIT_MS } from './raw.js'

/**
 * A raw MQTT-over-WebSocket client for wire tests: frames out exactly as the test builds them
 * (binary or text, one packet split over several, several in one), whole decoded packets in,
 * the close code and the HTTP answer of a refused handshake observable. Every wait is bounded.
 */
export interface WsRawOptions {
  /** Subprotocols offered; `[]` offers none (no Sec-WebSocket-Protocol header). Default `['mqtt']`. */
  protocols?: string[]
  origin?: string
  /** Answer the server's pings (default true). */
  autoPong?: boolean
  version?: 4 | 5
}

export class WsRawClient {
  readonly socket: WebSocket
  readonly packets: Packet[] = []
  /** Payload bytes of every PUBLISH received. */
  publishBytes = 0
  pings = 0
  #close: { code: number; reason: string } | undefined
  #waiters: Array<() => void> = []

  private constructor(socket: WebSocket, version: 4 | 5) {
    this.socket = socket
    const parser = mqttPacket.parser({ protocolVersion: version })
    parser.on('packet', (packet: Packet) => {
      if (packet.cmd === 'publish') this.publishBytes += Buffer.byteLength(packet.payload)
      this.packets.push(packet)
      this.#wake()
    })
    socket.on('message', (data: Buffer) => { parser.parse(data) })
    socket.on('ping', () => { this.pings++; this.#wake() })
    socket.on('close', (code, reason) => { this.#close = { code, reason: reason.toString() }; this.#wake() })
    socket.on('error', () => undefined)
  }

  /** Opens a WebSocket and waits for the handshake; rejects if it is refused. */
  static async open(t: { teardown(fn: () => void): void }, url: string, opts: WsRawOptions = {}): Promise<WsRawClient> {
    const socket = new WebSocket(url, opts.protocols ?? ['mqtt'], {
      ...(opts.origin === undefined ? {} : { origin: opts.origin }),
      autoPong: opts.autoPong ?? true,
    })
    t.teardown(() => socket.terminate())
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('error', reject)
    })
    return new WsRawClient(socket, opts.version ?? 4)
  }

  /** The HTTP status of a handshake the server refuses; rejects if it is accepted. */
  static async refusal(url: string, opts: WsRawOptions = {}): Promise<number> {
    const socket = new WebSocket(url, opts.protocols ?? ['mqtt'], opts.origin === undefined ? {} : { origin: opts.origin })
    return new Promise((resolve, reject) => {
      socket.once('unexpected-response', (_req, res: IncomingMessage) => {
        resolve(res.statusCode ?? 0)
        socket.terminate()
      })
      socket.once('open', () => { socket.terminate(); reject(new Error('the handshake was accepted')) })
      socket.once('error', (err) => reject(err))
    })
  }

  get protocol(): string {
    return this.socket.protocol
  }

  /** Each argument is one binary frame. */
  send(...frames: Buffer[]): void {
    for (const frame of frames) this.socket.send(frame, { binary: true })
  }

  sendText(bytes: Buffer): void {
    this.socket.send(bytes, { binary: false })
  }

  /** The next packet, which must be a `cmd`. */
  async next<C extends Packet['cmd']>(cmd: C, ms = WAIT_MS): Promise<Extract<Packet, { cmd: C }>> {
    await this.#until(() => this.packets.length > 0, ms, `a ${cmd}`)
    const packet = this.packets.shift()
    if (packet?.cmd !== cmd) throw new Error(`expected ${cmd}, got ${JSON.stringify(packet)}`)
    return packet as Extract<Packet, { cmd: C }>
  }

  /** Resolves with the close code once the WebSocket has closed. */
  async closed(ms = WAIT_MS): Promise<{ code: number; reason: string }> {
    await this.#until(() => this.#close !== undefined, ms, 'the WebSocket to close')
    return this.#close ?? { code: 0, reason: '' }
  }

  get isClosed(): boolean {
    return this.#close !== undefined
  }

  async until(check: () => boolean, ms: number, what: string): Promise<void> {
    await this.#until(check, ms, what)
  }

  async #until(check: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms
    while (!check()) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
      if (this.#close !== undefined && what !== 'the WebSocket to close') {
        throw new Error(`the WebSocket closed (${this.#close.code}) while waiting for ${what}`)
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w()
  }
}
