import type { Logger } from 'pino'
import type { OutboundPacket, ProtocolVersion, Will } from '../protocol/index.js'
import type { SessionMeta, Store, SubscriptionRecord } from '../persistence/index.js'
import type { Delivery, Subscriber } from '../router/index.js'
import {
  encodedPublish, fromDelivery, fromQueued, isExpired, isSplit, toPublishPacket, type Outgoing, type PublishSource,
} from './outgoing.js'

/**
 * The inflight map of every session that has had nothing in flight yet: an idle subscriber
 * allocates no Map of its own. Only ever read, cleared or deleted from (all no-ops on an empty
 * map); `Session.#track` swaps in a real one before the first `set`.
 */
const NOTHING_INFLIGHT = new Map<number, Outgoing>()
/** At most one queue-full warning per session in this many ms. */
const DROP_WARNING_EVERY_MS = 1000

/** What a session writes to: the connection, seen from here as an outlet for packets. */
export interface Outlet {
  readonly protocolVersion: ProtocolVersion
  /** Returns false when the packet was not sent (too large for the client, or closed). */
  send(packet: OutboundPacket): boolean
  /**
   * A PUBLISH already encoded (its bytes may be shared across a fan-out: never changed), or
   * its head, with `tail` (the payload) to be written right behind it. Returns false when it
   * was not sent, as `send`.
   */
  sendEncoded(bytes: Buffer, tail?: Buffer): boolean
  /** True when the outlet rewrites PUBLISH packets (5.0 outbound topic aliases): give it packets, not bytes. */
  readonly rewritesPublish: boolean
  /** Bytes accepted but not yet flushed to the socket: back-pressure for QoS 0. */
  readonly bufferedBytes: number
}

export interface SessionLimits {
  maxInflight: number
  maxQueuedMessages: number
  maxQueuedBytes: number
  /** QoS 0 messages are dropped for a client whose socket has this many bytes unflushed. */
  maxBufferedBytes: number
}

/**
 * One client's session: its subscriptions, and the outbound QoS 1/2 state machines
 * (inflight window bounded by the client's Receive Maximum [MQTT-4.9.0-2], then a queue).
 *
 * State lives here in memory; persistent sessions mirror it into the store: queue entries are
 * written by the router's batch before the publisher is acknowledged, removed when the
 * receiver acknowledges, and QoS 2 packet ids are recorded once sent so a restart resends
 * with the same id. A session restored after a restart is not `hydrated`: its queue is still
 * only in the store and is read back when the client reconnects.
 */
export class Session implements Subscriber {
  readonly clientId: string
  protocolVersion: ProtocolVersion
  /** Seconds; 0 means the session ends with the connection. */
  expiryInterval: number
  will: Will | undefined
  disconnectedAt: number | undefined
  readonly subscriptions = new Map<string, SubscriptionRecord>()
  /** Inbound QoS 1/2 publishes not yet acknowledged, for our Receive Maximum [MQTT-3.3.4-9]. */
  inboundInflight = 0
  outlet: Outlet | null = null
  /** Client's Receive Maximum (5.0) or the configured default. */
  receiveMaximum: number
  /**
   * The client's read permission (its ACL), set at CONNECT; `undefined` lets everything
   * through. Asked per message before it is sent or queued — after the router's walk, never
   * inside it — so a wildcard subscription or a retained message cannot carry a topic the
   * client may not read.
   */
  mayRead: ((topic: string) => boolean) | undefined
  /** The router's scratch fields (see `Subscriber`). */
  routeMark = 0
  routeSlot = 0

  readonly #store: Store
  readonly #limits: SessionLimits
  /** The broker's root logger, shared: lines name the client themselves (no child per session). */
  readonly #log: Logger
  /** By packet id; `NOTHING_INFLIGHT` until the first QoS 1/2 delivery (see `#track`). */
  #inflight = NOTHING_INFLIGHT
  #incoming: Set<number> | undefined
  #pending: Outgoing[] = []
  #pendingBytes = 0
  /** Messages dropped on a full queue since the last warning (`#warnDropped`). */
  #droppedSinceWarning = 0
  #lastDropWarningAt = Number.NEGATIVE_INFINITY
  #nextId = 1
  /** Live deliveries waiting behind a SUBSCRIBE's retained messages (`holdLive`), or null. */
  #held: Delivery[] | null = null
  #hydrated: boolean
  /**
   * While `#hydrate` reads the stored queue: live deliveries wait in `#pending` behind it,
   * or they would overtake the stored messages [MQTT-4.6.0-6] and, once the read meets their
   * own queue entries, be sent twice.
   */
  #isHydrating = false
  /** Queue entries in the store while not hydrated (restored session, client offline). */
  #storedQueueLength = 0
  /**
   * Payload bytes of the entries queued since the session was restored. Those already in the
   * store then are not counted (that would mean reading every queue at start), so across a
   * restart an offline session may hold up to twice limits.maxQueuedBytes, never more.
   */
  #storedQueueBytes = 0
  /** See `#removeLater`. */
  #removals: number[] | undefined

