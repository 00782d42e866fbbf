/**
 * The subscription trie: which (filter, key) entries match a published topic name?
 *
 * One node per filter level. Literal levels live in a `Map` keyed by the level text; the two
 * wildcards get their own `plus` and `hash` slots, so the walk never compares a level against
 * '+' or '#' and a literal level spelled like a wildcard cannot exist. Subscribing and
 * unsubscribing touch one node per level. Matching a topic of L levels follows, at each node,
 * at most the literal child for the next level plus the `+` child, and reports the `#` child
 * on the way past; it never looks at filters that cannot match, however many there are.
 *
 * `#` matches zero or more levels, so the `#` child of the node for `sport` is reported for
 * the topic `sport` itself [MQTT-4.7.1-2]. Empty levels are ordinary map keys (`a//b`, `/a`).
 * A topic starting with `$` skips the root's `+` and `#` children [MQTT-4.7.2-1].
 *
 * The trie knows nothing of clients or shared subscriptions: callers strip `$share/{group}/`
 * and choose keys (a client id, a group name) that fit. Filters are assumed valid; see
 * `validateTopicFilter`.
 *
 * `match` runs for every PUBLISH, so it allocates nothing per match: entries sit in parallel
 * arrays read by index (a `for...of` over a Map would allocate an iterator and an entry pair),
 * the walk is a plain recursive function rather than closures, and the filter string is kept
 * on its node instead of being rebuilt for each visit.
 */

/** Past this many entries a node indexes its keys in a Map; below, a scan is as quick. */
const SLOT_MAP_FROM = 8

/**
 * The entries of a filter with two or more (one lives on its node: see TrieNode). The key
 * index is only built once there are enough keys to need it: a Map's table alone is larger
 * than a small node.
 */
class Entries<T> {
  readonly keys: string[]
  readonly values: T[]
  /** key → index into `keys` and `values`, for O(1) replace and swap-remove; see SLOT_MAP_FROM. */
  #slots: Map<string, number> | undefined

  constructor(first: [string, T], second: [string, T]) {
    this.keys = [first[0], second[0]]
    this.values = [first[1], second[1]]
  }

  slotOf(key: string): number | undefined {
    if (this.#slots !== undefined) return this.#slots.get(key)
    const i = this.keys.indexOf(key)
    return i === -1 ? undefined : i
  }

  push(key: string, value: T): void {
    const slot = this.keys.length
    this.keys.push(key)
    this.values.push(value)
    if (this.#slots !== undefined) {
      this.#slots.set(key, slot)
    } else if (this.keys.length > SLOT_MAP_FROM) {
      this.#slots = new Map(this.keys.map((k, i) => [k, i]))
    }
  }

  /** Swap-remove: the last entry moves into the freed slot so the arrays stay dense. */
  removeAt(slot: number): void {
    const { keys, values } = this
    const last = keys.length - 1
    const key = keys[slot] as string
    if (slot !== last) {
      const movedKey = keys[last] as string
      keys[slot] = movedKey
      values[slot] = values[last] as T
      this.#slots?.set(movedKey, slot)
    }
    keys.pop()
    values.pop()
    this.#slots?.delete(key)
  }
}

/**
 * One filter level. The entries of the filter that ends here are held in one of three ways:
 * none; exactly one, in `soleKey` / `soleValue` (a device's own command topic: the common
 * case, and an `Entries` with its two arrays costs three times the node); or two and more, all
 * in `entries`.
 */
class TrieNode<T> {
  children: Map<string, TrieNode<T>> | undefined = undefined
  plus: TrieNode<T> | undefined = undefined
  hash: TrieNode<T> | undefined = undefined
  entries: Entries<T> | undefined = undefined
  soleKey: string | undefined = undefined
  soleValue: T | undefined = undefined
  /** The filter that ends at this node; set with the first entry. */
  filter = ''

  isEmpty(): boolean {
    return this.entries === undefined && this.soleKey === undefined && this.children === undefined &&
      this.plus === undefined && this.hash === undefined
  }
}

export type TrieVisitor<T> = (value: T, key: string, filter: string) => void

export class TopicTrie<T> {
  #root = new TrieNode<T>()
  #size = 0
  /** Nonzero while `match` runs; changing entries then would make the walk skip or repeat. */
  #matchDepth = 0

  /** Number of (filter, key) entries. */
  get size(): number {
    return this.#size
  }

  /** Stores `value` under (filter, key). True if the entry is new, false if it replaced one. */
  add(filter: string, key: string, value: T): boolean {
    this.#assertNotMatching('add')
    const levels = filter.split('/')
    let node = this.#root
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i] as string
      if (level === '#') {
        if (i !== levels.length - 1) {
          throw new Error(`TopicTrie.add: '#' before the last level in "${filter}"; validate filters before adding them`)
        }
        node = node.hash ??= new TrieNode<T>()
      } else if (level === '+') {
        node = node.plus ??= new TrieNode<T>()
      } else {
        node.children ??= new Map()
        let child = node.children.get(level)
        if (child === undefined) {
          child = new TrieNode<T>()
          node.children.set(level, child)
        }
        node = child
      }
    }

