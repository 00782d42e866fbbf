import { connect as netConnect } from 'node:net'
import { connectPacket, seeds, type Version } from './corpus.js'
import { caseRandom, mutate, type Random } from './mutate.js'

/**
 * The fuzzer: each case is one TCP connection to a live broker carrying a mutated packet, most
 * often behind a valid CONNECT (and some state for it to act on: a subscription, a QoS 2 id, a
 * topic alias), then a PINGREQ, in one to four writes split at random points. A case is made
 * from the run's seed and its index alone (`makeCase`), so any case replays exactly.
 *
 * What a case may do to the broker is anything the spec allows: answer, ignore, close. What it
 * must never do is make the broker log at error level (a bug by definition: docs/architecture.md)
 * or take it down; the caller watches the log, and keeps a healthy client working beside.
 */
export interface FuzzCase {
  seed: number
  index: number
  version: Version
  /** The mutated seed and what was done to it. */
  description: string
  /** The bytes, in the writes they were sent in. */
  chunks: Buffer[]
}

export type Outcome = 'closed' | 'answered' | 'silent'

const PINGREQ = Buffer.from([0xc0, 0x00])

export function makeCase(seed: number, index: number): FuzzCase {
  const r = caseRandom(seed, index)
  const version: Version = r.chance(0.5) ? 5 : 4
  const clientId = `fz-${index}`
  const corpus = seeds(version, clientId)
  const target = r.pick(corpus)
  const others = corpus.map((s) => s.bytes)
  const { bytes, steps } = mutate(r, target.bytes, others)
  const parts: Buffer[] = []
  const isFirst = target.name.startsWith('connect') && r.chance(0.7)
  if (!isFirst) {
    parts.push(connectPacket(version, clientId, r.chance(0.8)))
    if (r.chance(0.5)) parts.push(setup(r, corpus))
  }
  parts.push(bytes)
  if (r.chance(0.3)) parts.push(r.chance(0.5) ? r.pick(others) : mutate(r, r.pick(others), others).bytes)
  parts.push(PINGREQ)
  return {
    seed, index, version,
    description: `v${version} ${target.name}${isFirst ? ' (as the first packet)' : ''}: ${steps.join(', ')}`,
    chunks: split(r, Buffer.concat(parts)),
  }
}

/** A packet that leaves state behind for the mutated one to meet. */
function setup(r: Random, corpus: ReturnType<typeof seeds>): Buffer {
  const names = ['subscribe', 'publish-2-dup', 'publish-1-retain', 'publish-5-props']
  const found = corpus.filter((s) => names.includes(s.name))
  return r.pick(found).bytes
}

function split(r: Random, bytes: Buffer): Buffer[] {
  const cuts = Array.from({ length: r.int(4) }, () => r.int(bytes.length + 1)).sort((a, b) => a - b)
  const chunks: Buffer[] = []
  let from = 0
  for (const cut of cuts) {
    if (cut > from) chunks.push(bytes.subarray(from, cut))
    from = Math.max(from, cut)
  }
  chunks.push(bytes.subarray(from))
  return chunks.filter((c) => c.length > 0)
}

export const caseHex = (c: FuzzCase): string => c.chunks.map((chunk) => chunk.toString('hex')).join(' | ')

/**
 * Sends one case and waits for the broker to close the connection, to answer the PINGREQ, or
 * `waitMs` (a mutated length may leave it waiting for more bytes, which is its right).
 */
export async function runCase(port: number, c: FuzzCase, waitMs: number, onOpen: (localPort: number) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port, noDelay: true })
    let received = Buffer.alloc(0)
    let outcome: Outcome | undefined
    const finish = (o: Outcome): void => {
      if (outcome !== undefined) return
      outcome = o
      clearTimeout(timer)
      socket.destroy()
      resolve(o)
    }
    const timer = setTimeout(() => finish('silent'), waitMs)
    socket.on('error', () => finish('closed'))
    socket.on('close', () => finish('closed'))
    socket.on('end', () => finish('closed'))
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      if (hasPingresp(received)) finish('answered')
    })
    socket.once('connect', () => {
      onOpen(socket.localPort ?? 0)
      void writeChunks(socket, c.chunks)
    })
  })
}

async function writeChunks(socket: ReturnType<typeof netConnect>, chunks: Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    if (socket.destroyed) return
    socket.write(chunk)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** Whether the frames received so far include a PINGRESP. */
function hasPingresp(buf: Buffer): boolean {
  let pos = 0
  while (pos < buf.length) {
    let length = 0
    let multiplier = 1
    let i = pos + 1
    for (;;) {
      if (i >= buf.length) return false
      const byte = buf[i++] ?? 0
      length += (byte & 0x7f) * multiplier
      if ((byte & 0x80) === 0) break
      multiplier *= 128
    }
    if (buf[pos] === 0xd0 && length === 0) return true
    pos = i + length
  }
  return false
}

export interface FuzzFailure {
  line: string
  /** The case on whose connection the line was logged, when it can be told. */
  fuzzCase: FuzzCase | undefined
}

export interface FuzzRun {
  cases: number
  outcomes: Record<Outcome, number>
  failures: FuzzFailure[]
}

/**
 * Runs cases `first`, `first + 1`, ... `concurrency` at a time until `count` cases or
 * `untilMs` (a Date.now() deadline). `errors` is the broker's live list of error-level lines;
 * each new one is matched to the case whose connection it names (`"remote":"127.0.0.1:PORT"`)
 * or whose client id it names.
 */
export async function runFuzz(opts: {
  port: number
  seed: number
  count?: number
  untilMs?: number
  first?: number
  concurrency?: number
  waitMs?: number
  errors: string[]
  inFlight?: Set<FuzzCase>
  onFailure?: (failure: FuzzFailure) => void
}): Promise<FuzzRun> {
  const { port, seed, errors } = opts
  const concurrency = opts.concurrency ?? 32
  const waitMs = opts.waitMs ?? 250
  const inFlight = opts.inFlight ?? new Set<FuzzCase>()
  const byPort = new Map<number, FuzzCase>()
  const outcomes: Record<Outcome, number> = { closed: 0, answered: 0, silent: 0 }
  const failures: FuzzFailure[] = []
  let next = opts.first ?? 0
  const end = (opts.first ?? 0) + (opts.count ?? Number.MAX_SAFE_INTEGER)
  let seen = errors.length
  const isOver = (): boolean => next >= end || (opts.untilMs !== undefined && Date.now() >= opts.untilMs)

  const collect = (): void => {
    for (; seen < errors.length; seen++) {
      const line = errors[seen] ?? ''
      const remote = /"remote":"127\.0\.0\.1:(\d+)"/.exec(line)
      const client = /"clientId":"fz-(\d+)"/.exec(line)
      const fuzzCase = remote !== null ? byPort.get(Number(remote[1])) : client !== null ? makeCase(seed, Number(client[1])) : undefined
      const failure = { line, fuzzCase }
      failures.push(failure)
      opts.onFailure?.(failure)
    }
  }

  const worker = async (): Promise<void> => {
    while (!isOver()) {
      const c = makeCase(seed, next++)
      inFlight.add(c)
      outcomes[await runCase(port, c, waitMs, (localPort) => byPort.set(localPort, c))]++
      inFlight.delete(c)
      // The connection's last log lines come as it closes: give them a tick to be written.
      await new Promise((resolve) => setImmediate(resolve))
      collect()
    }
  }
  await Promise.all(Array.from({ length: concurrency }, () => worker()))
  await new Promise((resolve) => setTimeout(resolve, 50))
  collect()
  return { cases: next - (opts.first ?? 0), outcomes, failures }
}
