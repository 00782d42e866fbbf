import t from 'tap'
import { TopicTrie, topicMatches } from '../../../src/topic/index.js'
import { bindings, filterOf, queries } from './fixtures/table.js'
import { randomFilter, randomTopic, seeded } from './fixtures/random.js'

/** Every (key, filter) the trie reports for `topic`, as sorted `key filter` strings. */
function matched<T>(trie: TopicTrie<T>, topic: string): string[] {
  const out: string[] = []
  trie.match(topic, (_value, key, filter) => out.push(`${key} ${filter}`))
  return out.sort()
}

const expectedFor = (keys: readonly string[]): string[] => keys.map((key) => `${key} ${filterOf(key)}`).sort()

void t.test('reports exactly the fixture table\'s keys for every topic', async (t) => {
  const trie = new TopicTrie<string>()
  for (const [filter, key] of bindings) t.ok(trie.add(filter, key, `${key}:${filter}`))
  t.equal(trie.size, bindings.length)
  for (const [topic, keys] of queries) t.same(matched(trie, topic), expectedFor(keys), topic)
})

void t.test('passes each entry\'s own value, key and filter to visit', async (t) => {
  const trie = new TopicTrie<{ id: number }>()
  const one = { id: 1 }
  const two = { id: 2 }
  trie.add('a/+', 'c1', one)
  trie.add('a/#', 'c1', two)
  const seen: Array<[{ id: number }, string, string]> = []
  trie.match('a/b', (value, key, filter) => seen.push([value, key, filter]))
  seen.sort((x, y) => x[0].id - y[0].id)
  t.equal(seen.length, 2)
  t.equal(seen[0]?.[0], one)
  t.same(seen[0]?.slice(1), ['c1', 'a/+'])
  t.equal(seen[1]?.[0], two)
  t.same(seen[1]?.slice(1), ['c1', 'a/#'])
})

void t.test('add replaces the value of an existing (filter, key) and says so', async (t) => {
  const trie = new TopicTrie<number>()
  t.equal(trie.add('a/b', 'k', 1), true)
  t.equal(trie.add('a/b', 'k', 2), false)
  t.equal(trie.add('a/b', 'other', 3), true)
  t.equal(trie.add('a/+', 'k', 4), true, 'same key under another filter is another entry')
  t.equal(trie.size, 3)
  t.equal(trie.get('a/b', 'k'), 2)
  t.equal(trie.get('a/b', 'other'), 3)
  t.equal(trie.get('a/+', 'k'), 4)
  t.equal(trie.get('a/#', 'k'), undefined)
  t.equal(trie.get('a', 'k'), undefined, 'an inner node holds no entry')
  t.equal(trie.get('a/b/c', 'k'), undefined)
})

void t.test('remove returns the value, prunes empty nodes and keeps siblings', async (t) => {
  const trie = new TopicTrie<string>()
  trie.add('a/b/c', 'k1', 'v1')
  trie.add('a/b/c', 'k2', 'v2')
  trie.add('a/b/c', 'k3', 'v3')
  trie.add('a/+/#', 'k1', 'w1')
  trie.add('a', 'k1', 'x1')

  t.equal(trie.remove('a/b/c', 'k1'), 'v1')
  t.equal(trie.remove('a/b/c', 'k1'), undefined, 'removing twice')
  t.equal(trie.remove('a/b/c', 'nobody'), undefined)
  t.equal(trie.remove('a/b/c/d', 'k2'), undefined)
  t.equal(trie.remove('a/b', 'k2'), undefined)
  t.equal(trie.size, 4)
  t.same(matched(trie, 'a/b/c'), ['k1 a/+/#', 'k2 a/b/c', 'k3 a/b/c'], 'swap-remove kept the others')
  t.equal(trie.get('a/b/c', 'k3'), 'v3')

  t.equal(trie.remove('a/b/c', 'k3'), 'v3')
  t.equal(trie.remove('a/b/c', 'k2'), 'v2')
  t.equal(trie.remove('a/+/#', 'k1'), 'w1')
  t.same(matched(trie, 'a/b/c'), [])
  t.same(matched(trie, 'a'), ['k1 a'], 'the parent entry survives pruning below it')
  t.equal(trie.remove('a', 'k1'), 'x1')
  t.equal(trie.size, 0)

  // A pruned path can be rebuilt and reports its new filter.
  trie.add('a/b/c', 'k9', 'v9')
  t.same(matched(trie, 'a/b/c'), ['k9 a/b/c'])
})

void t.test('clear empties the trie', async (t) => {
  const trie = new TopicTrie<number>()
  trie.add('#', 'a', 1)
  trie.add('x/y', 'b', 2)
  trie.clear()
  t.equal(trie.size, 0)
  t.same(matched(trie, 'x/y'), [])
  t.equal(trie.add('#', 'a', 1), true)
})

void t.test('# matches the parent level [MQTT-4.7.1-2]', async (t) => {
  const trie = new TopicTrie<null>()
  trie.add('sport/tennis/player1/#', 's', null)
  t.same(matched(trie, 'sport/tennis/player1'), ['s sport/tennis/player1/#'])
  t.same(matched(trie, 'sport/tennis/player1/ranking'), ['s sport/tennis/player1/#'])
  t.same(matched(trie, 'sport/tennis/player1/score/wimbledon'), ['s sport/tennis/player1/#'])
  t.same(matched(trie, 'sport/tennis'), [])
  t.same(matched(trie, 'sport/tennis/player2'), [])
})

