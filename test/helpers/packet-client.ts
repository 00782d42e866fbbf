import { connect as netConnect } from 'node:net'
import type { Duplex } from 'node:stream'
import * as mqttPacket from 'mqtt-packet'
import type { Packet } from 'mqtt-packet'
import WebSocket, { createWebSocketStream } from 'ws'
import type { Version } from './client.js'

/**
 * A packet-level client over TCP or WebSocket for the integration suite: whole packets out
 * (encoded by mqtt-packet), whole decoded packets in, nothing answered automatically. For the
 * cases MQTT.js will not play: never acknowledging a delivery, dropping the socket mid-exchange.
 * Every wait is bounded.
 */
export class PacketClient {
  readonly #stream: Duplex
  readonly #version: Version
  readonly #received: Packet[] = []
  #waiters: Array<() => void> = []
  #isClosed = false

  private constructor(stream: Duplex, version: Version) {
    this.#stream = stream
    this.#version = version
    const parser = mqttPacket.parser({ protocolVersion: version })
    parser.on('packet', (packet: Packet) => { this.#received.push(packet); this.#wake() })
    parser.on('error', () => { this.#isClosed = true; this.#wake() })
    stream.on('data', (chunk: Buffer) => { parser.parse(chunk) })
    stream.on('close', () => { this.#isClosed = true; this.#wake() })
    stream.on('error', () => { this.#isClosed = true; this.#wake() })
  }

  /** Opens `mqtt://host:port` or `ws://host:port/path` and registers the teardown on `t`. */
  static async open(t: { teardown(fn: () => void): void }, url: string, version: Version): Promise<PacketClient> {
    const u = new URL(url)
    let stream: Duplex
    if (u.protocol === 'ws:') {
      const socket = new WebSocket(url, 'mqtt')
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve())
        socket.once('error', reject)
      })
      stream = createWebSocketStream(socket)
    } else {
      const socket = netConnect({ host: u.hostname, port: Number(u.port), noDelay: true })
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve)
        socket.once('error', reject)
      })
      stream = socket
    }
    const client = new PacketClient(stream, version)
    t.teardown(() => client.destroy())
    return client
  }

  get isClosed(): boolean {
    return this.#isClosed
  }

  send(packet: Packet): void {
    this.#stream.write(mqttPacket.generate(packet, { protocolVersion: this.#version }))
  }

  /** The next packet received, whatever it is. */
  async nextAny(ms = 5000): Promise<Packet> {
    const deadline = Date.now() + ms
    for (;;) {
      const packet = this.#received.shift()
      if (packet !== undefined) return packet
      if (this.#isClosed) throw new Error('connection closed while waiting for a packet')
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for a packet`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** The next packet received, which must be a `cmd`. */
  async next<C extends Packet['cmd']>(cmd: C, ms = 5000): Promise<Extract<Packet, { cmd: C }>> {
    const packet = await this.nextAny(ms).catch((err: Error) => { throw new Error(`${err.message} (expected ${cmd})`) })
    if (packet.cmd !== cmd) throw new Error(`expected ${cmd}, got ${JSON.stringify(packet)}`)
    return packet as Extract<Packet, { cmd: C }>
  }

  /** CONNECT and the CONNACK that answers it. */
  async connect(opts: {
    clientId: string
    clean: boolean
    sessionExpiryInterval?: number
  }): Promise<Extract<Packet, { cmd: 'connack' }>> {
    this.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: this.#version,
      clientId: opts.clientId,
      clean: opts.clean,
      keepalive: 60,
      ...(this.#version === 5 && opts.sessionExpiryInterval !== undefined
        ? { properties: { sessionExpiryInterval: opts.sessionExpiryInterval } }
        : {}),
    })
    return this.next('connack')
  }

  /** Drops the connection without DISCONNECT. */
  destroy(): void {
    this.#stream.destroy()
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w()
  }
}
