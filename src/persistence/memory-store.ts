/**
 * The store for `dataDir: null`: everything in Maps, nothing survives the process.
 *
 * Records are copied on the way in and on the way out, so a caller that edits a message it
 * stored or read (aedes' suite does) cannot edit the store, just as with the level store. The
 * one exception is `commit()`'s queue entries, which it takes over as they are (Store.commit
 * says so): one per persistent receiver of every QoS 1/2 message, the hot path of the store.
 */
import { TopicIndex } from '../topic/index.js'
import { AedesAdapter } from './aedes-adapter.js'
import type { AedesPacket } from './aedes-packets.js'
import { getOrCreate, isExpired, matchingTopics } from './store-helpers.js'
import type {
  PublishWrite, QueuedMessage, QueueState, SessionMeta, SessionRecord, StoredMessage,
  SubscriptionRecord,
} from './types.js'

/** One client's queue: by seq, in seq order unless an entry arrived out of order. */
interface ClientQueue {
  entries: Map<number, QueuedMessage>
  maxSeq: number
  isSorted: boolean
}

/** Retained messages per batch of `retainedBatches`, as the level store reads them. */
const RETAINED_BATCH = 256

export class MemoryStore extends AedesAdapter {
  readonly #retained = new Map<string, StoredMessage>()
  readonly #retainedIndex = new TopicIndex()
  readonly #metas = new Map<string, SessionMeta>()
  readonly #queues = new Map<string, ClientQueue>()
  /** messageId -> the packet behind it, if one was stored (the aedes adapter stores one). */
  readonly #incoming = new Map<string, Map<number, StoredMessage | undefined>>()
  readonly #wills = new Map<string, AedesPacket>()
  #seq = 0

  async open(): Promise<void> {}

  async close(): Promise<void> {}

  nextSeq(): number {
    return ++this.#seq
  }

  async commit(write: PublishWrite): Promise<void> {
    const { retained, enqueue, incoming } = write
    if (retained !== undefined) {
      if (retained.payload.length === 0) {
        this.#retained.delete(retained.topic)
        this.#retainedIndex.delete(retained.topic)
      } else {
        this.#retained.set(retained.topic, { ...retained })
        this.#retainedIndex.add(retained.topic)
      }
    }
    for (const { clientId, message } of enqueue ?? []) this.#putQueued(clientId, message)
    if (incoming !== undefined) this.#incomingOf(incoming.clientId).set(incoming.messageId, undefined)
  }

