/**
 * The aedes-persistence async interface (aedes-persistence@11 `asyncPersistence.js`) over
 * Halyard's own store, so the level store can back an Aedes broker too.
 *
 * Both stores extend this class: every aedes call is written once, here, in terms of `Store`
 * methods plus a handful of protected primitives for what Halyard itself never needs (the
 * packet behind an inbound QoS 2 id, aedes-style wills, replacing a queued message in place).
 * The data is the same: a retained message stored by aedes is found by `retainedMatching`,
 * a subscription added here shows up in `getSession`, and so on.
 *
 * Where Halyard and aedes disagree on a detail, aedes' reference store decides, because its
 * abstract suite is the contract:
 * - `subscriptionsByTopic` / `countOffline` only know QoS > 0 subscriptions (aedes queues
 *   nothing for QoS 0), and list `#` filters first, as qlobber does.
 * - `putWill` stamps `brokerId` and `clientId` onto the packet it is given.
 * - An inbound QoS 2 id written by Halyard's broker has no packet behind it (Halyard routes on
 *   PUBLISH), so `incomingGetPacket` reports it as missing.
 * - Finding a queued packet by `brokerCounter` or `messageId` reads the client's queue in
 *   order; aedes calls this once per delivered offline message, and queues are bounded by
 *   `maxQueuedMessages`.
 */
import { Readable } from 'node:stream'
import { MqttError } from '../protocol/errors.js'
import { ReasonCode } from '../protocol/reason-codes.js'
import {
  type AedesBroker, type AedesClient, type AedesPacket, type AedesSubscription, fromAedes, isRecord,
  normalizePacket, subscriptionFromAedes, subscriptionToAedes, toAedes,
} from './aedes-packets.js'
import { SubscriptionTable } from './subscription-table.js'
import type {
  PublishWrite, QueuedMessage, QueueState, SessionMeta, SessionRecord, Store, StoredMessage,
  SubscriptionRecord,
} from './types.js'

const QUEUE_ENTRY_DROPS = new Set(['messageId'])

const noSuchPacket = (): MqttError =>
  new MqttError('MQTT_STORE_NO_SUCH_PACKET', ReasonCode.PacketIdentifierNotFound, 'no such packet')

async function* mapAsync<T, U>(source: AsyncIterable<T>, fn: (item: T) => U): AsyncGenerator<U> {
  for await (const item of source) yield fn(item)
}

function outgoingView(entry: QueuedMessage): AedesPacket {
  // aedes replaces the PUBLISH with its PUBREL once PUBREC arrives; `released` is that state.
  if (entry.state === 'released') return { cmd: 'pubrel', messageId: entry.messageId }
  const packet = toAedes(entry)
  if (entry.qos > 0) packet.messageId = entry.messageId
  return packet
}

export abstract class AedesAdapter implements Store {
  /** Both stores keep every subscription in memory; see SubscriptionTable. */
  protected readonly subs = new SubscriptionTable()
  #broker: AedesBroker | undefined
  #isDestroyed = false

  abstract open(): Promise<void>
  abstract close(): Promise<void>
  abstract nextSeq(): number
  abstract commit(write: PublishWrite): Promise<void>
  abstract retainedBatches(filters: string[]): AsyncIterable<StoredMessage[]>
  abstract countRetained(): Promise<number>
  abstract getSession(clientId: string): Promise<SessionRecord | undefined>
  abstract sessions(): AsyncIterable<SessionRecord>
  abstract putSessionMeta(meta: SessionMeta): Promise<void>
  abstract deleteSession(clientId: string): Promise<void>
  abstract putSubscriptions(clientId: string, subs: SubscriptionRecord[]): Promise<void>
  abstract queue(clientId: string): AsyncIterable<QueuedMessage>
  abstract queueLength(clientId: string): Promise<number>
  abstract queueLengths(): Promise<Map<string, number>>
  abstract removeQueuedMany(clientId: string, seqs: readonly number[]): Promise<void>
  abstract updateQueued(clientId: string, seq: number, state: QueueState, messageId?: number): Promise<void>
  abstract removeQueued(clientId: string, seq: number): Promise<void>
  abstract hasIncoming(clientId: string, messageId: number): Promise<boolean>
  abstract removeIncoming(clientId: string, messageId: number): Promise<void>
  abstract incomingIds(clientId: string): Promise<number[]>

