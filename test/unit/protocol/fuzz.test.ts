import t from 'tap'
import { Decoder, MqttError } from '../../../src/protocol/index.js'
import type { InboundPacket, ProtocolVersion } from '../../../src/protocol/index.js'
import { FIXTURES } from './fixtures/packets.js'
import { prng, reencode, varint, view } from './fixtures/helpers.js'

/**
 * Seeded random input: whatever the bytes, the decoder returns packets or throws an MqttError,
 * never anything else, and never loops. Mutations of valid packets reach deep into the body
 * checks; random bytes with a consistent Remaining Length get past the framer.
 */

const SEED = 0x4d515454 // "MQTT"
const RANDOM_BUFFERS = 20_000
const MUTATIONS = 20_000
const VERSIONS: (ProtocolVersion | undefined)[] = [undefined, 3, 4, 5]

type Outcome =
  | { packets: InboundPacket[]; version: ProtocolVersion | undefined }
  | { error: string }

function run(chunks: Buffer[], version: ProtocolVersion | undefined): Outcome {
  const d = new Decoder({ maxPacketSize: 4096 })
  if (version !== undefined) d.setProtocolVersion(version)
  const packets: InboundPacket[] = []
  try {
    for (const c of chunks) d.push(c, (p) => packets.push(p))
    return { packets, version: d.protocolVersion }
  } catch (err) {
    if (!(err instanceof MqttError)) {
      throw new Error(`non-MqttError for ${Buffer.concat(chunks).toString('hex')} at version ${version}: ${String(err)}`, { cause: err })
    }
    return { error: `${err.code} ${err.message}` }
  }
}

const summary = (o: Outcome): string => ('error' in o ? o.error : JSON.stringify(o.packets.map(view)))

/**
 * What the decoder accepted must survive encode and decode unchanged: a check that the raw walk
 * and mqtt-packet agree on where every field is. Returns how many packets were checked.
 */
function reencodes(packets: InboundPacket[], version: ProtocolVersion | undefined): string | number {
  let checked = 0
  for (const p of packets) {
    const v = version ?? 4
    let again: Buffer
    try {
      again = reencode(p, p.cmd === 'connect' ? p.protocolVersion : v)
    } catch (err) {
      // mqtt-packet's generate is stricter than the spec for CONNECT (for example it refuses an
      // empty client id without clean session); only our own encoder must never refuse.
      if (p.cmd === 'connect' || p.cmd === 'subscribe' || p.cmd === 'unsubscribe') continue
      return `encode threw ${String(err)} for ${JSON.stringify(view(p))}`
    }
    const back = run([again], p.cmd === 'connect' ? undefined : v)
    if (summary(back) !== JSON.stringify([view(p)])) return `${JSON.stringify(view(p))} came back as ${summary(back)}`
    checked++
  }
  return checked
}

function split(buf: Buffer, rand: () => number): Buffer[] {
  const cuts = [0, Math.floor(rand() * (buf.length + 1)), Math.floor(rand() * (buf.length + 1)), buf.length].sort((a, b) => a - b)
  return [buf.subarray(cuts[0], cuts[1]), buf.subarray(cuts[1], cuts[2]), buf.subarray(cuts[2], cuts[3])]
}

function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256)
  return b
}

/** First bytes the framer lets through, so random bodies reach the body checks. */
const VALID_FIRST_BYTES = [0x10, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x3a, 0x3b, 0x3c, 0x3d, 0x40, 0x50, 0x62, 0x70, 0x82, 0xa2, 0xc0, 0xe0, 0xf0]

/**
 * Random bytes. Half the time behind a random first byte, half behind one the framer accepts
 * and a Remaining Length that fits the body.
 */
function randomPacket(rand: () => number): Buffer {
  const body = randomBytes(rand, Math.floor(rand() * 48))
  if (rand() < 0.5) return Buffer.concat([randomBytes(rand, 1), body])
  const first = VALID_FIRST_BYTES[Math.floor(rand() * VALID_FIRST_BYTES.length)] ?? 0x30
  return Buffer.concat([Buffer.from([first]), varint(body.length), body])
}

/** Half the time mutate only the body and re-frame it, so the mutation is not just "incomplete". */
function mutatePacket(rand: () => number, original: Buffer): Buffer {
  if (rand() < 0.5) return mutate(rand, original)
  let headerLength = 2
  while (((original[headerLength - 1] ?? 0) & 0x80) !== 0) headerLength++
  const body = mutate(rand, original.subarray(headerLength))
  return Buffer.concat([original.subarray(0, 1), varint(body.length), body])
}

function mutate(rand: () => number, original: Buffer): Buffer {
  if (original.length === 0) return randomBytes(rand, Math.floor(rand() * 3))
  const b = Buffer.from(original)
  const i = Math.floor(rand() * b.length)
  switch (Math.floor(rand() * 5)) {
    case 0: b[i] = Math.floor(rand() * 256); return b
    case 1: b[i] = (b[i] ?? 0) ^ (1 << Math.floor(rand() * 8)); return b
    case 2: return b.subarray(0, i)
    case 3: return Buffer.concat([b.subarray(0, i), randomBytes(rand, 1 + Math.floor(rand() * 4)), b.subarray(i)])
    default: return Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + Math.floor(rand() * 3))])
  }
}

t.test(`${RANDOM_BUFFERS} random buffers only ever produce packets or MqttError`, async (t) => {
  const rand = prng(SEED)
  let accepted = 0
  for (let n = 0; n < RANDOM_BUFFERS; n++) {
    const version = VERSIONS[n % VERSIONS.length]
    const outcome = run(split(randomPacket(rand), rand), version)
    if ('packets' in outcome && outcome.packets.length > 0) accepted++
  }
  t.pass(`${accepted} of ${RANDOM_BUFFERS} decoded to at least one packet`)
})

t.test(`${MUTATIONS} mutated valid packets: only MqttError, chunking changes nothing, accepted ones re-encode`, async (t) => {
  const rand = prng(SEED + 1)
  let rejected = 0
  let reencoded = 0
  const failures: string[] = []
  for (let n = 0; n < MUTATIONS; n++) {
    const f = FIXTURES[n % FIXTURES.length]
    if (f === undefined) continue
    const input = mutatePacket(rand, f.bytes)
    const whole = run([input], f.version)
    // Same bytes, different chunking: the same packets, or the same error.
    const pieces = run(split(input, rand), f.version)
    if (summary(whole) !== summary(pieces)) failures.push(`split changed the outcome for ${input.toString('hex')}`)
    if ('error' in whole) {
      rejected++
      continue
    }
    const result = reencodes(whole.packets, whole.version)
    if (typeof result === 'string') failures.push(`${input.toString('hex')}: ${result}`)
    else reencoded += result
  }
  t.same(failures.slice(0, 5), [], 'no failures')
  t.pass(`${rejected} of ${MUTATIONS} mutations rejected, ${reencoded} accepted packets re-encoded identically`)
})
