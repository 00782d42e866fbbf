import type { Duplex } from 'node:stream'
import type { ClientInfo } from '../auth/index.js'
import { dispatch, type ClientContext, type CloseOptions, type Core } from '../handlers/index.js'
import {
  Decoder, MqttError, ReasonCode, encode, protocolError,
  type AuthPacket, type InboundPacket, type OutboundPacket, type ProtocolVersion, type PublishPacket,
} from '../protocol/index.js'
import type { Outlet, Session } from '../session/index.js'
import { AckQueue, type InflightCounter } from './ack-queue.js'
import { ConnectionLog } from './client-log.js'
import { unwatch, watch, type Watched } from './keepalive.js'
import { hasProblemInfo, isAlwaysAllowed, reasonString, withoutProblemInfo } from './problem-info.js'
import { Outbox, type SlowReaderPolicy } from './outbox.js'
import { PublishThrottle } from './throttle.js'
import { OutboundAliases } from './topic-aliases.js'

export interface ConnectionInfo {
  remoteAddress: string | undefined
  remotePort: number | undefined
  transport: 'tcp' | 'tls' | 'ws' | 'wss'
  /** Common Name of the client certificate, when the TLS handshake verified one. */
  certificateCommonName?: string | undefined
}

/** Where a stream keeps the connection it belongs to, for the shared listeners. */
const OWNER = Symbol('halyard.connection')
type OwnedStream = Duplex & { [OWNER]?: Connection }

/** Unflushed bytes past which the socket is paused until the inbox drains. */
const MAX_INBOX = 1000
/** The shortest pause for a client over its publish rate, ms: see `#chargePublish`. */
const MIN_PAUSE_MS = 10

/**
 * One client connection: bytes in → decoded packets → handlers, in order; packets out →
 * encoded → one socket write per tick. It is the only error boundary: an `MqttError` ends the
 * connection with its reason code (DISCONNECT at 5.0, a plain close before), anything else is a
 * bug that is logged and ends this connection only.
 */
export class Connection implements ClientContext, Outlet, Watched, SlowReaderPolicy {
  readonly core: Core
  readonly log: ConnectionLog
  protocolVersion: ProtocolVersion = 4
  clientId = ''
  username: string | undefined
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  readonly transport: ConnectionInfo['transport']
  readonly certificateCommonName: string | undefined
  session: Session | null = null
  maxOutboundPacketSize = Number.MAX_SAFE_INTEGER
  isDisconnecting = false
  wantsProblemInfo = true
  authMethod: string | undefined

  readonly #stream: Duplex
  readonly #decoder: Decoder
  /** Made on the first acknowledgement that has to wait: idle and QoS 0 clients never need one. */
  #acks: AckQueue | undefined
  /** 5.0 inbound topic aliases, made on the first alias the client sets. */
  #topicAliases: Map<number, string> | undefined
  readonly #outbox: Outbox
  #held = false
  #inbox: InboundPacket[] = []
  #closing: Promise<void> | null = null
  #connectTimer: NodeJS.Timeout | undefined
  /** Allowed silence in ms (1.5 x Keep Alive), 0 when Keep Alive is off; see keepalive.ts. */
  #silenceMs = 0
  /** Set by every socket read, cleared by the keepalive sweep. */
  #hasTraffic = false
  /** The last keepalive sweep round that saw traffic. */
  #seenRound = 0
  /**
   * Whether per-packet trace lines are written, decided when the connection opens: checking
   * the level costs a call per packet, and the line's argument object is made before the call.
   */
  readonly #isTracing: boolean
  /** Tells the broker this connection is gone (one function shared by every connection). */
  readonly #onGone: ((conn: Connection) => void) | undefined
  /** Set when the connection closed before any session was attached: see `#releaseLateSession`. */
  #lateRelease: { publishWill: boolean; reason: string } | undefined
  #aliases: OutboundAliases | undefined
  #authWaiter: ((packet: AuthPacket) => void) | undefined
  /** limits.maxPublishRate / maxPublishByteRate, when either is set (throttle.ts). */
  readonly #throttle: PublishThrottle | undefined
  /** Running while the socket is not read because the client is over its publish rate. */
  #throttleTimer: NodeJS.Timeout | undefined