  constructor(init: {
    clientId: string
    protocolVersion: ProtocolVersion
    expiryInterval: number
    store: Store
    limits: SessionLimits
    log: Logger
    hydrated?: boolean
    storedQueueLength?: number
  }) {
    this.clientId = init.clientId
    this.protocolVersion = init.protocolVersion
    this.expiryInterval = init.expiryInterval
    this.#store = init.store
    this.#limits = init.limits
    this.#log = init.log
    this.receiveMaximum = init.limits.maxInflight
    this.#hydrated = init.hydrated ?? true
    this.#storedQueueLength = init.storedQueueLength ?? 0
  }

  /** QoS 2 packet ids received and not yet released by PUBREL [MQTT-4.3.3-10]. */
  get incoming(): Set<number> {
    return this.#incoming ??= new Set()
  }

  /** How many of those there are, without making the set (Receive Maximum is checked per PUBLISH). */
  get incomingCount(): number {
    return this.#incoming?.size ?? 0
  }

  get isPersistent(): boolean {
    return this.expiryInterval > 0
  }

  get isOnline(): boolean {
    return this.outlet !== null
  }

  get inflightCount(): number {
    return this.#inflight.size
  }

  get queuedCount(): number {
    return this.#pending.length + this.#storedQueueLength
  }

  meta(): SessionMeta {
    const meta: SessionMeta = {
      clientId: this.clientId,
      protocolVersion: this.protocolVersion,
      expiryInterval: this.expiryInterval,
    }
    if (this.disconnectedAt !== undefined) meta.disconnectedAt = this.disconnectedAt
    if (this.will !== undefined) meta.will = this.will
    return meta
  }

  deliver(delivery: Delivery): boolean {
    if (this.mayRead !== undefined && !this.mayRead(delivery.message.topic)) return false
    if (this.#held !== null) return this.#hold(delivery)
    return this.#deliverNow(delivery)
  }

  /**
   * Holds live deliveries until `releaseLive`: a SUBSCRIBE's retained messages are read from
   * the store after its subscription is in the router, and a live message routed meanwhile
   * must not overtake them [MQTT-4.6.0-6].
   */
  holdLive(): void {
    this.#held ??= []
  }

  /** Ends `holdLive`: runs `first` (which delivers the retained messages), then the held ones. */
  releaseLive(first?: () => void): void {
    const held = this.#held
    this.#held = null
    first?.()
    for (const delivery of held ?? []) {
      // Refused now (queue full): the queue entry written when it was held must go too.
      if (!this.#deliverNow(delivery) && delivery.seq !== undefined) {
        this.#removeLater(delivery.seq)
      }
    }
  }

  #hold(delivery: Delivery): boolean {
    const held = this.#held ?? []
    if (held.length >= this.#limits.maxQueuedMessages) {
      this.#log.warn({ clientId: this.clientId, topic: delivery.message.topic }, 'too many messages held behind retained messages: dropping the newest')
      return false
    }
    held.push(delivery)
    return true
  }

  #deliverNow(delivery: Delivery): boolean {
    if (delivery.qos === 0) return this.#deliverQos0(delivery)
    if (!this.#hydrated) return this.#countStored(delivery)
    const out = fromDelivery(delivery)
    if (this.outlet !== null && !this.#isHydrating && this.#pending.length === 0 && this.#inflight.size < this.receiveMaximum) {
      this.#sendNew(out)
      return true
    }
    if (this.#pending.length >= this.#limits.maxQueuedMessages ||
        this.#pendingBytes + delivery.message.payload.length > this.#limits.maxQueuedBytes) {
      this.#warnDropped(delivery, this.#pending.length, 'session queue full: dropping the newest message (raise limits.maxQueuedMessages / maxQueuedBytes)')
      return false
    }
    this.#pending.push(out)
    this.#pendingBytes += delivery.message.payload.length
    return true
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) from the client ends that delivery. */
  acknowledge(messageId: number, expectState: 'sent' | 'released'): boolean {
    const out = this.#inflight.get(messageId)
    if (out === undefined || out.state !== expectState) return false
    if (expectState === 'sent' && out.qos !== 1) return false
    this.#inflight.delete(messageId)
    if (out.seq !== undefined) this.#removeLater(out.seq)
    this.#drain()
    return true
  }

