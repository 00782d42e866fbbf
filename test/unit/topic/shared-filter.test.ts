import t from 'tap'
import { isWildcardFilter, parseSharedFilter } from '../../../src/topic/index.js'

void t.test('splits $share/{ShareName}/{filter} at the first slash after the name', async (t) => {
  t.same(parseSharedFilter('$share/group/a/b'), { group: 'group', filter: 'a/b' })
  t.same(parseSharedFilter('$share/g/#'), { group: 'g', filter: '#' })
  t.same(parseSharedFilter('$share/g/+/x/#'), { group: 'g', filter: '+/x/#' })
  t.same(parseSharedFilter('$share/g//'), { group: 'g', filter: '/' })
  t.same(parseSharedFilter('$share/g/$SYS/#'), { group: 'g', filter: '$SYS/#' })
  t.same(parseSharedFilter('$share/g/$share/h/x'), { group: 'g', filter: '$share/h/x' })
})

void t.test('returns malformed shared filters with the missing part empty [MQTT-4.8.2-1] [MQTT-4.8.2-2]', async (t) => {
  t.same(parseSharedFilter('$share/'), { group: '', filter: '' })
  t.same(parseSharedFilter('$share//a'), { group: '', filter: 'a' })
  t.same(parseSharedFilter('$share/group'), { group: 'group', filter: '' })
  t.same(parseSharedFilter('$share/group/'), { group: 'group', filter: '' })
})

void t.test('returns null for filters that are not shared', async (t) => {
  for (const filter of ['a/b', '#', '$SYS/#', '$share', '$shared/a', 'x/$share/g/a', '$SHARE/g/a']) {
    t.equal(parseSharedFilter(filter), null, filter)
  }
})

void t.test('isWildcardFilter spots + and #', async (t) => {
  for (const filter of ['#', '+', 'a/+', 'a/#', '+/b', '$share/g/a/+']) t.ok(isWildcardFilter(filter), filter)
  for (const filter of ['a', 'a/b', '/', '$SYS/load', '$share/g/a/b']) t.notOk(isWildcardFilter(filter), filter)
})