void t.test('$-topics are matched only by a literal first level [MQTT-4.7.2-1]', async (t) => {
  const trie = new TopicTrie<null>()
  for (const filter of ['#', '+', '+/#', '+/monitor/Clients', '$SYS/#', '$SYS/monitor/+', '$SYS']) trie.add(filter, 'k', null)
  t.same(matched(trie, '$SYS/monitor/Clients'), ['k $SYS/#', 'k $SYS/monitor/+'])
  t.same(matched(trie, '$SYS'), ['k $SYS', 'k $SYS/#'])
  t.same(matched(trie, '$other/monitor/Clients'), [])
  t.same(matched(trie, 'x/monitor/Clients'), ['k #', 'k +/#', 'k +/monitor/Clients'])
})

void t.test('empty levels are levels', async (t) => {
  const trie = new TopicTrie<null>()
  for (const filter of ['/', '+', '+/+', '/+', 'a//b', 'a/+/b', '//#']) trie.add(filter, 'k', null)
  t.same(matched(trie, '/'), ['k +/+', 'k /', 'k /+', 'k //#'])
  t.same(matched(trie, 'a//b'), ['k a/+/b', 'k a//b'])
  t.same(matched(trie, '//'), ['k //#'])
})

void t.test('add refuses a # before the last level, which validation should have caught', async (t) => {
  const trie = new TopicTrie<null>()
  t.throws(() => trie.add('a/#/b', 'k', null), /'#' before the last level/)
  t.equal(trie.size, 0)
})

void t.test('add and remove from inside match throw rather than corrupt the walk', async (t) => {
  const trie = new TopicTrie<number>()
  trie.add('a', 'k1', 1)
  trie.add('a', 'k2', 2)
  t.throws(() => trie.match('a', () => trie.remove('a', 'k2')), /inside match/)
  t.throws(() => trie.match('a', () => trie.add('b', 'k', 3)), /inside match/)
  t.throws(() => trie.match('a', () => trie.clear()), /inside match/)
  t.equal(trie.size, 2)
  // The guard resets after a throw, and nested matching is allowed.
  let inner = 0
  trie.match('a', () => trie.match('a', () => inner++))
  t.equal(inner, 4)
  t.equal(trie.add('b', 'k', 3), true)
})

void t.test('100,000 filters: matching follows only the branches that can match', async (t) => {
  const trie = new TopicTrie<number>()
  const filters: string[] = []
  for (let i = 0; i < 25_000; i++) {
    filters.push(`fleet/${i}/temp`, `fleet/${i}/+`, `site/${i % 500}/dev/${i}/#`, `+/${i}/status`)
  }
  filters.push('#', 'fleet/+/temp', '$SYS/#')
  filters.forEach((filter, i) => trie.add(filter, `c${i % 7}`, i))
  t.equal(trie.size, filters.length)

  const random = seeded(100_000)
  const samples = ['fleet/42/temp', 'fleet/24999/humidity', 'site/17/dev/517/x/y', 'site/17/dev/518', 'x/9/status', '$SYS/load', 'nowhere', 'fleet/25000/temp']
  for (let i = 0; i < 12; i++) samples.push(`fleet/${Math.floor(random() * 30_000)}/temp`, `site/${Math.floor(random() * 600)}/dev/${Math.floor(random() * 25_000)}`)

  // The walk itself never iterates a Map; counting lookups shows it stays on a few branches.
  const { get } = Map.prototype
  let lookups = 0
  const countingGet = function <K, V>(this: Map<K, V>, key: K): V | undefined {
    lookups++
    return get.call(this, key) as V | undefined
  }
  for (const topic of samples) {
    const expected = filters.filter((filter) => topicMatches(filter, topic)).sort()
    const seen: string[] = []
    lookups = 0
    Object.defineProperty(Map.prototype, 'get', { value: countingGet, configurable: true, writable: true })
    try {
      trie.match(topic, (_value, _key, filter) => seen.push(filter))
    } finally {
      Object.defineProperty(Map.prototype, 'get', { value: get, configurable: true, writable: true })
    }
    t.same(seen.sort(), expected, topic)
    t.ok(lookups <= 16, `${topic}: ${lookups} map lookups`)
  }
})

for (const seed of [3, 11, 4242]) {
  void t.test(`agrees with topicMatches on random filters and topics (seed ${seed})`, async (t) => {
    const random = seeded(seed)
    const trie = new TopicTrie<string>()
    const entries = new Map<string, string>()
    for (let i = 0; i < 600; i++) {
      const filter = randomFilter(random)
      const key = `c${Math.floor(random() * 5)}`
      const isNew = !entries.has(`${filter} ${key}`)
      t.equal(trie.add(filter, key, filter), isNew)
      entries.set(`${filter} ${key}`, filter)
    }
    // Remove some so swap-remove and pruning are part of what is checked.
    for (const [id, filter] of [...entries].filter(() => random() < 0.25)) {
      const key = id.slice(filter.length + 1)
      t.equal(trie.remove(filter, key), filter)
      entries.delete(id)
    }
    t.equal(trie.size, entries.size)

    let mismatches = 0
    for (let i = 0; i < 400; i++) {
      const topic = randomTopic(random)
      const expected = [...entries.keys()].filter((id) => topicMatches(entries.get(id) as string, topic)).sort()
      const actual: string[] = []
      trie.match(topic, (value, key, filter) => {
        if (value !== filter) t.fail(`value ${value} reported under filter ${filter}`)
        actual.push(`${filter} ${key}`)
      })
      actual.sort()
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        mismatches++
        t.same(actual, expected, `topic ${topic}`)
      }
    }
    t.equal(mismatches, 0)
  })
}
