import type { QoS } from '../protocol/index.js'
import type { PublishWrite, StoredMessage, SubscriptionRecord } from '../persistence/index.js'

/**
 * What the router delivers to. A session implements it; the router never sees a socket.
 */
export interface Subscriber {
  readonly clientId: string
  /** Persistent sessions get a durable queue entry for every QoS 1/2 message. */
  readonly isPersistent: boolean
  /** Shared subscriptions prefer connected members. */
  readonly isOnline: boolean
  /**
   * One call per message per subscriber, however many of its subscriptions matched
   * [MQTT-3.3.4-2]. Returns false when the subscriber refuses it (queue full), so that no
   * durable queue entry is written for it.
   */
  deliver(delivery: Delivery): boolean
  /** Number of QoS 1/2 messages sent and not yet acknowledged: used by least-inflight groups. */
  readonly inflightCount: number
  /**
   * Scratch fields of the `Router`, nobody else's: the publish that last matched this
   * subscriber and where its match sits, so that one walk finds a subscriber reached through
   * several subscriptions without a Map lookup per match (see router.ts). Start them at 0.
   */
  routeMark: number
  routeSlot: number
}

export interface Delivery {
  message: StoredMessage
  /** The QoS to send with: min(message QoS, highest granted QoS that matched) [MQTT-3.8.4-8]. */
  qos: QoS
  /** RETAIN flag to send: only for Retain As Published subscriptions [MQTT-3.3.1-12]. */
  retain: boolean
  /** 5.0 Subscription Identifiers of every matching subscription [MQTT-3.3.4-3]. */
  subscriptionIds: number[] | undefined
  /** Durable queue order key, set when the router writes a queue entry for this delivery. */
  seq: number | undefined
  /** The `$share/…` filter when the message came only through a shared subscription. */
  shared?: string
}

export interface SubscriptionEntry {
  subscriber: Subscriber
  record: SubscriptionRecord
}

export type SharedStrategy = 'round-robin' | 'random' | 'least-inflight'

/**
 * The routing contract the rest of the broker uses. `Router` is the in-process implementation;
 * a cluster backend (NATS JetStream is the plan) implements the same contract, forwarding
 * `publish` to the other nodes and delivering what they forward to its local subscribers, so
 * handlers and sessions do not change.
 */
export interface MessageRouter {
  /** Adds or replaces a subscription; true when it already existed. */
  subscribe(subscriber: Subscriber, record: SubscriptionRecord): boolean
  /** True when the subscription existed. */
  unsubscribe(subscriber: Subscriber, filter: string): boolean
  /** Routes one message; durable writes it needs are appended to `write` for the caller to commit. */
  publish(message: StoredMessage, write: PublishWrite): void
  /** Sessions the last `publish` reached. */
  readonly lastMatchCount: number
  /** Delivers outside normal routing (retained messages on subscribe). */
  deliverTo(subscriber: Subscriber, delivery: Delivery, write: PublishWrite): boolean
  /** Gives a shared-subscription message a departed member never acknowledged to another member. */
  redeliverShared(sharedFilter: string, delivery: Delivery, write: PublishWrite): boolean
  /** Retained messages matching any of the filters, in batches. */
  retained(filters: string[]): AsyncIterable<StoredMessage[]>
}
