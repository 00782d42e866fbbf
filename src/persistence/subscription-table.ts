import { topicMatches } from '../topic/index.js'
import { getOrCreate } from './store-helpers.js'
import type { SubscriptionRecord } from './types.js'

/**
 * Every client's subscriptions, held in memory by both stores. The memory store keeps nothing
 * else; the level store loads this table at `open()` from its `u!` keys and keeps it in step
 * with every write that has landed, so `getSession`, `sessions` and the aedes adapter's
 * topic queries never read LevelDB for subscriptions.
 */
export class SubscriptionTable {
  /** Insertion order is kept (per client and across clients): aedes' suite expects it. */
  readonly #byClient = new Map<string, Map<string, SubscriptionRecord>>()

  /** A copy, so a caller that edits it cannot edit the table. */
  get(clientId: string): SubscriptionRecord[] {
    const subs = this.#byClient.get(clientId)
    return subs === undefined ? [] : [...subs.values()].map((sub) => ({ ...sub }))
  }

  /** Adds or replaces by filter; when a filter repeats within `subs`, the last one wins. */
  put(clientId: string, subs: readonly SubscriptionRecord[]): void {
    if (subs.length === 0) return
    const stored = getOrCreate(this.#byClient, clientId, () => new Map<string, SubscriptionRecord>())
    for (const sub of subs) stored.set(sub.filter, { ...sub })
  }

  remove(clientId: string, filters: readonly string[]): void {
    const stored = this.#byClient.get(clientId)
    if (stored === undefined) return
    for (const filter of filters) stored.delete(filter)
    // A client without subscriptions is not listed, so counts of clients stay honest.
    if (stored.size === 0) this.#byClient.delete(clientId)
  }

  deleteClient(clientId: string): void {
    this.#byClient.delete(clientId)
  }

  clear(): void {
    this.#byClient.clear()
  }

  /** `[clientId, subscriptions]` for every client with at least one subscription. */
  *entries(): Generator<[string, readonly SubscriptionRecord[]]> {
    for (const [clientId, subs] of this.#byClient) yield [clientId, [...subs.values()]]
  }

  /**
   * Every subscription whose filter matches `topic`. A plain scan: the router has its own trie
   * for live delivery; this serves the aedes adapter's `subscriptionsByTopic`.
   */
  *matching(topic: string): Generator<[string, SubscriptionRecord]> {
    for (const [clientId, subs] of this.#byClient) {
      for (const sub of subs.values()) {
        if (topicMatches(sub.filter, topic)) yield [clientId, sub]
      }
    }
  }

  /** Clients holding exactly this filter. */
  *clientsWith(filter: string): Generator<string> {
    for (const [clientId, subs] of this.#byClient) {
      if (subs.has(filter)) yield clientId
    }
  }
}