  async *retainedBatches(filters: string[]): AsyncGenerator<StoredMessage[]> {
    const now = Date.now()
    const topics = matchingTopics(this.#retainedIndex, filters)
    for (let start = 0; start < topics.length; start += RETAINED_BATCH) {
      const batch: StoredMessage[] = []
      for (const topic of topics.slice(start, start + RETAINED_BATCH)) {
        const message = this.#retained.get(topic)
        if (message === undefined) continue
        if (isExpired(message, now)) {
          this.#retained.delete(topic)
          this.#retainedIndex.delete(topic)
          continue
        }
        batch.push({ ...message })
      }
      if (batch.length > 0) yield batch
    }
  }

  async countRetained(): Promise<number> {
    return this.#retained.size
  }

  async getSession(clientId: string): Promise<SessionRecord | undefined> {
    const meta = this.#metas.get(clientId)
    return meta === undefined ? undefined : { ...meta, subscriptions: this.subs.get(clientId) }
  }

  async *sessions(): AsyncGenerator<SessionRecord> {
    for (const meta of [...this.#metas.values()]) {
      yield { ...meta, subscriptions: this.subs.get(meta.clientId) }
    }
  }

  async putSessionMeta(meta: SessionMeta): Promise<void> {
    this.#metas.set(meta.clientId, { ...meta })
  }

  async deleteSession(clientId: string): Promise<void> {
    this.#metas.delete(clientId)
    this.subs.deleteClient(clientId)
    this.#queues.delete(clientId)
    this.#incoming.delete(clientId)
    this.#wills.delete(clientId)
  }

  async putSubscriptions(clientId: string, subs: SubscriptionRecord[]): Promise<void> {
    this.subs.put(clientId, subs)
  }

  protected async deleteSubscriptions(clientId: string, filters: string[]): Promise<void> {
    this.subs.remove(clientId, filters)
  }

  async *queue(clientId: string): AsyncGenerator<QueuedMessage> {
    const queue = this.#queues.get(clientId)
    if (queue === undefined) return
    if (!queue.isSorted) {
      queue.entries = new Map([...queue.entries].sort(([a], [b]) => a - b))
      queue.isSorted = true
    }
    // A snapshot, as a LevelDB iterator reads one: callers remove entries while iterating.
    const now = Date.now()
    for (const entry of [...queue.entries.values()]) {
      if (isExpired(entry, now)) {
        queue.entries.delete(entry.seq)
        continue
      }
      yield { ...entry }
    }
  }

  async queueLengths(): Promise<Map<string, number>> {
    const lengths = new Map<string, number>()
    for (const [clientId, queue] of this.#queues) if (queue.entries.size > 0) lengths.set(clientId, queue.entries.size)
    return lengths
  }

  async queueLength(clientId: string): Promise<number> {
    return this.#queues.get(clientId)?.entries.size ?? 0
  }

  async updateQueued(clientId: string, seq: number, state: QueueState, messageId?: number): Promise<void> {
    const entry = this.#queues.get(clientId)?.entries.get(seq)
    if (entry === undefined) return
    // In place: the entry is the store's own (commit took it over, queue() hands out copies).
    entry.state = state
    entry.messageId = messageId
  }

  async removeQueued(clientId: string, seq: number): Promise<void> {
    this.#queues.get(clientId)?.entries.delete(seq)
  }

  async removeQueuedMany(clientId: string, seqs: readonly number[]): Promise<void> {
    const entries = this.#queues.get(clientId)?.entries
    if (entries !== undefined) for (const seq of seqs) entries.delete(seq)
  }

  async hasIncoming(clientId: string, messageId: number): Promise<boolean> {
    return this.#incoming.get(clientId)?.has(messageId) ?? false
  }

  async removeIncoming(clientId: string, messageId: number): Promise<void> {
    this.#incoming.get(clientId)?.delete(messageId)
  }

  async incomingIds(clientId: string): Promise<number[]> {
    return [...(this.#incoming.get(clientId)?.keys() ?? [])].sort((a, b) => a - b)
  }

  protected async loadIncoming(clientId: string, messageId: number): Promise<{ message?: StoredMessage } | undefined> {
    const ids = this.#incoming.get(clientId)
    if (ids === undefined || !ids.has(messageId)) return undefined
    const message = ids.get(messageId)
    return message === undefined ? {} : { message: { ...message } }
  }

  protected async saveIncoming(clientId: string, messageId: number, message: StoredMessage): Promise<void> {
    this.#incomingOf(clientId).set(messageId, { ...message })
  }

  protected async replaceQueued(clientId: string, message: QueuedMessage): Promise<void> {
    const entries = this.#queues.get(clientId)?.entries
    if (entries?.has(message.seq) === true) entries.set(message.seq, { ...message })
  }

  protected async loadWill(clientId: string): Promise<AedesPacket | undefined> {
    const will = this.#wills.get(clientId)
    return will === undefined ? undefined : { ...will }
  }

  protected async saveWill(clientId: string, will: AedesPacket | undefined): Promise<void> {
    if (will === undefined) this.#wills.delete(clientId)
    else this.#wills.set(clientId, { ...will })
  }

  protected async *allWills(): AsyncGenerator<AedesPacket> {
    for (const will of [...this.#wills.values()]) yield { ...will }
  }

  #putQueued(clientId: string, message: QueuedMessage): void {
    const queue = getOrCreate(this.#queues, clientId, () => ({ entries: new Map(), maxSeq: 0, isSorted: true }))
    if (message.seq < queue.maxSeq) queue.isSorted = false
    else queue.maxSeq = message.seq
    // No copy: commit() takes the entry over (see Store.commit).
    queue.entries.set(message.seq, message)
  }

  #incomingOf(clientId: string): Map<number, StoredMessage | undefined> {
    return getOrCreate(this.#incoming, clientId, () => new Map())
  }
}