    if (node.soleKey === key) {
      node.soleValue = value
      return false
    }
    const entries = node.entries
    if (entries !== undefined) {
      const slot = entries.slotOf(key)
      if (slot !== undefined) {
        entries.values[slot] = value
        return false
      }
      entries.push(key, value)
    } else if (node.soleKey === undefined) {
      node.soleKey = key
      node.soleValue = value
      node.filter = filter
    } else {
      // A second entry: both go to an Entries.
      node.entries = new Entries<T>([node.soleKey, node.soleValue as T], [key, value])
      node.soleKey = undefined
      node.soleValue = undefined
    }
    this.#size++
    return true
  }

  get(filter: string, key: string): T | undefined {
    const node = this.#find(filter)
    if (node === undefined) return undefined
    if (node.soleKey === key) return node.soleValue
    const entries = node.entries
    if (entries === undefined) return undefined
    const slot = entries.slotOf(key)
    return slot === undefined ? undefined : entries.values[slot]
  }

  /** Removes (filter, key) and returns its value, pruning nodes left empty. */
  remove(filter: string, key: string): T | undefined {
    this.#assertNotMatching('remove')
    const levels = filter.split('/')
    const path: Array<TrieNode<T>> = [this.#root]
    let node: TrieNode<T> | undefined = this.#root
    for (const level of levels) {
      node = step(node, level)
      if (node === undefined) return undefined
      path.push(node)
    }

    let value: T
    if (node.soleKey === key) {
      value = node.soleValue as T
      node.soleKey = undefined
      node.soleValue = undefined
    } else {
      const entries = node.entries
      const slot = entries?.slotOf(key)
      if (entries === undefined || slot === undefined) return undefined
      value = entries.values[slot] as T
      entries.removeAt(slot)
      if (entries.keys.length === 1) {
        // Back to one: it moves to the node itself.
        node.soleKey = entries.keys[0]
        node.soleValue = entries.values[0]
        node.entries = undefined
      }
    }
    this.#size--

    for (let i = levels.length; i > 0 && (path[i] as TrieNode<T>).isEmpty(); i--) {
      unlink(path[i - 1] as TrieNode<T>, levels[i - 1] as string)
    }
    return value
  }

  clear(): void {
    this.#assertNotMatching('clear')
    this.#root = new TrieNode<T>()
    this.#size = 0
  }

  /**
   * Calls `visit` once for every (filter, key) whose filter matches `topic`, in no promised
   * order. `visit` may call `match` again but must not add or remove entries: collect changes
   * and apply them after the walk.
   */
  match(topic: string, visit: TrieVisitor<T>): void {
    const levels = topic.split('/')
    this.#matchDepth++
    try {
      if (topic.charCodeAt(0) === 0x24 /* '$' */) {
        // [MQTT-4.7.2-1] only a literal first level can match a `$` topic.
        const child = this.#root.children?.get(levels[0] as string)
        if (child !== undefined) walk(child, levels, 1, visit)
      } else {
        walk(this.#root, levels, 0, visit)
      }
    } finally {
      this.#matchDepth--
    }
  }

  #find(filter: string): TrieNode<T> | undefined {
    let node: TrieNode<T> | undefined = this.#root
    for (const level of filter.split('/')) {
      node = step(node, level)
      if (node === undefined) return undefined
    }
    return node
  }

  #assertNotMatching(operation: string): void {
    if (this.#matchDepth > 0) {
      throw new Error(`TopicTrie.${operation} called from inside match(); collect the change and apply it after the walk`)
    }
  }
}

function walk<T>(node: TrieNode<T>, levels: string[], depth: number, visit: TrieVisitor<T>): void {
  // Reported before the depth check: `#` also matches when no levels remain.
  if (node.hash !== undefined) report(node.hash, visit)
  if (depth === levels.length) {
    report(node, visit)
    return
  }
  if (node.plus !== undefined) walk(node.plus, levels, depth + 1, visit)
  const child = node.children?.get(levels[depth] as string)
  if (child !== undefined) walk(child, levels, depth + 1, visit)
}

function report<T>(node: TrieNode<T>, visit: TrieVisitor<T>): void {
  if (node.soleKey !== undefined) {
    visit(node.soleValue as T, node.soleKey, node.filter)
    return
  }
  const entries = node.entries
  if (entries === undefined) return
  const { keys, values } = entries
  const filter = node.filter
  for (let i = 0; i < keys.length; i++) visit(values[i] as T, keys[i] as string, filter)
}

function step<T>(node: TrieNode<T>, level: string): TrieNode<T> | undefined {
  if (level === '#') return node.hash
  if (level === '+') return node.plus
  return node.children?.get(level)
}

function unlink<T>(parent: TrieNode<T>, level: string): void {
  if (level === '#') {
    parent.hash = undefined
  } else if (level === '+') {
    parent.plus = undefined
  } else if (parent.children !== undefined) {
    parent.children.delete(level)
    if (parent.children.size === 0) parent.children = undefined
  }
}
