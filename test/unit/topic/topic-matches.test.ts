import t from 'tap'
import { topicMatches } from '../../../src/topic/index.js'
import { bindings, queries } from './fixtures/table.js'

void t.test('agrees with the fixture table on every (filter, topic) pair', async (t) => {
  for (const [topic, keys] of queries) {
    for (const [filter, key] of bindings) {
      t.equal(topicMatches(filter, topic), keys.includes(key), `${filter} vs ${topic}`)
    }
  }
})

void t.test('# matches the parent level and everything below it [MQTT-4.7.1-2]', async (t) => {
  // The spec's own examples, section 4.7.1.2.
  t.ok(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1'))
  t.ok(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1/ranking'))
  t.ok(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon'))
  t.notOk(topicMatches('sport/tennis/player1/#', 'sport/tennis/player2'))
  t.notOk(topicMatches('sport/tennis/player1/#', 'sport/tennis'))
  t.ok(topicMatches('sport/#', 'sport'))
  t.ok(topicMatches('#', 'sport/tennis'))
})

void t.test('+ matches exactly one level, empty ones included [MQTT-4.7.1-3]', async (t) => {
  // Section 4.7.1.3.
  t.ok(topicMatches('sport/tennis/+', 'sport/tennis/player1'))
  t.ok(topicMatches('sport/tennis/+', 'sport/tennis/player2'))
  t.notOk(topicMatches('sport/tennis/+', 'sport/tennis/player1/ranking'))
  t.notOk(topicMatches('sport/+', 'sport'))
  t.ok(topicMatches('sport/+', 'sport/'))
  t.ok(topicMatches('+/+', '/finance'))
  t.ok(topicMatches('/+', '/finance'))
  t.notOk(topicMatches('+', '/finance'))
})

void t.test('empty levels are levels', async (t) => {
  t.ok(topicMatches('a//b', 'a//b'))
  t.notOk(topicMatches('a/b', 'a//b'))
  t.ok(topicMatches('a/+/b', 'a//b'))
  t.notOk(topicMatches('/finance', 'finance'))
  t.notOk(topicMatches('finance', '/finance'))
  t.ok(topicMatches('/', '/'))
  t.ok(topicMatches('+/+', '/'))
  t.notOk(topicMatches('+', '/'))
  t.ok(topicMatches('/#', '/'))
  t.ok(topicMatches('a/#', 'a/'))
})

void t.test('leading wildcards do not match $-topics [MQTT-4.7.2-1]', async (t) => {
  t.notOk(topicMatches('#', '$SYS/broker/load'))
  t.notOk(topicMatches('#', '$SYS'))
  t.notOk(topicMatches('+', '$SYS'))
  t.notOk(topicMatches('+/monitor/Clients', '$SYS/monitor/Clients'))
  t.notOk(topicMatches('+/#', '$anything/else'))
  t.ok(topicMatches('$SYS/#', '$SYS/monitor/Clients'))
  t.ok(topicMatches('$SYS/#', '$SYS'))
  t.ok(topicMatches('$SYS/monitor/+', '$SYS/monitor/Clients'))
  // Only the first character of the topic counts.
  t.ok(topicMatches('#', 'a/$SYS'))
  t.ok(topicMatches('a/+', 'a/$SYS'))
})

void t.test('matches byte for byte, without normalising case or Unicode [MQTT-4.7.3-4]', async (t) => {
  t.notOk(topicMatches('ACCOUNTS', 'Accounts'))
  t.ok(topicMatches('Accounts payable', 'Accounts payable'))
  // é precomposed (U+00E9) versus e + combining acute (U+0065 U+0301).
  t.notOk(topicMatches('caf\u00e9', 'cafe\u0301'))
})
