import t from 'tap'
import { validateTopicFilter, validateTopicName } from '../../../src/topic/index.js'

const limits = { maxLength: 65_535, maxLevels: 128 }

void t.test('accepts ordinary topic names', async (t) => {
  for (const topic of ['a', 'sport/tennis/player1', '/', '//', '/finance', 'finance/', 'Accounts payable', '$SYS/broker/load', 'café/crème', '🚀/x', ' ']) {
    t.equal(validateTopicName(topic, limits), null, topic)
  }
})

void t.test('rejects an empty topic name [MQTT-4.7.3-1]', async (t) => {
  t.match(validateTopicName('', limits), /at least one character/)
})

void t.test('rejects wildcards in a topic name [MQTT-4.7.1-1] [MQTT-3.3.2-2]', async (t) => {
  for (const topic of ['+', '#', 'a/+', 'a/#', 'sport+', 'a/b#c', '+/x']) {
    t.match(validateTopicName(topic, limits), /may not contain wildcards .*; use them only in SUBSCRIBE filters/, topic)
  }
})

void t.test('rejects U+0000 in a topic name [MQTT-4.7.3-2]', async (t) => {
  t.match(validateTopicName('a\u0000b', limits), /U\+0000/)
  t.match(validateTopicName('\u0000', limits), /U\+0000/)
})

void t.test('rejects a topic name over 65,535 bytes of UTF-8 [MQTT-4.7.3-3]', async (t) => {
  t.equal(validateTopicName('a'.repeat(65_535), limits), null)
  t.match(validateTopicName('a'.repeat(65_536), limits), /65536 bytes .* limit of 65535/)
  // Counted in bytes, not UTF-16 units: 'é' is two bytes, '🚀' four.
  t.equal(validateTopicName('é'.repeat(32_767), limits), null)
  t.match(validateTopicName('é'.repeat(32_768), limits), /65536 bytes/)
  t.match(validateTopicName('🚀'.repeat(16_384), limits), /65536 bytes/)
  // A configured maximum above the spec's cap does not lift it.
  t.match(validateTopicName('a'.repeat(65_536), { maxLength: 1_000_000, maxLevels: 128 }), /limit of 65535/)
})

void t.test('applies the configured length and level limits', async (t) => {
  const tight = { maxLength: 10, maxLevels: 3 }
  t.equal(validateTopicName('abcdefghij', tight), null)
  t.match(validateTopicName('abcdefghijk', tight), /11 bytes .* limit of 10/)
  t.match(validateTopicName('ééééé/', tight), /11 bytes/)
  t.equal(validateTopicName('a/b/c', tight), null)
  t.match(validateTopicName('a/b/c/d', tight), /4 levels, over the limit of 3/)
  t.match(validateTopicName('///', tight), /4 levels/, 'empty levels count')
  t.equal(validateTopicFilter('a/+/#', tight), null)
  t.match(validateTopicFilter('a/+/b/#', tight), /4 levels/)
  t.match(validateTopicFilter('a/b/c/d/e/f/g/h', tight), /15 bytes/)
})

void t.test('accepts the spec\'s valid topic filters', async (t) => {
  // Sections 4.7.1.2, 4.7.1.3, 4.7.3.
  for (const filter of ['#', 'sport/tennis/#', '+', '+/tennis/#', 'sport/+/player1', '/+', '+/+', '/', '//', '$SYS/#', 'a//+/#', '+/+/+', 'Accounts payable']) {
    t.equal(validateTopicFilter(filter, limits), null, filter)
  }
})

void t.test('rejects an empty topic filter [MQTT-4.7.3-1]', async (t) => {
  t.match(validateTopicFilter('', limits), /at least one character/)
})

void t.test('rejects # not in the last level [MQTT-4.7.1-2]', async (t) => {
  for (const filter of ['sport/tennis/#/ranking', '#/a', '#/', 'a/#/#', '#/#']) {
    t.match(validateTopicFilter(filter, limits), /'#' must be the last level/, filter)
  }
})

void t.test('rejects # sharing its level with other characters [MQTT-4.7.1-2]', async (t) => {
  for (const filter of ['sport/tennis#', 'a/#b', '##', 'a/b#/c', 'x#']) {
    t.match(validateTopicFilter(filter, limits), /'#' must be a level of its own/, filter)
  }
})

void t.test('rejects + sharing its level with other characters [MQTT-4.7.1-3]', async (t) => {
  for (const filter of ['sport+', 'sport/+tennis', 'a/++', '+a/b', 'a/b+/#']) {
    t.match(validateTopicFilter(filter, limits), /'\+' must be a level of its own/, filter)
  }
})

void t.test('rejects U+0000 in a topic filter [MQTT-4.7.3-2]', async (t) => {
  t.match(validateTopicFilter('a/\u0000/#', limits), /U\+0000/)
  t.match(validateTopicFilter('$share/g\u0000/a', limits), /U\+0000/)
  t.match(validateTopicFilter('$share/g/a\u0000', limits), /U\+0000/)
})

void t.test('rejects a topic filter over 65,535 bytes of UTF-8 [MQTT-4.7.3-3]', async (t) => {
  t.equal(validateTopicFilter('a'.repeat(65_533) + '/#', limits), null)
  t.match(validateTopicFilter('a'.repeat(65_534) + '/#', limits), /65536 bytes/)
})

void t.test('accepts shared subscriptions', async (t) => {
  for (const filter of ['$share/group/a/b', '$share/g/#', '$share/g/+/x', '$share/g//', '$share/g/$SYS/#', '$share/g/$share/x', '$share/💡/a']) {
    t.equal(validateTopicFilter(filter, limits), null, filter)
  }
})

void t.test('rejects an empty share name [MQTT-4.8.2-1]', async (t) => {
  t.match(validateTopicFilter('$share//a/b', limits), /empty share name/)
  t.match(validateTopicFilter('$share/', limits), /empty share name/)
})

void t.test('rejects wildcards in a share name [MQTT-4.8.2-2]', async (t) => {
  for (const filter of ['$share/+/a', '$share/#/a', '$share/g+/a', '$share/#']) {
    t.match(validateTopicFilter(filter, limits), /share names may not contain/, filter)
  }
})

void t.test('rejects a share name with no topic filter after it [MQTT-4.8.2-2]', async (t) => {
  t.match(validateTopicFilter('$share/group', limits), /no topic filter after the share name/)
  t.match(validateTopicFilter('$share/group/', limits), /no topic filter after the share name/)
})

void t.test('validates the filter inside a shared subscription', async (t) => {
  t.match(validateTopicFilter('$share/g/a/#/b', limits), /'#' must be the last level/)
  t.match(validateTopicFilter('$share/g/a+', limits), /'\+' must be a level of its own/)
  // The level limit counts the filter proper, not `$share/{group}/`.
  const tight = { maxLength: 100, maxLevels: 2 }
  t.equal(validateTopicFilter('$share/g/a/b', tight), null)
  t.match(validateTopicFilter('$share/g/a/b/c', tight), /3 levels/)
})

void t.test('treats $share without a slash as an ordinary filter', async (t) => {
  t.equal(validateTopicFilter('$share', limits), null)
  t.equal(validateTopicFilter('$shared/a', limits), null)
})
