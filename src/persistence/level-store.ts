/**
 * The durable store: LevelDB through `level`, plus in-memory indexes rebuilt at `open()`.
 *
 * Key layout. Keys are UTF-8 strings, one letter for the kind, then `!`:
 *
 *   r!{topic}                        retained message
 *   s!{clientId}                     session meta (SessionMeta)
 *   w!{clientId}                     will stored through the aedes adapter
 *   u!{client}!{filter}              one subscription (SubscriptionRecord)
 *   q!{client}!{seq: 14 hex digits}  one queued message (QueuedMessage)
 *   q!{client}!{seq}!s               its delivery state, once it has one ({ state, messageId })
 *   i!{client}!{messageId: 4 hex}    inbound QoS 2 packet id awaiting PUBREL (empty value, or
 *                                    the packet when the aedes adapter stored one)
 *   m!seq                            high-water mark of nextSeq()
 *
 * `{client}` is the client id with `%` and `!` escaped (`%25`, `%21`) because something follows
 * it: the keys of one client are then exactly the range [`q!{client}!`, `q!{client}"`), and a
 * client `abc` can never see the keys of `abc!x` or `abcdef`. Topics and filters are always
 * the last part of their key, so they need no escaping. Fixed-width lowercase hex makes key
 * order numeric order: a client's queue reads back in seq order, and a state key sorts right
 * after its message, so one iterator yields both. Keeping the state apart lets
 * `updateQueued` be a blind put of a few bytes instead of a read and a rewrite of the payload.
 *
 * Values are `codec.ts`: a JSON header with every Buffer appended raw, so payloads and
 * correlation data round-trip byte-exact and are never base64'd.
 *
 * In memory: a TopicIndex of retained topics (from a keys-only scan of `r!`, run in the
 * background after `open()`: see `#buildRetainedIndex`), every
 * subscription (`u!`, read with values, since the session layer restores them all at start
 * anyway) and every inbound QoS 2 id (`i!`, keys only). Retained lookups walk the index and
 * then `getMany` only the matching keys; nothing ever scans all retained messages.
 *
 * Seq: every batch also writes `m!seq`, the highest seq handed out so far, and `close()`
 * writes it once more. A seq is used only inside a batch written after it was handed out, so
 * the mark in the last batch that reached the disk is at least every seq on disk, even after a
 * crash; `open()` starts from it. (A clock-based seq breaks when the clock steps back between
 * runs; finding the highest queued seq at start means reading every queue.)
 *
 * Writes go through BatchWriter: one `db.batch()` per change, merged with whatever else arrived
 * in the same turn of the event loop, one batch in flight at a time; see `batch-writer.ts`.
 */
import { Level } from 'level'
import { TopicIndex } from '../topic/index.js'
import { AedesAdapter } from './aedes-adapter.js'
import { type AedesPacket, isRecord } from './aedes-packets.js'
import { type BatchOp, BatchWriter } from './batch-writer.js'
import { decodeValue, encodeValue } from './codec.js'
import {
  QUEUE_STATE_SUFFIX, SEQ_KEY, type KeyRange, clientIdOf, decodeSeq, encodeSeq, incomingKey, isQueueStateKey, keyRange, messageIdOf,
  queueKey, queueStateKey, retainedKey, sessionKey, subscriptionKey, willKey,
} from './level-keys.js'
import { getOrCreate, isExpired, matchingTopics } from './store-helpers.js'
import type {
  PublishWrite, QueuedMessage, QueueState, SessionMeta, SessionRecord, StoredMessage,
  SubscriptionRecord,
} from './types.js'

export interface LevelStoreOptions {
  /** Directory of the LevelDB database; created if missing. */
  path: string
  /** fsync every batch before resolving (survives power loss, slower). */
  sync?: boolean
}

/** Retained values are fetched this many at a time, so `#` over a big tree stays bounded. */
const GET_MANY_CHUNK = 256
/** Keys (or entries) read per step of a scan at start. */
const SCAN_BATCH = 1000
const EMPTY = Buffer.alloc(0)

const del = (key: string): BatchOp => ({ type: 'del', key })
const put = (key: string, value: unknown): BatchOp => ({ type: 'put', key, value: encodeValue(value) })