  protected abstract deleteSubscriptions(clientId: string, filters: string[]): Promise<void>
  /** `undefined` when the id is not stored; `{}` when it is, with no packet behind it. */
  protected abstract loadIncoming(clientId: string, messageId: number): Promise<{ message?: StoredMessage } | undefined>
  protected abstract saveIncoming(clientId: string, messageId: number, message: StoredMessage): Promise<void>
  /** Overwrites the queue entry with the same `seq`, which must exist. */
  protected abstract replaceQueued(clientId: string, message: QueuedMessage): Promise<void>
  protected abstract loadWill(clientId: string): Promise<AedesPacket | undefined>
  /** `undefined` deletes. */
  protected abstract saveWill(clientId: string, will: AedesPacket | undefined): Promise<void>
  protected abstract allWills(): AsyncIterable<AedesPacket>

  /** The broker given to `setup()` (aedes' suite reads it). */
  get broker(): AedesBroker | undefined {
    return this.#broker
  }

  async setup(broker: AedesBroker): Promise<void> {
    this.#broker = broker
    await this.open()
  }

  async destroy(): Promise<void> {
    if (this.#isDestroyed) throw new MqttError('MQTT_STORE_DESTROYED', ReasonCode.UnspecifiedError, 'destroy() called twice')
    this.#isDestroyed = true
    await this.close()
  }

  async storeRetained(packet: AedesPacket): Promise<void> {
    await this.commit({ retained: fromAedes(packet) })
  }

  /** `retainedBatches`, one message at a time. */
  async *retainedMatching(filters: string[]): AsyncGenerator<StoredMessage> {
    for await (const batch of this.retainedBatches(filters)) yield* batch
  }

  createRetainedStream(pattern: string): Readable {
    return this.createRetainedStreamCombi([pattern])
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(mapAsync(this.retainedMatching(patterns), toAedes))
  }

  async addSubscriptions(client: AedesClient, subs: AedesSubscription[]): Promise<void> {
    await this.putSubscriptions(client.id, subs.map(subscriptionFromAedes))
  }

  /**
   * The one name both interfaces use: Halyard passes a client id, aedes a client. Either way
   * the filters are removed (the store's own work is `deleteSubscriptions`).
   */
  async removeSubscriptions(client: string | AedesClient, filters: string[]): Promise<void> {
    await this.deleteSubscriptions(typeof client === 'string' ? client : client.id, filters)
  }

  async subscriptionsByClient(client: AedesClient): Promise<AedesSubscription[]> {
    return this.subs.get(client.id).map(subscriptionToAedes)
  }

  async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    let subsCount = 0
    let clientsCount = 0
    for (const [, subs] of this.subs.entries()) {
      clientsCount++
      for (const sub of subs) if (sub.qos > 0) subsCount++
    }
    return { subsCount, clientsCount }
  }

  async subscriptionsByTopic(topic: string): Promise<Array<AedesSubscription & { clientId: string }>> {
    const found: Array<AedesSubscription & { clientId: string }> = []
    for (const [clientId, sub] of this.subs.matching(topic)) {
      if (sub.qos === 0) continue
      const { subscriptionIdentifier: _omitted, ...rest } = subscriptionToAedes(sub)
      found.push({ clientId, ...rest })
    }
    const rank = (s: AedesSubscription): number => (s.topic.endsWith('#') ? 0 : 1)
    return found.sort((a, b) => rank(a) - rank(b))
  }

  async cleanSubscriptions(client: AedesClient): Promise<void> {
    const filters = this.subs.get(client.id).map((sub) => sub.filter)
    if (filters.length > 0) await this.deleteSubscriptions(client.id, filters)
  }

  async outgoingEnqueue(sub: { clientId: string }, packet: AedesPacket): Promise<void> {
    await this.outgoingEnqueueCombi([sub], packet)
  }

