/** Small rules both stores apply the same way. */
import type { TopicIndex } from '../topic/index.js'
import type { QueuedMessage, StoredMessage } from './types.js'

/** [MQTT-3.3.2-5] a message past its Message Expiry Interval must not be delivered. */
export const isExpired = (message: StoredMessage, now: number): boolean =>
  message.expiresAt !== undefined && message.expiresAt <= now

/** Retained topics matched by any of the filters, each once, found by walking the index. */
export function matchingTopics(index: TopicIndex, filters: readonly string[]): string[] {
  const found: string[] = []
  for (const filter of filters) index.collect(filter, found)
  return filters.length === 1 ? found : [...new Set(found)]
}

/** The value under `key`, created and stored first if there is none. */
export function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key)
  if (value === undefined) {
    value = create()
    map.set(key, value)
  }
  return value
}

/**
 * A queue entry for `message`: the message's own fields (every field of `StoredMessage`) plus
 * the delivery's. Written out field by field rather than as `{ ...message, ... }`: an object
 * spread with optional members takes V8's slow path, and this runs once per persistent
 * subscriber of every QoS 1/2 message (a tenth of a QoS 1 profile).
 */
export function toQueued(
  message: StoredMessage,
  delivery: { qos: QueuedMessage['qos']; retain: boolean; seq: number | undefined; subscriptionIds?: number[] | undefined; shared?: string | undefined },
): QueuedMessage {
  const queued: QueuedMessage = {
    topic: message.topic,
    payload: message.payload,
    qos: delivery.qos,
    retain: delivery.retain,
    seq: delivery.seq ?? 0,
    state: 'queued',
  }
  if (message.properties !== undefined) queued.properties = message.properties
  if (message.expiresAt !== undefined) queued.expiresAt = message.expiresAt
  if (message.origin !== undefined) queued.origin = message.origin
  if (message.foreign !== undefined) queued.foreign = message.foreign
  if (delivery.subscriptionIds !== undefined) queued.subscriptionIds = delivery.subscriptionIds
  if (delivery.shared !== undefined) queued.shared = delivery.shared
  return queued
}