  constructor(core: Core, stream: Duplex, info: ConnectionInfo, onGone?: (conn: Connection) => void) {
    this.core = core
    this.#stream = stream
    this.#onGone = onGone
    this.remoteAddress = info.remoteAddress
    this.remotePort = info.remotePort
    this.transport = info.transport
    this.certificateCommonName = info.certificateCommonName
    this.log = new ConnectionLog(core.log, this)
    this.#isTracing = core.log.isLevelEnabled('trace')
    this.#decoder = new Decoder({ maxPacketSize: core.config.limits.maxPacketSize })
    this.#outbox = new Outbox(stream, this)
    const { maxPublishRate, maxPublishByteRate } = core.config.limits
    if (PublishThrottle.isNeeded(maxPublishRate, maxPublishByteRate)) this.#throttle = new PublishThrottle(maxPublishRate, maxPublishByteRate)
    this.#connectTimer = setTimeout(Connection.#onConnectTimer, core.config.limits.connectTimeout, this)
    this.#connectTimer.unref()
    // The listeners are shared by every connection and find theirs on the stream: closures per
    // connection would cost some 200 bytes each on thousands of idle ones.
    ;(stream as OwnedStream)[OWNER] = this
    stream.on('data', Connection.#onStreamData)
    stream.on('error', Connection.#onStreamError)
    stream.on('close', Connection.#onStreamClose)
    this.log.trace('socket opened')
  }

  static #onStreamData(this: Duplex, chunk: Buffer): void {
    const conn = (this as OwnedStream)[OWNER]
    if (conn !== undefined) conn.#onData(chunk)
  }

  static #onStreamError(this: Duplex, err: Error): void {
    const conn = (this as OwnedStream)[OWNER]
    if (conn === undefined) return
    conn.log.debug({ err: err.message }, 'socket error')
    void conn.close({ publishWill: true, reason: `socket error: ${err.message}` })
  }

  static #onStreamClose(this: Duplex): void {
    const conn = (this as OwnedStream)[OWNER]
    if (conn === undefined) return
    void conn.close({ publishWill: !conn.isDisconnecting, reason: 'connection closed by client' })
    conn.#onGone?.(conn)
  }

