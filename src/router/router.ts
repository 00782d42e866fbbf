import { TopicTrie, parseSharedFilter } from '../topic/index.js'
import type { QoS } from '../protocol/index.js'
import { toQueued, type PublishWrite, type Store, type StoredMessage, type SubscriptionRecord } from '../persistence/index.js'
import { SharedGroup } from './shared-group.js'
import type { Delivery, MessageRouter, SharedStrategy, Subscriber, SubscriptionEntry } from './types.js'

/**
 * The router holds every subscription of every session (connected or not) in one topic trie
 * and turns one PUBLISH into one `Delivery` per receiving session.
 *
 * A session with several matching subscriptions gets ONE copy at the highest granted QoS
 * [MQTT-3.3.5-1], carrying every matching Subscription Identifier [MQTT-3.3.4-3]. A shared
 * group is a single trie value whose members take turns; it is keyed so that it can never
 * collide with a client id (client ids never contain U+0000).
 *
 * Durability is decided here but written by the caller: for each persistent subscriber that
 * accepts a QoS 1/2 message the router appends a queue entry to the caller's `PublishWrite`,
 * which the caller commits in one batch before acknowledging the publisher.
 *
 * The walk allocates nothing per match. Matches go into a pool of `Match` objects reused by
 * every publish, and a subscriber reached twice in one walk is recognised by a mark: each
 * publish takes the next number, stamps it on every subscriber it matches (`routeMark`) with
 * the index of its match (`routeSlot`), and a subscriber already carrying this publish's number
 * is merged into that match. A Map from subscriber to match did the same with two hash
 * operations per delivery and a new table at every `clear()`: a tenth of a fan-out profile.
 */
type TrieValue = SubscriptionEntry | SharedGroup

const sharedKey = (group: string): string => `\u0000share\u0000${group}`

/** `Router.#mark` wraps here, staying a small integer. */
const MAX_MARK = 2 ** 30

interface Match {
  /** Undefined once the publish is done, so the pool keeps no session alive. */
  subscriber: Subscriber | undefined
  qos: QoS
  retain: boolean
  subscriptionIds: number[] | undefined
  shared: string | undefined
}

export interface RouterOptions {
  store: Store
  sharedStrategy?: SharedStrategy
}

export class Router implements MessageRouter {
  readonly #trie = new TopicTrie<TrieValue>()
  readonly #store: Store
  readonly #strategy: SharedStrategy
  /** The match pool: the walk fills the first `#matchCount`, fan-out drains them. */
  readonly #matches: Match[] = []
  #matchCount = 0
  /** This publish's number for `Subscriber.routeMark`; never 0, which subscribers start with. */
  #mark = 0
  #message: StoredMessage | undefined
  #lastMatchCount = 0

  constructor(opts: RouterOptions) {
    this.#store = opts.store
    this.#strategy = opts.sharedStrategy ?? 'round-robin'
  }

  /** Sessions the last `publish` reached (for 5.0's No Matching Subscribers 0x10). */
  get lastMatchCount(): number {
    return this.#lastMatchCount
  }

  get subscriptionCount(): number {
    return this.#trie.size
  }

