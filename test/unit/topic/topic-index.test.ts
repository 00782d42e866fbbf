import t from 'tap'
import { TopicIndex, topicMatches } from '../../../src/topic/index.js'
import { bindings, queries } from './fixtures/table.js'
import { randomFilter, randomTopic, seeded } from './fixtures/random.js'

const sorted = (values: Iterable<string>): string[] => [...values].sort()

void t.test('returns, per fixture filter, exactly the topics the table says it matches', async (t) => {
  const index = new TopicIndex()
  for (const [topic] of queries) index.add(topic)
  t.equal(index.size, queries.length)

  for (const [filter, key] of bindings) {
    const expected = queries.filter(([, keys]) => keys.includes(key)).map(([topic]) => topic)
    t.same(sorted(index.matching(filter)), sorted(expected), filter)
  }
})

void t.test('add, has and delete keep size honest', async (t) => {
  const index = new TopicIndex()
  index.add('a/b')
  index.add('a/b')
  t.equal(index.size, 1, 'adding twice stores once')
  t.ok(index.has('a/b'))
  t.notOk(index.has('a'), 'an inner level is not a topic')
  t.notOk(index.has('a/b/c'))

  index.add('a')
  t.ok(index.has('a'))
  t.equal(index.size, 2)

  t.notOk(index.delete('a/b/c'), 'deleting what is not there')
  t.notOk(index.delete('x'))
  t.ok(index.delete('a/b'))
  t.notOk(index.delete('a/b'), 'deleting twice')
  t.equal(index.size, 1)
  t.ok(index.has('a'), 'deleting a child keeps its parent topic')
  t.same(sorted(index.matching('#')), ['a'])

  index.clear()
  t.equal(index.size, 0)
  t.same(sorted(index.matching('#')), [])
})

void t.test('deleting prunes branches so re-adding starts clean', async (t) => {
  const index = new TopicIndex()
  index.add('a/b/c/d')
  index.add('a/x')
  index.delete('a/b/c/d')
  t.same(sorted(index.matching('a/+/+/+')), [])
  t.same(sorted(index.matching('a/#')), ['a/x'])
  index.add('a/b/c/d')
  t.same(sorted(index.matching('a/+/+/+')), ['a/b/c/d'])
})

void t.test('# yields the parent topic itself [MQTT-4.7.1-2]', async (t) => {
  const index = new TopicIndex()
  for (const topic of ['sport', 'sport/tennis', 'sport/tennis/player1', 'sport/tennis/player1/ranking', 'sports']) {
    index.add(topic)
  }
  t.same(sorted(index.matching('sport/#')), ['sport', 'sport/tennis', 'sport/tennis/player1', 'sport/tennis/player1/ranking'])
  t.same(sorted(index.matching('sport/tennis/player1/#')), ['sport/tennis/player1', 'sport/tennis/player1/ranking'])
  t.same(sorted(index.matching('sport/+')), ['sport/tennis'])
})

void t.test('leading wildcards skip $-topics, literal $ filters find them [MQTT-4.7.2-1]', async (t) => {
  const index = new TopicIndex()
  for (const topic of ['$SYS/broker/uptime', '$SYS', '$share-like/x', 'a/$SYS', 'a']) index.add(topic)
  t.same(sorted(index.matching('#')), ['a', 'a/$SYS'])
  t.same(sorted(index.matching('+')), ['a'])
  t.same(sorted(index.matching('+/+/uptime')), [])
  t.same(sorted(index.matching('$SYS/#')), ['$SYS', '$SYS/broker/uptime'])
  t.same(sorted(index.matching('$SYS/+/uptime')), ['$SYS/broker/uptime'])
  t.same(sorted(index.matching('a/+')), ['a/$SYS'])
})

void t.test('empty levels are stored and matched as levels', async (t) => {
  const index = new TopicIndex()
  for (const topic of ['/', '//', '/a', 'a/', 'a//b', 'a']) index.add(topic)
  t.equal(index.size, 6)
  t.same(sorted(index.matching('/')), ['/'])
  t.same(sorted(index.matching('+/+')), ['/', '/a', 'a/'])
  t.same(sorted(index.matching('a/+/b')), ['a//b'])
  t.same(sorted(index.matching('/#')), ['/', '//', '/a'])
})

void t.test('a literal first level does not visit other top-level branches', async (t) => {
  const index = new TopicIndex()
  for (let i = 0; i < 1000; i++) index.add(`other${i}/x`)
  index.add('wanted/x')
  index.add('wanted/y')

  // Count how many trie entries the walk iterates over. A scan would iterate the root's
  // 1001 children; the walk should only iterate the two below `wanted`.
  const { entries, values } = Map.prototype
  let iterated = 0
  const countingEntries = function (this: Map<unknown, unknown>) {
    iterated += this.size
    return entries.call(this)
  }
  const countingValues = function (this: Map<unknown, unknown>) {
    iterated += this.size
    return values.call(this)
  }
  Object.defineProperty(Map.prototype, Symbol.iterator, { value: countingEntries, configurable: true, writable: true })
  Object.defineProperty(Map.prototype, 'entries', { value: countingEntries, configurable: true, writable: true })
  Object.defineProperty(Map.prototype, 'values', { value: countingValues, configurable: true, writable: true })
  let found: string[]
  try {
    found = [...index.matching('wanted/+'), ...index.matching('wanted/#')]
  } finally {
    Object.defineProperty(Map.prototype, Symbol.iterator, { value: entries, configurable: true, writable: true })
    Object.defineProperty(Map.prototype, 'entries', { value: entries, configurable: true, writable: true })
    Object.defineProperty(Map.prototype, 'values', { value: values, configurable: true, writable: true })
  }
  t.same(found.sort(), ['wanted/x', 'wanted/x', 'wanted/y', 'wanted/y'])
  t.ok(iterated <= 4, `iterated ${iterated} trie entries`)
})

for (const seed of [1, 7, 2024]) {
  void t.test(`agrees with topicMatches on random topics and filters (seed ${seed})`, async (t) => {
    const random = seeded(seed)
    const index = new TopicIndex()
    const topics = new Set<string>()
    for (let i = 0; i < 400; i++) {
      const topic = randomTopic(random)
      topics.add(topic)
      index.add(topic)
    }
    // Delete some so pruned branches are exercised too.
    for (const topic of [...topics].filter(() => random() < 0.2)) {
      t.ok(index.delete(topic))
      topics.delete(topic)
    }
    t.equal(index.size, topics.size)

    let mismatches = 0
    for (let i = 0; i < 300; i++) {
      const filter = randomFilter(random)
      const expected = sorted([...topics].filter((topic) => topicMatches(filter, topic)))
      const actual = sorted(index.matching(filter))
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        mismatches++
        t.same(actual, expected, `filter ${filter}`)
      }
    }
    t.equal(mismatches, 0)
  })
}