  async outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: AedesPacket): Promise<void> {
    const stored = fromAedes(normalizePacket(packet), QUEUE_ENTRY_DROPS)
    await this.commit({
      enqueue: subs.map((sub) => ({
        clientId: sub.clientId,
        message: { ...stored, seq: this.nextSeq(), state: 'queued' },
      })),
    })
  }

  async outgoingUpdate(client: AedesClient, packet: AedesPacket): Promise<void> {
    const { messageId } = packet
    if (typeof messageId !== 'number') throw noSuchPacket()
    const isPubrel = packet.cmd === 'pubrel'
    for await (const entry of this.queue(client.id)) {
      const brokerId = entry.foreign?.brokerId
      if (!isPubrel && brokerId === packet.brokerId) {
        // Same broker: the packet is identified by its counter, as messageIds wrap around.
        if (entry.foreign?.brokerCounter !== packet.brokerCounter) continue
        await this.updateQueued(client.id, entry.seq, 'sent', messageId)
        return
      }
      if (entry.messageId !== messageId) continue
      if (isPubrel) {
        await this.updateQueued(client.id, entry.seq, 'released', messageId)
      } else {
        const replacement = fromAedes(normalizePacket(packet), QUEUE_ENTRY_DROPS)
        await this.replaceQueued(client.id, { ...replacement, seq: entry.seq, state: 'sent', messageId })
      }
      return
    }
    throw noSuchPacket()
  }

  async outgoingClearMessageId(client: AedesClient, packet: AedesPacket): Promise<AedesPacket | undefined> {
    // aedes' suite passes a bare number here and expects no error.
    const messageId = isRecord(packet) ? packet.messageId : undefined
    if (typeof messageId !== 'number') return undefined
    for await (const entry of this.queue(client.id)) {
      if (entry.messageId !== messageId) continue
      await this.removeQueued(client.id, entry.seq)
      return outgoingView(entry)
    }
    return undefined
  }

  outgoingStream(client: AedesClient): Readable {
    return Readable.from(mapAsync(this.queue(client.id), outgoingView))
  }

  async incomingStorePacket(client: AedesClient, packet: AedesPacket): Promise<void> {
    const { messageId } = packet
    if (typeof messageId !== 'number') throw noSuchPacket()
    const normalized = normalizePacket(packet)
    normalized.messageId = messageId
    await this.saveIncoming(client.id, messageId, fromAedes(normalized))
  }

  async incomingGetPacket(client: AedesClient, packet: AedesPacket): Promise<AedesPacket> {
    const { messageId } = packet
    const found = typeof messageId === 'number' ? await this.loadIncoming(client.id, messageId) : undefined
    if (found?.message === undefined) throw noSuchPacket()
    return toAedes(found.message)
  }

  async incomingDelPacket(client: AedesClient, packet: AedesPacket): Promise<void> {
    const { messageId } = packet
    if (typeof messageId !== 'number' || !(await this.hasIncoming(client.id, messageId))) throw noSuchPacket()
    await this.removeIncoming(client.id, messageId)
  }

  async cleanIncoming(client: AedesClient): Promise<void> {
    const ids = await this.incomingIds(client.id)
    // Issued together, so the level store's group commit writes them as one batch.
    await Promise.all(ids.map((id) => this.removeIncoming(client.id, id)))
  }

  async putWill(client: AedesClient, packet: AedesPacket): Promise<void> {
    // Stamped onto the caller's object, as aedes' reference store does (its suite checks it).
    packet.brokerId = this.#broker?.id
    packet.clientId = client.id
    await this.saveWill(client.id, { ...packet })
  }

  async getWill(client: AedesClient): Promise<AedesPacket | undefined> {
    return this.loadWill(client.id)
  }

  async delWill(client: AedesClient): Promise<AedesPacket | undefined> {
    const will = await this.loadWill(client.id)
    if (will !== undefined) await this.saveWill(client.id, undefined)
    return will
  }

  streamWill(brokers: Record<string, unknown> = {}): Readable {
    async function* orphaned(wills: AsyncIterable<AedesPacket>): AsyncGenerator<AedesPacket> {
      for await (const will of wills) {
        if (typeof will.brokerId !== 'string' || !brokers[will.brokerId]) yield will
      }
    }
    return Readable.from(orphaned(this.allWills()))
  }

  getClientList(topic: string): Readable {
    return Readable.from(this.subs.clientsWith(topic))
  }
}