  /** PUBREC for a QoS 2 delivery: answer PUBREL and wait for PUBCOMP [MQTT-4.3.3-5]. */
  received(messageId: number, failed: boolean): boolean {
    const out = this.#inflight.get(messageId)
    if (out === undefined || out.qos !== 2) return false
    if (failed) {
      // A PUBREC with a failure reason ends the exchange [MQTT-4.3.3 / 5.0 reason codes].
      this.#inflight.delete(messageId)
      if (out.seq !== undefined) this.#removeLater(out.seq)
      this.#drain()
      return true
    }
    out.state = 'released'
    if (out.seq !== undefined && this.isPersistent) this.#background(this.#store.updateQueued(this.clientId, out.seq, 'released', messageId))
    this.outlet?.send({ cmd: 'pubrel', messageId })
    return true
  }

  /**
   * Attaches a connection. For a resumed session, unacknowledged PUBLISH and PUBREL packets are
   * sent again with their original packet ids and DUP set [MQTT-4.4.0-1], then the queue.
   */
  async attach(outlet: Outlet, resumed: boolean): Promise<void> {
    this.outlet = outlet
    this.disconnectedAt = undefined
    if (!resumed) return
    await this.load()
    for (const out of this.#inflight.values()) {
      if (out.state === 'released') outlet.send({ cmd: 'pubrel', messageId: out.messageId })
      else this.#sendPublish(outlet, out, out.messageId, true)
    }
    this.#drain()
  }

  /**
   * Reads a restored session's queue back from the store (a no-op once done). `attach` does it;
   * the session manager does it first when a resumed session stops being persistent, because
   * its store entries are about to be deleted.
   */
  async load(): Promise<void> {
    if (!this.#hydrated) await this.#hydrate()
  }

  detach(): void {
    this.outlet = null
    this.disconnectedAt = Date.now()
  }

  /** Drops in-memory delivery state (session discarded or expired). */
  reset(): void {
    this.#inflight.clear()
    this.#pending = []
    this.#pendingBytes = 0
    this.#held = null
    this.#storedQueueLength = 0
    this.#storedQueueBytes = 0
    this.#hydrated = true
    this.#incoming = undefined
    this.subscriptions.clear()
    this.inboundInflight = 0
  }

  /** Messages not yet acknowledged, for redelivery to another shared-group member. */
  takeUnacknowledged(): Outgoing[] {
    const all = [...this.#inflight.values(), ...this.#pending, ...(this.#held ?? []).map(fromDelivery)]
    this.#inflight.clear()
    this.#pending = []
    this.#held = null
    this.#pendingBytes = 0
    return all
  }

  #deliverQos0(delivery: Delivery): boolean {
    const outlet = this.outlet
    if (outlet === null) return false // QoS 0 is not queued for offline clients
    if (outlet.bufferedBytes > this.#limits.maxBufferedBytes) {
      this.#log.debug({ clientId: this.clientId, topic: delivery.message.topic }, 'client is not reading: QoS 0 message dropped')
      return false
    }
    return this.#sendPublish(outlet, delivery, 0, false)
  }

  #sendPublish(outlet: Outlet, src: PublishSource, messageId: number, dup: boolean): boolean {
    const version = outlet.protocolVersion
    if (!outlet.rewritesPublish) {
      const bytes = encodedPublish(src, messageId, version, dup)
      if (bytes !== undefined) return outlet.sendEncoded(bytes, isSplit(src.message) ? src.message.payload : undefined)
    }
    return outlet.send(toPublishPacket(src, messageId, version, dup))
  }

  /**
   * A full queue drops every message that comes while it stays full: one warning a second per
   * session, with the count since the last one, rather than a line per message (a busy topic
   * would write thousands a second).
   */
  #warnDropped(delivery: Delivery, queued: number, message: string): void {
    this.#droppedSinceWarning++
    const now = Date.now()
    if (now - this.#lastDropWarningAt < DROP_WARNING_EVERY_MS) return
    this.#log.warn({ clientId: this.clientId, topic: delivery.message.topic, queued, dropped: this.#droppedSinceWarning }, message)
    this.#droppedSinceWarning = 0
    this.#lastDropWarningAt = now
  }