export class LevelStore extends AedesAdapter {
  readonly #db: Level<string, Buffer>
  readonly #writer: BatchWriter
  readonly #retainedIndex = new TopicIndex()
  /** Retained updates committed but not yet written; an empty payload is a pending delete. */
  readonly #pendingRetained = new Map<string, StoredMessage>()
  readonly #incoming = new Map<string, Set<number>>()
  /** Settles once the retained index holds every retained topic on disk: see `#buildRetainedIndex`. */
  #retainedReady: Promise<void> = Promise.resolve()
  /** While that build runs: topics whose retained message was deleted meanwhile. */
  #deletedWhileBuilding: Set<string> | undefined
  /**
   * Queue state keys (`q!…!s`) this process wrote or read: only those need a delete when their
   * entry goes. A QoS 1 entry never has one, so its acknowledgement deletes one key, not two.
   * A state key missing from here (written by an update that raced the removal) is an orphan
   * that `queue()` tidies when it meets it.
   */
  readonly #stateKeys = new Set<string>()
  #seq = 0
  #opening: Promise<void> | undefined

  constructor(options: LevelStoreOptions) {
    super()
    this.#db = new Level<string, Buffer>(options.path, { keyEncoding: 'utf8', valueEncoding: 'buffer' })
    const batchOptions = { sync: options.sync === true }
    this.#writer = new BatchWriter({
      write: (ops) => this.#writeBatch(ops, batchOptions),
      extraOps: () => [{ type: 'put', key: SEQ_KEY, value: encodeSeq(this.#seq) }],
    })
  }

  /** Opens the database and rebuilds the in-memory indexes; a second call is a no-op. */
  open(): Promise<void> {
    this.#opening ??= this.#load().catch((err: unknown) => {
      this.#opening = undefined
      throw err
    })
    return this.#opening
  }

  /** Waits for every pending write, then closes the database. */
  async close(): Promise<void> {
    if (this.#opening === undefined) return
    await this.#opening
    await this.#retainedReady.catch(ignore)
    // Lands after every pending write; also records seqs handed out since the last batch, so
    // nextSeq() never repeats one even when nothing was written with it.
    try {
      await this.#writer.write({ ops: [{ type: 'put', key: SEQ_KEY, value: encodeSeq(this.#seq) }] })
    } finally {
      await this.#db.close()
      this.#opening = undefined
    }
  }

  nextSeq(): number {
    return ++this.#seq
  }

  async commit(write: PublishWrite): Promise<void> {
    const ops: BatchOp[] = []
    const { retained, enqueue, incoming } = write
    if (retained !== undefined) {
      const isDelete = retained.payload.length === 0
      ops.push(isDelete ? del(retainedKey(retained.topic)) : put(retainedKey(retained.topic), retained))
    }
    for (const { clientId, message } of enqueue ?? []) ops.push(put(queueKey(clientId, message.seq), message))
    if (incoming !== undefined) {
      ops.push({ type: 'put', key: incomingKey(incoming.clientId, incoming.messageId), value: EMPTY })
    }
    if (retained !== undefined) {
      // Visible to lookups at once, as it already is to live subscribers: a SUBSCRIBE that
      // arrives while the batch is being written must not miss it (or see the old value).
      this.#pendingRetained.set(retained.topic, retained)
      if (retained.payload.length === 0) {
        this.#retainedIndex.delete(retained.topic)
        this.#deletedWhileBuilding?.add(retained.topic)
      } else {
        this.#retainedIndex.add(retained.topic)
        this.#deletedWhileBuilding?.delete(retained.topic)
      }
    }
    const apply = (): void => {
      if (retained !== undefined && this.#pendingRetained.get(retained.topic) === retained) {
        this.#pendingRetained.delete(retained.topic)
      }
      if (incoming !== undefined) this.#incomingOf(incoming.clientId).add(incoming.messageId)
    }
    return this.#writer.write({ ops, apply })
  }

  async *retainedBatches(filters: string[]): AsyncGenerator<StoredMessage[]> {
    await this.#retainedReady
    const topics = matchingTopics(this.#retainedIndex, filters)
    const now = Date.now()
    const read = (start: number): Promise<Array<Buffer | undefined>> =>
      this.#db.getMany(topics.slice(start, start + GET_MANY_CHUNK).map(retainedKey))
    // One read ahead: the next chunk is fetched (on LevelDB's thread) while this one is decoded.
    let next = topics.length > 0 ? read(0) : undefined
    for (let start = 0; next !== undefined; start += GET_MANY_CHUNK) {
      const values = await next
      next = start + GET_MANY_CHUNK < topics.length ? read(start + GET_MANY_CHUNK) : undefined
      // A reader that stops early leaves this read behind: it must not become an unhandled rejection.
      next?.catch(ignore)
      const batch: StoredMessage[] = []
      for (let i = 0; i < values.length; i++) {
        const topic = topics[start + i] ?? ''
        const pending = this.#pendingRetained.get(topic)
        if (pending !== undefined) {
          if (pending.payload.length > 0 && !isExpired(pending, now)) batch.push(pending)
          continue
        }
        const value = values[i]
        // Gone between the index walk and the read: a delete landed meanwhile.
        if (value === undefined) continue
        const message = decodeValue(value) as StoredMessage
        if (isExpired(message, now)) {
          this.#dropExpired(retainedKey(message.topic), [], () => this.#retainedIndex.delete(message.topic))
          continue
        }
        batch.push(message)
      }
      if (batch.length > 0) yield batch
    }
  }


  async countRetained(): Promise<number> {
    await this.#retainedReady
    return this.#retainedIndex.size
  }

  async getSession(clientId: string): Promise<SessionRecord | undefined> {
    const value = await this.#db.get(sessionKey(clientId)) as Buffer | undefined
    if (value === undefined) return undefined
    return { ...(decodeValue(value) as SessionMeta), subscriptions: this.subs.get(clientId) }
  }

  async *sessions(): AsyncGenerator<SessionRecord> {
    const values = this.#db.values(keyRange('s'))
    try {
      for (;;) {
        const batch = await values.nextv(SCAN_BATCH)
        if (batch.length === 0) return
        for (const value of batch) {
          const meta = decodeValue(value) as SessionMeta
          yield { ...meta, subscriptions: this.subs.get(meta.clientId) }
        }
      }
    } finally {
      await values.close()
    }
  }

  async putSessionMeta(meta: SessionMeta): Promise<void> {
    return this.#writer.write({ ops: [put(sessionKey(meta.clientId), meta)] })
  }

  async deleteSession(clientId: string): Promise<void> {
    // Exclusive: the keys are listed after every earlier write has landed and deleted before
    // any later one, so an enqueue racing the delete cannot leave an orphan behind.
    return this.#writer.exclusive(async () => {
      const ops = [del(sessionKey(clientId)), del(willKey(clientId))]
      for (const kind of ['u', 'q', 'i']) {
        for await (const key of this.#db.keys(keyRange(kind, clientId))) ops.push(del(key))
      }
      return {
        ops,
        apply: () => {
          this.subs.deleteClient(clientId)
          this.#incoming.delete(clientId)
          const prefix = keyRange('q', clientId).gte
          for (const key of this.#stateKeys) if (key.startsWith(prefix)) this.#stateKeys.delete(key)
        },
      }
    })
  }

  async putSubscriptions(clientId: string, subs: SubscriptionRecord[]): Promise<void> {
    const ops = subs.map((sub) => put(subscriptionKey(clientId, sub.filter), sub))
    return this.#writer.write({ ops, apply: () => this.subs.put(clientId, subs) })
  }

  protected async deleteSubscriptions(clientId: string, filters: string[]): Promise<void> {
    const ops = filters.map((filter) => del(subscriptionKey(clientId, filter)))
    return this.#writer.write({ ops, apply: () => this.subs.remove(clientId, filters) })
  }

  async *queue(clientId: string): AsyncGenerator<QueuedMessage> {
    const now = Date.now()
    // A message key is followed by its state key, if any; hold each message until the next
    // key shows whether a state belongs to it.
    let held: { key: string; message: QueuedMessage } | undefined
    const release = (): QueuedMessage | undefined => {
      const message = held?.message
      const key = held?.key
      held = undefined
      if (message === undefined || key === undefined) return undefined
      if (!isExpired(message, now)) return message
      this.#stateKeys.delete(key + '!s')
      this.#dropExpired(key, [key + '!s'])
      return undefined
    }
    for await (const [key, value] of this.#db.iterator(keyRange('q', clientId))) {
      if (isQueueStateKey(key)) {
        if (held !== undefined && key === held.key + '!s') {
          const { state, messageId } = decodeValue(value) as { state: QueueState; messageId?: number }
          held.message = { ...held.message, state, messageId }
          this.#stateKeys.add(key)
        } else {
          // The state of an entry removed before (a late updateQueued): invisible, tidy it.
          this.#writer.write({ ops: [del(key)] }).catch(ignore)
        }
        continue
      }
      const ready = release()
      if (ready !== undefined) yield ready
      held = { key, message: decodeValue(value) as QueuedMessage }
    }
    const last = release()
    if (last !== undefined) yield last
  }

  async queueLengths(): Promise<Map<string, number>> {
    const lengths = new Map<string, number>()
    await this.#eachKey(keyRange('q'), (key) => {
      if (isQueueStateKey(key)) return
      const clientId = clientIdOf(key)
      lengths.set(clientId, (lengths.get(clientId) ?? 0) + 1)
    })
    return lengths
  }

  /** Counts the client's queue keys (keys only); queues are bounded by maxQueuedMessages. */
  async queueLength(clientId: string): Promise<number> {
    let count = 0
    for await (const key of this.#db.keys(keyRange('q', clientId))) {
      if (!isQueueStateKey(key)) count++
    }
    return count
  }

  async updateQueued(clientId: string, seq: number, state: QueueState, messageId?: number): Promise<void> {
    const key = queueStateKey(clientId, seq)
    this.#stateKeys.add(key)
    return this.#writer.write({ ops: [put(key, { state, messageId })] })
  }

  async removeQueued(clientId: string, seq: number): Promise<void> {
    return this.removeQueuedMany(clientId, [seq])
  }

  async removeQueuedMany(clientId: string, seqs: readonly number[]): Promise<void> {
    const ops: BatchOp[] = []
    for (const seq of seqs) {
      const key = queueKey(clientId, seq)
      ops.push(del(key))
      const stateKey = key + QUEUE_STATE_SUFFIX
      if (this.#stateKeys.delete(stateKey)) ops.push(del(stateKey))
    }
    return this.#writer.write({ ops })
  }

  async hasIncoming(clientId: string, messageId: number): Promise<boolean> {
    return this.#incoming.get(clientId)?.has(messageId) ?? false
  }

  async removeIncoming(clientId: string, messageId: number): Promise<void> {
    return this.#writer.write({
      ops: [del(incomingKey(clientId, messageId))],
      apply: () => this.#incoming.get(clientId)?.delete(messageId),
    })
  }

  async incomingIds(clientId: string): Promise<number[]> {
    return [...(this.#incoming.get(clientId) ?? [])].sort((a, b) => a - b)
  }

  protected async loadIncoming(clientId: string, messageId: number): Promise<{ message?: StoredMessage } | undefined> {
    if (this.#incoming.get(clientId)?.has(messageId) !== true) return undefined
    const value = await this.#db.get(incomingKey(clientId, messageId)) as Buffer | undefined
    if (value === undefined) return undefined
    return value.length === 0 ? {} : { message: decodeValue(value) as StoredMessage }
  }

  protected async saveIncoming(clientId: string, messageId: number, message: StoredMessage): Promise<void> {
    return this.#writer.write({
      ops: [put(incomingKey(clientId, messageId), message)],
      apply: () => this.#incomingOf(clientId).add(messageId),
    })
  }

  protected async replaceQueued(clientId: string, message: QueuedMessage): Promise<void> {
    const { seq } = message
    const stateKey = queueStateKey(clientId, seq)
    this.#stateKeys.delete(stateKey)
    return this.#writer.write({ ops: [put(queueKey(clientId, seq), message), del(stateKey)] })
  }

  protected async loadWill(clientId: string): Promise<AedesPacket | undefined> {
    const value = await this.#db.get(willKey(clientId)) as Buffer | undefined
    return value === undefined ? undefined : asPacket(decodeValue(value))
  }

  protected async saveWill(clientId: string, will: AedesPacket | undefined): Promise<void> {
    return this.#writer.write({ ops: [will === undefined ? del(willKey(clientId)) : put(willKey(clientId), will)] })
  }

  protected async *allWills(): AsyncGenerator<AedesPacket> {
    for await (const value of this.#db.values(keyRange('w'))) yield asPacket(decodeValue(value))
  }

  /**
   * One atomic LevelDB write batch. Built as a chained batch: abstract-level's array form
   * clones and re-validates every operation in JavaScript, which measured 6x slower on the
   * QoS 1 path; the chained form hands each operation straight to the native batch.
   */
  async #writeBatch(ops: BatchOp[], options: { sync: boolean }): Promise<void> {
    const batch = this.#db.batch()
    try {
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value)
        else batch.del(op.key)
      }
    } catch (err) {
      await batch.close()
      throw err
    }
    await batch.write(options)
  }

  async #load(): Promise<void> {
    await this.#db.open()
    this.#retainedIndex.clear()
    this.subs.clear()
    this.#incoming.clear()
    this.#seq = Math.max(this.#seq, decodeSeq(await this.#db.get(SEQ_KEY) as Buffer | undefined))
    await this.#eachEntry(keyRange('u'), (key, value) => {
      this.subs.put(clientIdOf(key), [decodeValue(value) as SubscriptionRecord])
    })
    await this.#eachKey(keyRange('i'), (key) => this.#incomingOf(clientIdOf(key)).add(messageIdOf(key)))
    this.#deletedWhileBuilding = new Set()
    this.#retainedReady = this.#buildRetainedIndex()
    // Not awaited here; a failure reaches whoever reads retained messages next.
    this.#retainedReady.catch(ignore)
  }

  /**
   * The retained index is built after `open()` has returned, so that the broker serves clients
   * while a million retained topics are read (a keys-only scan: some 1.5 s of LevelDB and key
   * decoding, and 0.7 s of index inserts, per million). Retained lookups wait for it; commits
   * do not. A commit meanwhile updates the index at once, and the scan, which reads the
   * database as it was when it began, must not bring back a topic deleted since: those are
   * noted in `#deletedWhileBuilding` and skipped. (An add needs no care: adding is idempotent.)
   */
  async #buildRetainedIndex(): Promise<void> {
    const deleted = this.#deletedWhileBuilding ?? new Set<string>()
    try {
      await this.#eachKey(keyRange('r'), (key) => {
        const topic = key.slice(2)
        if (!deleted.has(topic)) this.#retainedIndex.add(topic)
      })
    } finally {
      this.#deletedWhileBuilding = undefined
    }
  }

  /**
   * Every key of a range, read SCAN_BATCH at a time: a `for await` over an iterator takes a
   * promise and a turn of the event loop per key, which for a million retained topics at start
   * was most of the start-up time.
   */
  async #eachKey(range: KeyRange, each: (key: string) => void): Promise<void> {
    const keys = this.#db.keys(range)
    try {
      for (;;) {
        const batch = await keys.nextv(SCAN_BATCH)
        if (batch.length === 0) return
        for (const key of batch) each(key)
      }
    } finally {
      await keys.close()
    }
  }

  async #eachEntry(range: KeyRange, each: (key: string, value: Buffer) => void): Promise<void> {
    const entries = this.#db.iterator(range)
    try {
      for (;;) {
        const batch = await entries.nextv(SCAN_BATCH)
        if (batch.length === 0) return
        for (const [key, value] of batch) each(key, value)
      }
    } finally {
      await entries.close()
    }
  }

  /**
   * Deletes an expired record found while reading, unless it changed meanwhile (a new retained
   * message for the topic may be queued behind the read). Nobody waits for it: if it fails,
   * the record is skipped again next time and the delete retried then.
   */
  #dropExpired(key: string, alsoDelete: string[], apply?: () => void): void {
    this.#writer.exclusive(async () => {
      const value = await this.#db.get(key) as Buffer | undefined
      const isStillExpired = value !== undefined && isExpired(decodeValue(value) as StoredMessage, Date.now())
      return isStillExpired ? { ops: [key, ...alsoDelete].map(del), apply } : { ops: [] }
    }).catch(ignore)
  }

  #incomingOf(clientId: string): Set<number> {
    return getOrCreate(this.#incoming, clientId, () => new Set())
  }
}

const ignore = (): void => {}

const asPacket = (value: unknown): AedesPacket => (isRecord(value) ? value : {})
