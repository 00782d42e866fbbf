import type { ProtocolVersion, PublishProperties, QoS, Will } from '../protocol/packets.js'

/**
 * Halyard's store: what the broker asks of persistence, in plain data keyed by client id.
 *
 * Both implementations (memory, level) also implement the `aedes-persistence` async interface
 * over the same data; this interface is the extension the broker needs on top of it:
 * one atomic write per inbound publish, an index for retained lookups, session metadata with
 * expiry, and per-client ordered queues.
 */

/** An application message as stored: everything needed to deliver it again. */
export interface StoredMessage {
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  /** 5.0 properties forwarded to subscribers (never topicAlias or subscriptionIdentifier). */
  properties?: PublishProperties
  /** Epoch ms after which the message must not be delivered (5.0 Message Expiry Interval). */
  expiresAt?: number
  /** Client id of the publisher, for No Local. */
  origin?: string
  /**
   * Fields of a packet written through the aedes-persistence adapter that Halyard has no use
   * for (`brokerId`, `brokerCounter`, `cmd`, a string payload, ...), kept verbatim so the
   * packet reads back unchanged. Halyard's broker never sets it and may ignore it.
   */
  foreign?: Record<string, unknown>
}

/** Delivery state of one queued message for one client. */
export type QueueState =
  /** Not yet sent (no packet id assigned). */
  | 'queued'
  /** PUBLISH sent with `messageId`, waiting for PUBACK / PUBREC. */
  | 'sent'
  /** QoS 2: PUBREC received and PUBREL sent, waiting for PUBCOMP. */
  | 'released'

export interface QueuedMessage extends StoredMessage {
  /** Order key, unique per store, increasing in the order messages were enqueued. */
  seq: number
  state: QueueState
  messageId?: number
  /** 5.0 Subscription Identifiers of the subscriptions that matched. */
  subscriptionIds?: number[]
  /** The `$share/…` filter it was delivered through, when only a shared subscription matched. */
  shared?: string
}

export interface SubscriptionRecord {
  filter: string
  qos: QoS
  noLocal: boolean
  retainAsPublished: boolean
  retainHandling: 0 | 1 | 2
  subscriptionId?: number
}

export interface SessionRecord {
  clientId: string
  protocolVersion: ProtocolVersion
  /** Seconds; 0xFFFFFFFF means never expires. */
  expiryInterval: number
  /** Epoch ms of the last disconnect; absent while connected. */
  disconnectedAt?: number
  /** The will, kept so a will delay survives a restart. */
  will?: Will
  subscriptions: SubscriptionRecord[]
}

export type SessionMeta = Omit<SessionRecord, 'subscriptions'>

/** Everything one inbound PUBLISH changes, written as one batch before it is acknowledged. */
export interface PublishWrite {
  /** Store or replace; an empty payload deletes the retained message for the topic. */
  retained?: StoredMessage
  /** Queue entries for persistent sessions, one per receiving client. */
  enqueue?: Array<{ clientId: string; message: QueuedMessage }>
  /** QoS 2 inbound: remember this packet id until PUBREL [MQTT-4.3.3-10]. */
  incoming?: { clientId: string; messageId: number }
}

export interface Store {
  open(): Promise<void>
  close(): Promise<void>

  /** A fresh order key; strictly increasing for the life of the data directory. */
  nextSeq(): number

  /**
   * One atomic batch; resolves once written (and fsync'd when the store is in sync mode).
   * The queue entries are handed over: the store may keep those very objects, so the caller
   * must not change them afterwards (the router builds a fresh one per receiver).
   */
  commit(write: PublishWrite): Promise<void>

  /** Retained messages whose topic matches any of the filters, found through an index. */
  retainedMatching(filters: string[]): AsyncIterable<StoredMessage>
  /**
   * The same messages in batches (of a few hundred): what the broker uses on SUBSCRIBE, where
   * a `#` may match 100,000 retained messages and a step of an async iteration per message
   * costs more than delivering it.
   */
  retainedBatches(filters: string[]): AsyncIterable<StoredMessage[]>
  countRetained(): Promise<number>

  getSession(clientId: string): Promise<SessionRecord | undefined>
  /** Every stored session, for restoring subscriptions and timers at start. */
  sessions(): AsyncIterable<SessionRecord>
  putSessionMeta(meta: SessionMeta): Promise<void>
  /** Removes the session and everything it owns (subscriptions, queue, incoming ids, will). */
  deleteSession(clientId: string): Promise<void>
  putSubscriptions(clientId: string, subs: SubscriptionRecord[]): Promise<void>
  removeSubscriptions(clientId: string, filters: string[]): Promise<void>

  /** The client's queue in `seq` order, expired messages left out. */
  queue(clientId: string): AsyncIterable<QueuedMessage>
  queueLength(clientId: string): Promise<number>
  /** Every client's queue length in one pass (clients without a queue left out): for the restore at start. */
  queueLengths(): Promise<Map<string, number>>
  /**
   * Sets the entry's state and packet id together (no `messageId`: the entry has none, as when
   * it goes back to `queued`). Does nothing when the entry is gone. A blind write, so that the
   * level store needs no read first.
   */
  updateQueued(clientId: string, seq: number, state: QueueState, messageId?: number): Promise<void>
  /** Does nothing when the entry is gone. */
  removeQueued(clientId: string, seq: number): Promise<void>
  /** `removeQueued` for several entries of one client, in one write. */
  removeQueuedMany(clientId: string, seqs: readonly number[]): Promise<void>

  hasIncoming(clientId: string, messageId: number): Promise<boolean>
  removeIncoming(clientId: string, messageId: number): Promise<void>
  incomingIds(clientId: string): Promise<number[]>
}
