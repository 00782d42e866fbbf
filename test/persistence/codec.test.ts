import t from 'tap'
import { decodeValue, encodeValue } from '../../src/persistence/codec.js'
import { clientIdOf, escapeId, keyRange, queueKey, subscriptionKey, unescapeId } from '../../src/persistence/level-keys.js'

const roundTrip = (value: unknown): unknown => decodeValue(encodeValue(value))

void t.test('buffers round-trip byte-exact, wherever they are nested', async (t) => {
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
  const value = { payload: bytes, empty: Buffer.alloc(0), nested: { list: [Buffer.from([1]), new Uint8Array([2, 3])] } }
  const back = roundTrip(value) as typeof value
  t.ok(Buffer.isBuffer(back.payload) && back.payload.equals(bytes))
  t.equal(back.empty.length, 0)
  t.same(back.nested.list.map((b) => [...b]), [[1], [2, 3]])
})

void t.test('payload bytes are stored raw, not as base64 or a number array', async (t) => {
  const payload = Buffer.alloc(1000, 0xab)
  const encoded = encodeValue({ payload })
  t.ok(encoded.length < 1100, `${encoded.length} bytes for a 1000-byte payload`)
})

void t.test('undefined-valued keys stay, strings that look like markers stay strings', async (t) => {
  const value = { messageId: undefined, a: '\u0000u', b: '\u0000b0:1', c: '\u0000', d: 'plain', e: [undefined, null, 1] }
  const back = roundTrip(value) as Record<string, unknown>
  t.ok(Object.prototype.hasOwnProperty.call(back, 'messageId'), 'the key is kept')
  t.equal(back.messageId, undefined)
  t.same(back, value)
  t.equal(roundTrip(undefined), undefined)
  t.equal(roundTrip('\u0000\u0000x'), '\u0000\u0000x')
})

void t.test('client ids are escaped so that one client\'s range holds only its keys', async (t) => {
  for (const id of ['plain', 'a!b', '100%', '%21', '!', '']) {
    t.equal(unescapeId(escapeId(id)), id, JSON.stringify(id))
    t.notOk(escapeId(id).includes('!'))
    t.equal(clientIdOf(queueKey(id, 1)), id)
    t.equal(clientIdOf(subscriptionKey(id, 'a/!/b')), id)
  }
  const inRange = (key: string, id: string): boolean => {
    const { gte, lt } = keyRange('q', id)
    return key >= gte && key < lt
  }
  t.ok(inRange(queueKey('abc', 5), 'abc'))
  for (const other of ['abcdef', 'abc!x', 'ab', 'abc%21x']) t.notOk(inRange(queueKey(other, 5), 'abc'), other)
  t.ok(queueKey('c', 0xff) < queueKey('c', 0x100), 'fixed-width hex keeps numeric order')
})