  /** Adds or replaces a subscription; returns true when it already existed [MQTT-3.8.4-3]. */
  subscribe(subscriber: Subscriber, record: SubscriptionRecord): boolean {
    const entry: SubscriptionEntry = { subscriber, record }
    const shared = parseSharedFilter(record.filter)
    if (shared === null) return !this.#trie.add(record.filter, subscriber.clientId, entry)
    const key = sharedKey(shared.group)
    let group = this.#trie.get(shared.filter, key)
    if (!(group instanceof SharedGroup)) {
      group = new SharedGroup(shared.group, shared.filter, this.#strategy)
      this.#trie.add(shared.filter, key, group)
    }
    return !group.set(entry)
  }

  /** Returns true when the subscription existed. */
  unsubscribe(subscriber: Subscriber, filter: string): boolean {
    const shared = parseSharedFilter(filter)
    if (shared === null) return this.#trie.remove(filter, subscriber.clientId) !== undefined
    const key = sharedKey(shared.group)
    const group = this.#trie.get(shared.filter, key)
    if (!(group instanceof SharedGroup)) return false
    const had = group.delete(subscriber.clientId)
    if (group.size === 0) this.#trie.remove(shared.filter, key)
    return had
  }

  /**
   * Routes one application message. Online subscribers get it now (through `deliver`); durable
   * queue entries for persistent subscribers are appended to `write`, as is the retained
   * update. Synchronous so that QoS 0 costs no promise.
   */
  publish(message: StoredMessage, write: PublishWrite): void {
    if (message.retain) write.retained = message
    this.#message = message
    this.#mark = this.#mark >= MAX_MARK ? 1 : this.#mark + 1
    this.#matchCount = 0
    this.#trie.match(message.topic, this.#visit)
    this.#message = undefined
    const count = this.#matchCount
    this.#lastMatchCount = count
    for (let i = 0; i < count; i++) {
      const match = this.#matches[i] as Match
      const subscriber = match.subscriber as Subscriber
      match.subscriber = undefined
      this.#fanOut(message, subscriber, match, write)
      match.subscriptionIds = undefined
    }
  }

  /** Delivers one message to one subscriber outside normal routing (retained, redelivery). */
  deliverTo(subscriber: Subscriber, delivery: Delivery, write: PublishWrite): boolean {
    if (delivery.qos > 0 && subscriber.isPersistent) delivery.seq = this.#store.nextSeq()
    if (!subscriber.deliver(delivery)) return false
    if (delivery.seq !== undefined) this.#enqueue(subscriber, delivery, write)
    return true
  }

  /**
   * A member of a shared group went away for good with messages it never acknowledged: they
   * go to another member (MQTT 5.0 section 4.8.2). Returns false when nobody is left.
   */
  redeliverShared(sharedFilter: string, delivery: Delivery, write: PublishWrite): boolean {
    const shared = parseSharedFilter(sharedFilter)
    if (shared === null) return false
    const group = this.#trie.get(shared.filter, sharedKey(shared.group))
    if (!(group instanceof SharedGroup)) return false
    const entry = group.pick()
    if (entry === undefined) return false
    const qos = (entry.record.qos < delivery.message.qos ? entry.record.qos : delivery.message.qos) as QoS
    return this.deliverTo(entry.subscriber, { ...delivery, qos, seq: undefined, subscriptionIds: entry.record.subscriptionId === undefined ? undefined : [entry.record.subscriptionId], shared: sharedFilter }, write)
  }

  retained(filters: string[]): AsyncIterable<StoredMessage[]> {
    return this.#store.retainedBatches(filters)
  }

  readonly #visit = (value: TrieValue): void => {
    const message = this.#message
    if (message === undefined) return
    if (value instanceof SharedGroup) {
      // A shared subscription ignores No Local: it is a protocol error to set it [MQTT-3.8.3-4].
      const entry = value.pick()
      if (entry !== undefined) this.#addMatch(entry, message, entry.record.filter)
      return
    }
    if (value.record.noLocal && value.subscriber.clientId === message.origin) return // [MQTT-3.8.3-3]
    this.#addMatch(value, message, undefined)
  }

  #addMatch(entry: SubscriptionEntry, message: StoredMessage, shared: string | undefined): void {
    const { subscriber, record } = entry
    const retain = record.retainAsPublished && message.retain
    const subscriptionIds = record.subscriptionId === undefined ? undefined : [record.subscriptionId]
    const existing = this.#matchOf(subscriber)
    if (existing === undefined) {
      const slot = this.#matchCount++
      subscriber.routeMark = this.#mark
      subscriber.routeSlot = slot
      const match = this.#matches[slot]
      if (match === undefined) {
        this.#matches.push({ subscriber, qos: record.qos, retain, subscriptionIds, shared })
        return
      }
      match.subscriber = subscriber
      match.qos = record.qos
      match.retain = retain
      match.subscriptionIds = subscriptionIds
      match.shared = shared
      return
    }
    // Also reached through an ordinary subscription: no longer a shared-only delivery.
    if (shared === undefined || existing.shared !== shared) existing.shared = undefined
    if (record.qos > existing.qos) existing.qos = record.qos
    if (retain) existing.retain = true
    if (record.subscriptionId !== undefined) {
      if (existing.subscriptionIds === undefined) existing.subscriptionIds = [record.subscriptionId]
      else existing.subscriptionIds.push(record.subscriptionId)
    }
  }

  /** The match of this publish for `subscriber`, if the walk reached it already. */
  #matchOf(subscriber: Subscriber): Match | undefined {
    if (subscriber.routeMark !== this.#mark) return undefined
    const slot = subscriber.routeSlot
    const match = this.#matches[slot]
    // A mark left from 2^30 publishes ago can equal this one: only a live slot counts.
    return slot < this.#matchCount && match?.subscriber === subscriber ? match : undefined
  }

  #fanOut(message: StoredMessage, subscriber: Subscriber, match: Match, write: PublishWrite): void {
    const qos = (match.qos < message.qos ? match.qos : message.qos) as QoS
    const delivery: Delivery = {
      message,
      qos,
      retain: match.retain,
      subscriptionIds: match.subscriptionIds,
      seq: undefined,
      shared: match.shared,
    }
    this.deliverTo(subscriber, delivery, write)
  }

  #enqueue(subscriber: Subscriber, delivery: Delivery, write: PublishWrite): void {
    const entry = { clientId: subscriber.clientId, message: toQueued(delivery.message, delivery) }
    if (write.enqueue === undefined) write.enqueue = [entry]
    else write.enqueue.push(entry)
  }
}