  static #onConnectTimer(conn: Connection): void {
    conn.#onConnectTimeout()
  }

  /** The decoder's sink: called once per decoded packet, in order. */
  receive(packet: InboundPacket): void {
    this.#onPacket(packet)
  }

  get topicAliases(): Map<number, string> {
    return this.#topicAliases ??= new Map()
  }

  get outlet(): Outlet {
    return this
  }

  get bufferedBytes(): number {
    return this.#outbox.bufferedBytes
  }

  get maxClientBufferBytes(): number {
    return this.core.config.limits.maxClientBufferBytes
  }

  get slowClientTimeout(): number {
    return this.core.config.limits.slowClientTimeout
  }

  /**
   * A client that leaves more than limits.maxClientBufferBytes unread gets its QoS 0 messages
   * dropped (Session); one still beyond it limits.slowClientTimeout ms later (outbox.ts) is cut
   * off (5.0: DISCONNECT 0x97, which it will most likely never read). The socket is destroyed
   * at once: what it holds is what must be freed, and a peer that does not read would not take
   * a graceful close either.
   */
  onSlowReader(buffered: number): void {
    if (this.#closing !== null) return
    const { maxClientBufferBytes: max, slowClientTimeout } = this.core.config.limits
    this.log.warn({ buffered, max, slowClientTimeout }, 'client is not reading: disconnecting it (limits.maxClientBufferBytes, slowClientTimeout)')
    void this.close({ reasonCode: ReasonCode.QuotaExceeded, publishWill: true, reason: 'client not reading: more than limits.maxClientBufferBytes unread for limits.slowClientTimeout' })
    this.#stream.destroy()
  }

  info(): ClientInfo {
    return { clientId: this.clientId, username: this.username, remoteAddress: this.remoteAddress, protocolVersion: this.protocolVersion }
  }

  setProtocolVersion(version: ProtocolVersion): void {
    this.protocolVersion = version
    this.#decoder.setProtocolVersion(version)
  }

  setKeepalive(seconds: number): void {
    if (this.#silenceMs > 0) unwatch(this, this.#silenceMs)
    // The server allows one and a half keepalive periods of silence [MQTT-3.1.2-24].
    this.#silenceMs = seconds * 1500
    if (seconds === 0 || this.#closing !== null) return
    // The CONNECT was traffic: the silence is counted from the sweep after it.
    this.#hasTraffic = true
    this.#seenRound = watch(this, this.#silenceMs)
  }

  keepaliveRound(round: number, rounds: number): boolean {
    // A client whose socket is not being read (publish rate) is not silent: we are not listening.
    if (this.#hasTraffic || this.#throttleTimer !== undefined) {
      this.#hasTraffic = false
      this.#seenRound = round
      return false
    }
    if (round - this.#seenRound < rounds) return false
    this.log.info({ keepaliveMs: this.#silenceMs }, 'keepalive timeout')
    void this.close({
      reasonCode: ReasonCode.KeepAliveTimeout, publishWill: true,
      reason: 'keepalive timeout: no packet for 1.5 times the Keep Alive; send PINGREQ when idle [MQTT-3.1.2-22]',
    })
    return true
  }

  markConnected(session: Session): void {
    this.session = session
    // The CONNECT timer runs until the client is connected, not just until CONNECT arrives: an
    // authenticate hook or an AUTH exchange that never ends must not hold the socket forever.
    clearTimeout(this.#connectTimer)
    this.#connectTimer = undefined
  }

  useOutboundAliases(max: number): void {
    this.#aliases = max > 0 ? new OutboundAliases(max) : undefined
  }

  /** 5.0 outbound topic aliases rewrite PUBLISH packets, so shared bytes cannot be used. */
  get rewritesPublish(): boolean {
    return this.#aliases !== undefined
  }

  send(original: OutboundPacket): boolean {
    if (this.#closing !== null && original.cmd !== 'disconnect') return false
    let packet = original
    if (packet.cmd !== 'publish' && !this.wantsProblemInfo && !isAlwaysAllowed(packet) && hasProblemInfo(packet)) {
      packet = withoutProblemInfo(packet) // [MQTT-3.1.2-29]
    }
    const aliasedTopic = this.#aliases !== undefined && packet.cmd === 'publish' ? packet.topic : undefined
    if (aliasedTopic !== undefined && packet.cmd === 'publish') this.#aliases?.apply(packet)
    let bytes = encode(packet, this.protocolVersion)
    if (bytes.length === 0) return false
    if (bytes.length > this.maxOutboundPacketSize && hasProblemInfo(packet)) {
      // Sent without them rather than not at all (problem-info.ts).
      bytes = encode(withoutProblemInfo(packet), this.protocolVersion)
    }
    if (bytes.length > this.maxOutboundPacketSize) {
      // The client never saw this alias being set: it must not be used later.
      if (aliasedTopic !== undefined) this.#aliases?.forget(aliasedTopic)
      this.#tooLarge(bytes.length, packet.cmd)
      return false
    }
    if (this.#isTracing) this.log.trace({ cmd: packet.cmd }, 'send')
    this.#outbox.write(bytes)
    return true
  }

  sendEncoded(bytes: Buffer, tail?: Buffer): boolean {
    if (this.#closing !== null) return false
    const size = bytes.length + (tail?.length ?? 0)
    if (size > this.maxOutboundPacketSize) {
      this.#tooLarge(size, 'publish')
      return false
    }
    if (this.#isTracing) this.log.trace({ cmd: 'publish' }, 'send')
    this.#outbox.write(bytes)
    if (tail !== undefined) this.#outbox.write(tail)
    return true
  }

  #tooLarge(size: number, cmd: string): void {
    this.log.warn({ size, max: this.maxOutboundPacketSize, cmd },
      'packet larger than the client\'s Maximum Packet Size: not sent [MQTT-3.1.2-25]')
  }

  ackAfter(after: Promise<void> | null, ack: OutboundPacket, countedIn?: InflightCounter): void {
    if (after === null && this.#acks === undefined) {
      if (countedIn !== undefined) countedIn.inboundInflight--
      this.send(ack)
      return
    }
    this.#acks ??= new AckQueue((packet) => this.send(packet), (err) => this.#fail(err))
    this.#acks.push(after, ack, countedIn)
  }

  hold(work: Promise<void>): void {
    this.#held = true
    work.then(() => {
      this.#held = false
      this.#releaseLateSession()
      this.#drainInbox()
    }, (err: unknown) => {
      this.#held = false
      this.#fail(err)
      this.#releaseLateSession()
    })
  }

  track(work: Promise<void>): void {
    work.catch((err: unknown) => this.#fail(err))
  }

  close(opts: CloseOptions): Promise<void> {
    if (this.#closing === null) this.#closing = this.#shutdown(opts)
    return this.#closing
  }

  #onData(chunk: Buffer): void {
    this.#hasTraffic = true
    try {
      this.#decoder.push(chunk, this)
    } catch (err) {
      this.#fail(err)
    }
  }

  nextAuth(): Promise<AuthPacket> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#authWaiter = undefined
        reject(protocolError('no AUTH reply within limits.connectTimeout'))
      }, this.core.config.limits.connectTimeout)
      this.#authWaiter = (packet) => {
        clearTimeout(timer)
        this.#authWaiter = undefined
        resolve(packet)
      }
    })
  }

  #onPacket(packet: InboundPacket): void {
    if (this.#closing !== null) return
    // An authentication exchange runs while other packets wait: its AUTH replies go straight to it.
    if (packet.cmd === 'auth' && this.#authWaiter !== undefined) {
      this.#authWaiter(packet)
      return
    }
    if (this.#held || this.#throttleTimer !== undefined || this.#inbox.length > 0) {
      this.#inbox.push(packet)
      if (this.#inbox.length > MAX_INBOX) this.#stream.pause()
      return
    }
    this.#handle(packet)
  }

  #handle(packet: InboundPacket): void {
    if (this.#isTracing) this.log.trace({ cmd: packet.cmd }, 'received')
    if (this.#throttle !== undefined && packet.cmd === 'publish') this.#chargePublish(this.#throttle, packet)
    try {
      dispatch(this, packet)
    } catch (err) {
      this.#fail(err)
    }
  }

  #drainInbox(): void {
    while (!this.#held && this.#throttleTimer === undefined && this.#inbox.length > 0 && this.#closing === null) {
      const packet = this.#inbox.shift()
      if (packet !== undefined) this.#handle(packet)
    }
    if (this.#inbox.length === 0 && this.#stream.isPaused() && this.#throttleTimer === undefined) this.#stream.resume()
  }

  /**
   * Publish rate as back-pressure (throttle.ts): each PUBLISH is charged as it is handled, and
   * one that leaves the client in debt stops the connection, like a held packet does: what was
   * already read waits in the inbox, the socket is not read, until the debt is paid. Debts below
   * MIN_PAUSE_MS are let run, so that a high rate is not held to one packet per timer tick.
   */
  #chargePublish(throttle: PublishThrottle, packet: PublishPacket): void {
    const waitMs = throttle.charge(packet.topic.length + packet.payload.length)
    if (waitMs < MIN_PAUSE_MS) return
    this.#stream.pause()
    if (this.#isTracing) this.log.trace({ waitMs }, 'publish rate exceeded: pausing this client')
    this.#throttleTimer = setTimeout(() => {
      this.#throttleTimer = undefined
      this.#drainInbox()
    }, waitMs)
  }

  /** The error boundary. */
  #fail(err: unknown): void {
    if (this.#closing !== null) return
    if (err instanceof MqttError) {
      this.log.warn({ code: err.code, reasonCode: err.reasonCode }, `closing connection: ${err.message}`)
      if (this.session === null && err.code === 'MQTT_UNSUPPORTED_PROTOCOL_VERSION') {
        this.#refuseVersion(err)
        return
      }
      void this.close({ reasonCode: err.reasonCode, publishWill: true, reason: err.message })
      return
    }
    this.log.error({ err }, 'internal error while handling this client: closing its connection')
    void this.close({ reasonCode: ReasonCode.ImplementationSpecificError, publishWill: true, reason: 'internal error in the broker; its log has the details' })
  }

  /** [MQTT-3.1.2-2]: answer CONNACK 0x01 (3.1.1 format), or 0x84 in 5.0 format for levels above 5. */
  #refuseVersion(err: MqttError): void {
    const level = (err as MqttError & { protocolLevel?: number }).protocolLevel ?? 0
    const version: ProtocolVersion = level > 5 ? 5 : 4
    this.protocolVersion = version
    this.send({ cmd: 'connack', sessionPresent: false, reasonCode: ReasonCode.UnsupportedProtocolVersion })
    void this.close({ publishWill: false, reason: err.message })
  }

  #onConnectTimeout(): void {
    this.#connectTimer = undefined
    if (this.session !== null || this.#closing !== null) return
    this.log.info('not connected within limits.connectTimeout (no CONNECT, or its authentication did not finish): closing')
    void this.close({ publishWill: false, reason: 'connect timeout' })
  }

  async #shutdown(opts: CloseOptions): Promise<void> {
    clearTimeout(this.#connectTimer)
    clearTimeout(this.#throttleTimer)
    this.#outbox.stop()
    if (this.#silenceMs > 0) unwatch(this, this.#silenceMs)
    this.#inbox = []
    const session = this.session
    if (session !== null && this.protocolVersion === 5 && opts.reasonCode !== undefined && !this.isDisconnecting) {
      const hasReference = opts.serverReference !== undefined && opts.serverReference !== ''
      this.send({
        cmd: 'disconnect',
        reasonCode: opts.reasonCode,
        properties: {
          reasonString: reasonString(opts.reason),
          ...(hasReference ? { serverReference: opts.serverReference } : {}),
        },
      })
    }
    this.#outbox.flush()
    this.#stream.end()
    const killer = setTimeout(() => this.#stream.destroy(), 2000)
    killer.unref()
    this.#stream.once('close', () => clearTimeout(killer))
    if (session === null) {
      this.#lateRelease = { publishWill: opts.publishWill, reason: opts.reason }
      return
    }
    await this.#release(session, opts)
  }

  /**
   * A CONNECT still being processed when the connection closed (a malformed packet pipelined
   * right behind it, the socket gone) attaches its session after `#shutdown` looked for one.
   * Release it once that CONNECT settles, as `#shutdown` would have; otherwise it stays attached
   * to a dead connection, its will never published and its expiry never armed.
   */
  #releaseLateSession(): void {
    const session = this.session
    const opts = this.#lateRelease
    if (session === null || opts === undefined) return
    this.#lateRelease = undefined
    if (this.#silenceMs > 0) unwatch(this, this.#silenceMs)
    this.#release(session, opts).catch((err: unknown) => {
      this.log.error({ err }, 'releasing the session of a connection closed during CONNECT failed')
    })
  }

  async #release(session: Session, opts: { publishWill: boolean; reason: string }): Promise<void> {
    this.session = null
    const { core } = this
    if (core.clients.get(this.clientId) === this) core.clients.delete(this.clientId)
    session.outlet = session.outlet === this ? null : session.outlet
    await core.sessions.close(session, opts.publishWill)
    this.log.info({ reason: opts.reason }, 'client disconnected')
    core.events.emit('clientDisconnected', this.info(), opts.reason)
  }
}