  #countStored(delivery: Delivery): boolean {
    const bytes = delivery.message.payload.length
    if (this.#storedQueueLength >= this.#limits.maxQueuedMessages || this.#storedQueueBytes + bytes > this.#limits.maxQueuedBytes) {
      this.#warnDropped(delivery, this.#storedQueueLength, 'offline queue full: dropping the newest message (raise limits.maxQueuedMessages / maxQueuedBytes)')
      return false
    }
    this.#storedQueueLength++
    this.#storedQueueBytes += bytes
    return true
  }

  #drain(): void {
    const outlet = this.outlet
    if (outlet === null || this.#isHydrating) return
    let now = 0
    while (this.#pending.length > 0 && this.#inflight.size < this.receiveMaximum) {
      const out = this.#pending.shift()
      if (out === undefined) break
      this.#pendingBytes -= out.message.payload.length
      const isNew = out.state === 'queued' || out.messageId === 0
      // Queued while the rules were different (or before a restart restored no read check).
      const isForbidden = isNew && this.mayRead !== undefined && !this.mayRead(out.message.topic)
      // The clock is read only for a message that can expire (5.0 Message Expiry Interval).
      if (out.message.expiresAt !== undefined && now === 0) now = Date.now()
      if (isExpired(out.message, now) || isForbidden) {
        if (out.seq !== undefined) this.#removeLater(out.seq)
        continue
      }
      if (isNew) this.#sendNew(out)
      else this.#resend(out)
    }
  }

  #sendNew(out: Outgoing): void {
    const outlet = this.outlet
    if (outlet === null) return
    out.messageId = this.#allocateId()
    out.state = 'sent'
    this.#track(out)
    if (out.qos === 2 && out.seq !== undefined && this.isPersistent) {
      // The id must survive a restart so that a resend is recognised as a duplicate [MQTT-4.3.3-1].
      this.#background(this.#store.updateQueued(this.clientId, out.seq, 'sent', out.messageId))
    }
    if (!this.#sendPublish(outlet, out, out.messageId, false)) {
      // Too large for this client: it is dropped for this client only [MQTT-3.1.2-25].
      this.#inflight.delete(out.messageId)
      if (out.seq !== undefined) this.#removeLater(out.seq)
    }
  }

  #resend(out: Outgoing): void {
    const outlet = this.outlet
    if (outlet === null) return
    this.#track(out)
    if (out.state === 'released') outlet.send({ cmd: 'pubrel', messageId: out.messageId })
    else this.#sendPublish(outlet, out, out.messageId, true)
  }

  #track(out: Outgoing): void {
    if (this.#inflight === NOTHING_INFLIGHT) this.#inflight = new Map()
    this.#inflight.set(out.messageId, out)
  }

  #allocateId(): number {
    for (let i = 0; i < 65535; i++) {
      const id = this.#nextId
      this.#nextId = id === 65535 ? 1 : id + 1
      if (!this.#inflight.has(id)) return id
    }
    throw new Error('no free packet identifier: the inflight window exceeds 65535')
  }

  async #hydrate(): Promise<void> {
    this.#hydrated = true
    this.#isHydrating = true
    this.#storedQueueLength = 0
    this.#storedQueueBytes = 0
    const stored: Outgoing[] = []
    let storedBytes = 0
    const seen = new Set<number>()
    try {
      const now = Date.now()
      for await (const queued of this.#store.queue(this.clientId)) {
        if (isExpired(queued, now)) continue
        seen.add(queued.seq)
        const out = fromQueued(queued)
        if (out.state !== 'queued' && out.messageId !== 0 && !this.#inflight.has(out.messageId)) {
          this.#track(out)
        } else {
          out.state = 'queued'
          stored.push(out)
          storedBytes += out.message.payload.length
        }
      }
    } finally {
      this.#isHydrating = false
      // What arrived while the queue was read goes behind it, once: its queue entry may or may
      // not have been written in time for the read to meet it.
      const fresh = this.#pending
      this.#pending = stored
      this.#pendingBytes = storedBytes
      for (const out of fresh) {
        if (out.seq !== undefined && seen.has(out.seq)) continue
        this.#pending.push(out)
        this.#pendingBytes += out.message.payload.length
      }
    }
  }

  /**
   * Queue entries to delete, collected for the rest of this tick and removed with one store call:
   * a subscriber acknowledges many messages per socket read, and a write (with its promise) per
   * acknowledgement cost more than the delete. The removals still join the same group commit,
   * and land after any state update of the same entry, which was issued earlier.
   */
  #removeLater(seq: number): void {
    if (this.#removals !== undefined) {
      this.#removals.push(seq)
      return
    }
    this.#removals = [seq]
    process.nextTick(Session.#flushRemovals, this)
  }

  static #flushRemovals(session: Session): void {
    const seqs = session.#removals
    session.#removals = undefined
    if (seqs !== undefined) session.#background(session.#store.removeQueuedMany(session.clientId, seqs))
  }

  #background(p: Promise<void>): void {
    p.catch((err: unknown) => this.#log.error({ clientId: this.clientId, err }, 'store write failed'))
  }
}
