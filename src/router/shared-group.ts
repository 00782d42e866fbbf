import type { SharedStrategy, SubscriptionEntry } from './types.js'

/**
 * The members of one `$share/{group}/{filter}` subscription. Each message goes to one member
 * (MQTT 5.0 section 4.8.2): connected members are preferred, so a message only waits in an offline
 * member's queue when nobody in the group is connected.
 */
export class SharedGroup {
  readonly name: string
  readonly filter: string
  readonly #members = new Map<string, SubscriptionEntry>()
  #list: SubscriptionEntry[] = []
  #next = 0
  readonly #strategy: SharedStrategy

  constructor(name: string, filter: string, strategy: SharedStrategy) {
    this.name = name
    this.filter = filter
    this.#strategy = strategy
  }

  get size(): number {
    return this.#members.size
  }

  get(clientId: string): SubscriptionEntry | undefined {
    return this.#members.get(clientId)
  }

  /** Returns true when the client was not a member before. */
  set(entry: SubscriptionEntry): boolean {
    const isNew = !this.#members.has(entry.subscriber.clientId)
    this.#members.set(entry.subscriber.clientId, entry)
    this.#list = [...this.#members.values()]
    return isNew
  }

  delete(clientId: string): boolean {
    const had = this.#members.delete(clientId)
    if (had) this.#list = [...this.#members.values()]
    return had
  }

  /** Picks the member for one message, or undefined if the group is empty. */
  pick(exclude?: string): SubscriptionEntry | undefined {
    const list = this.#list
    const n = list.length
    if (n === 0) return undefined
    switch (this.#strategy) {
      case 'round-robin': return this.#roundRobin(list, exclude)
      case 'random': return this.#random(list, exclude)
      case 'least-inflight': return this.#leastInflight(list, exclude)
    }
  }

  #usable(entry: SubscriptionEntry, exclude: string | undefined, needOnline: boolean): boolean {
    if (entry.subscriber.clientId === exclude) return false
    return !needOnline || entry.subscriber.isOnline
  }

  #roundRobin(list: SubscriptionEntry[], exclude: string | undefined): SubscriptionEntry | undefined {
    for (const needOnline of [true, false]) {
      for (let i = 0; i < list.length; i++) {
        const idx = (this.#next + i) % list.length
        const entry = list[idx]
        if (entry !== undefined && this.#usable(entry, exclude, needOnline)) {
          this.#next = (idx + 1) % list.length
          return entry
        }
      }
    }
    return undefined
  }

  #random(list: SubscriptionEntry[], exclude: string | undefined): SubscriptionEntry | undefined {
    const online = list.filter((e) => this.#usable(e, exclude, true))
    const pool = online.length > 0 ? online : list.filter((e) => this.#usable(e, exclude, false))
    return pool[Math.floor(Math.random() * pool.length)]
  }

  #leastInflight(list: SubscriptionEntry[], exclude: string | undefined): SubscriptionEntry | undefined {
    let best: SubscriptionEntry | undefined
    for (const needOnline of [true, false]) {
      for (const entry of list) {
        if (!this.#usable(entry, exclude, needOnline)) continue
        if (best === undefined || entry.subscriber.inflightCount < best.subscriber.inflightCount) best = entry
      }
      if (best !== undefined) return best
    }
    return undefined
  }
}
