/**
 * Seeded randomness and byte mutations for the fuzzer. Everything is derived from one number,
 * so a failing case is replayed exactly from its seed and index.
 */

/** mulberry32: small, fast, good enough to pick bytes; returns [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The random source of one case: its own stream, from the run's seed and the case's index. */
export function caseRandom(seed: number, index: number): Random {
  return new Random(prng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0))
}

export class Random {
  readonly #next: () => number

  constructor(next: () => number) {
    this.#next = next
  }

  float(): number {
    return this.#next()
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n)
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)]
    if (item === undefined) throw new Error('pick from an empty list')
    return item
  }

  chance(p: number): boolean {
    return this.#next() < p
  }
}

/** Values that sit on the edges of what a field can hold. */
const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x03, 0x7f, 0x80, 0x81, 0xc0, 0xed, 0xfe, 0xff, 0x23, 0x2b, 0x2f, 0x24]
const INTERESTING_U16 = [0x0000, 0x0001, 0x007f, 0x0080, 0x00ff, 0x7fff, 0x8000, 0xfffe, 0xffff]

type Mutator = (r: Random, b: Buffer, others: readonly Buffer[]) => Buffer

const at = (r: Random, b: Buffer): number => r.int(Math.max(1, b.length))

const mutators: Array<[string, Mutator]> = [
  ['flip a bit', (r, b) => {
    const out = Buffer.from(b)
    if (out.length > 0) { const i = at(r, out); out[i] = (out[i] ?? 0) ^ (1 << r.int(8)) }
    return out
  }],
  ['set a byte', (r, b) => {
    const out = Buffer.from(b)
    if (out.length > 0) out[at(r, out)] = r.chance(0.5) ? r.pick(INTERESTING_BYTES) : r.int(256)
    return out
  }],
  ['set two bytes (a length or id)', (r, b) => {
    const out = Buffer.from(b)
    if (out.length >= 2) out.writeUInt16BE(r.pick(INTERESTING_U16), r.int(out.length - 1))
    return out
  }],
  ['first byte: another type or flags', (r, b) => {
    const out = Buffer.from(b)
    if (out.length > 0) out[0] = r.chance(0.5) ? ((out[0] ?? 0) & 0xf0) | r.int(16) : r.int(256)
    return out
  }],
  ['Remaining Length: another value', (r, b) => {
    const body = b.subarray(headerLength(b))
    const lengths = [0, 1, body.length - 1, body.length + 1, body.length + r.int(300), 127, 128, 16_383, 16_384, 268_435_455]
    return Buffer.concat([b.subarray(0, 1), varint(Math.max(0, r.pick(lengths))), body])
  }],
  ['Remaining Length: non-minimal or five bytes', (r, b) => {
    const body = b.subarray(headerLength(b))
    const long = r.chance(0.5) ? [0x80 | (body.length & 0x7f), 0x80, 0x00] : [0xff, 0xff, 0xff, 0xff, 0x7f]
    return Buffer.concat([b.subarray(0, 1), Buffer.from(long), body])
  }],
  ['insert bytes', (r, b) => {
    const i = r.int(b.length + 1)
    const n = 1 + r.int(8)
    const extra = Buffer.from(Array.from({ length: n }, () => (r.chance(0.5) ? r.pick(INTERESTING_BYTES) : r.int(256))))
    return fixLength(Buffer.concat([b.subarray(0, i), extra, b.subarray(i)]), r)
  }],
  ['delete bytes', (r, b) => {
    const i = r.int(b.length + 1)
    return fixLength(Buffer.concat([b.subarray(0, i), b.subarray(Math.min(b.length, i + 1 + r.int(8)))]), r)
  }],
  ['truncate', (r, b) => b.subarray(0, r.int(b.length + 1))],
  ['repeat a slice (a property or filter twice)', (r, b) => {
    const i = r.int(b.length + 1)
    const j = Math.min(b.length, i + 1 + r.int(16))
    return fixLength(Buffer.concat([b.subarray(0, j), b.subarray(i, j), b.subarray(j)]), r)
  }],
  ['splice with another packet', (r, b, others) => {
    const other = r.pick(others)
    return fixLength(Buffer.concat([b.subarray(0, r.int(b.length + 1)), other.subarray(r.int(other.length + 1))]), r)
  }],
  ['bad UTF-8 or U+0000 into a string', (r, b) => {
    const bad = r.pick([[0xff], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0x00], [0xef, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80]])
    const out = Buffer.from(b)
    if (out.length > 4) Buffer.from(bad).copy(out, 2 + r.int(out.length - 2))
    return out
  }],
]

/**
 * One to four mutations of `seed`. Most mutations that change the size fix the Remaining Length
 * afterwards (so the damage is inside a well-framed packet), some leave it wrong.
 */
export function mutate(r: Random, seed: Buffer, others: readonly Buffer[]): { bytes: Buffer; steps: string[] } {
  let bytes = seed
  const steps: string[] = []
  for (let i = 1 + r.int(4); i > 0; i--) {
    const [name, mutator] = r.pick(mutators)
    bytes = mutator(r, bytes, others)
    steps.push(name)
  }
  return { bytes, steps }
}

/** Re-writes the Remaining Length to fit the body, three times out of four. */
function fixLength(b: Buffer, r: Random): Buffer {
  if (b.length === 0 || r.chance(0.25)) return b
  const body = b.subarray(headerLength(b))
  return Buffer.concat([b.subarray(0, 1), varint(body.length), body])
}

/** Fixed header length of a well-formed packet (1 + its Remaining Length bytes), at most 5. */
function headerLength(b: Buffer): number {
  let i = 1
  while (i < 5 && i < b.length && ((b[i] ?? 0) & 0x80) !== 0) i++
  return Math.min(b.length, i + 1)
}

export function varint(n: number): Buffer {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return Buffer.from(out)
}
