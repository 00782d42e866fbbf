/** Small rules both stores apply the same way. */
import type { TopicIndex } from '../topic/index.js'
import type { StoredMessage } from './types.js'

/** [MQTT-3.3.2-5] a message past its Message Expiry Interval must not be delivered. */
export const isExpired = (message: StoredMessage, now: number): boolean =>
  message.expiresAt !== undefined && message.expiresAt <= now

/** Retained topics matched by any of the filters, each once, found by walking the index. */
export function matchingTopics(index: TopicIndex, filters: readonly string[]): string[] {
  if (filters.length === 1) return [...index.matching(filters[0] as string)]
  const topics = new Set<string>()
  for (const filter of filters) {
    for (const topic of index.matching(filter)) topics.add(topic)
  }
  return [...topics]
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
