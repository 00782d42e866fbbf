/**
 * A set of topic NAMES (retained-message topics, say) that answers "which of you does this
 * FILTER match?" without looking at every name.
 *
 * The names are stored in a trie, one node per level. A query walks the trie by the filter's
 * levels: a literal level follows one child, `+` follows every child, and `#` takes the whole
 * subtree below (and including) the node it stands at, because `#` also matches the parent
 * level. A filter with a literal first level therefore never visits the other top-level
 * branches.
 *
 * Empty levels are ordinary levels: `a//b` is three levels with an empty middle one, and `/a`
 * starts with an empty level.
 */

interface IndexNode {
  /** Made with the first child: most nodes are leaves (one per retained topic, say). */
  children: Map<string, IndexNode> | undefined
  /** The full topic name if a stored topic ends here; keeps `matching` from re-joining levels. */
  topic: string | undefined
}

const newNode = (): IndexNode => ({ children: undefined, topic: undefined })

export class TopicIndex {
  #root: IndexNode = newNode()
  #size = 0

  get size(): number {
    return this.#size
  }

  add(topic: string): void {
    let node = this.#root
    for (const level of topic.split('/')) {
      node.children ??= new Map()
      let child = node.children.get(level)
      if (child === undefined) {
        child = newNode()
        node.children.set(level, child)
      }
      node = child
    }
    if (node.topic === undefined) {
      node.topic = topic
      this.#size++
    }
  }

  has(topic: string): boolean {
    return this.#find(topic)?.topic !== undefined
  }

  delete(topic: string): boolean {
    const levels = topic.split('/')
    const path: IndexNode[] = [this.#root]
    let node = this.#root
    for (const level of levels) {
      const child = node.children?.get(level)
      if (child === undefined) return false
      path.push(child)
      node = child
    }
    if (node.topic === undefined) return false
    node.topic = undefined
    this.#size--

    // Prune from the leaf up so a churn of short-lived topics does not leave a trie of empty
    // branches behind; stop at the first node that still holds a topic or other children.
    for (let i = levels.length; i > 0; i--) {
      const current = path[i] as IndexNode
      if (current.topic !== undefined || current.children !== undefined) break
      const parent = path[i - 1] as IndexNode
      parent.children?.delete(levels[i - 1] as string)
      if (parent.children?.size === 0) parent.children = undefined
    }
    return true
  }

  clear(): void {
    this.#root = newNode()
    this.#size = 0
  }

  /**
   * Yields every stored topic that `filter` matches, each once, in no promised order. The
   * filter must be valid and stripped of any `$share/{group}/` prefix.
   *
   * The matches are taken when the first one is asked for: topics added or deleted while the
   * generator is suspended are not seen.
   */
  *matching(filter: string): Generator<string> {
    const found: string[] = []
    this.collect(filter, found)
    yield* found
  }

  /**
   * Appends every stored topic that `filter` matches to `out`, each once, in no promised order:
   * what `matching` yields, without a generator step per topic (a `#` subscription to 100,000
   * retained messages takes them all at once).
   */
  collect(filter: string, out: string[]): void {
    const levels = filter.split('/')
    // An explicit stack rather than recursive generators: each nested generator would add a
    // hop to every yielded value, and `#` at the top of a deep tree would nest deeply.
    const nodes: IndexNode[] = [this.#root]
    const depths: number[] = [0]

    while (nodes.length > 0) {
      const node = nodes.pop() as IndexNode
      const depth = depths.pop() as number

      if (depth === levels.length) {
        if (node.topic !== undefined) out.push(node.topic)
        continue
      }

      const level = levels[depth] as string
      // [MQTT-4.7.2-1] a leading wildcard does not match topics that begin with `$`.
      const skipDollar = depth === 0

      if (level === '#') {
        subtree(node, skipDollar, out)
      } else if (level === '+') {
        for (const [name, child] of node.children ?? []) {
          if (skipDollar && name.startsWith('$')) continue
          nodes.push(child)
          depths.push(depth + 1)
        }
      } else {
        const child = node.children?.get(level)
        if (child !== undefined) {
          nodes.push(child)
          depths.push(depth + 1)
        }
      }
    }
  }

  #find(topic: string): IndexNode | undefined {
    let node: IndexNode | undefined = this.#root
    for (const level of topic.split('/')) {
      node = node.children?.get(level)
      if (node === undefined) return undefined
    }
    return node
  }
}

/** Every topic at or below `start`, for a `#` level. */
function subtree(start: IndexNode, skipDollar: boolean, out: string[]): void {
  if (start.topic !== undefined) out.push(start.topic)
  const stack: IndexNode[] = []
  for (const [name, child] of start.children ?? []) {
    if (skipDollar && name.startsWith('$')) continue
    stack.push(child)
  }
  while (stack.length > 0) {
    const node = stack.pop() as IndexNode
    if (node.topic !== undefined) out.push(node.topic)
    if (node.children !== undefined) for (const child of node.children.values()) stack.push(child)
  }
}
