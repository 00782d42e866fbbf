import type { PublishPacket } from '../protocol/index.js'

/**
 * Server-to-client topic aliases (5.0, optional): the first PUBLISH on a topic carries the topic
 * and an alias, later ones only the alias. Never more aliases than the client's Topic Alias
 * Maximum [MQTT-3.3.2-8]; when they run out, the oldest alias is reassigned.
 */
export class OutboundAliases {
  readonly #max: number
  readonly #byTopic = new Map<string, number>()
  #next = 1
  readonly #free: number[] = []

  constructor(max: number) {
    this.#max = max
  }

  forget(topic: string): void {
    const alias = this.#byTopic.get(topic)
    if (alias === undefined) return
    this.#byTopic.delete(topic)
    this.#free.push(alias)
  }

  /** Rewrites `packet` in place to use an alias. */
  apply(packet: PublishPacket): void {
    const known = this.#byTopic.get(packet.topic)
    if (known !== undefined) {
      packet.properties = { ...packet.properties, topicAlias: known }
      packet.topic = ''
      return
    }
    let alias: number
    const freed = this.#free.pop()
    if (freed !== undefined) {
      alias = freed
    } else if (this.#next <= this.#max) {
      alias = this.#next++
    } else {
      // Reuse the alias of the topic that got one longest ago (Map keeps insertion order).
      const [oldest, oldAlias] = this.#byTopic.entries().next().value as [string, number]
      this.#byTopic.delete(oldest)
      alias = oldAlias
    }
    this.#byTopic.set(packet.topic, alias)
    packet.properties = { ...packet.properties, topicAlias: alias }
  }
}
