import { connect as netConnect, type Socket } from 'node:net'
import t, { type Test as Tap } from 'tap'
import { assertArena, openArena, sampleRss, watchRss, type Arena } from '../helpers/arena.js'

/*
 * adversarial: a Remaining Length claiming 256 MB, then one byte, on 1000 sockets at once, as
 * Mosquitto's test suite does it: the broker's resident memory (read from /proc, the broker is
 * a process of its own) must grow by less than 20 MB. Two brokers: one with the default
 * maxPacketSize, which refuses the claim from the header alone; one that accepts packets that
 * large, which must still keep no more than the bytes that actually arrived, until the connect
 * timeout ends them.
 */

const SOCKETS = 1000
/** CONNECT (0x10) with a Remaining Length of 268,435,455 (FF FF FF 7F), then one byte of body. */
const CLAIM = Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f, 0x00])

t.setTimeout(60_000)

interface Victim {
  socket: Socket
  closedAt: Promise<number>
}

/** Opens `count` sockets, a hundred at a time (the listen backlog is finite). */
async function openSockets(port: number, count: number): Promise<Victim[]> {
  const victims: Victim[] = []
  for (let i = 0; i < count; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, count - i) }, () => new Promise<Victim>((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port })
      const closedAt = new Promise<number>((done) => socket.once('close', () => done(Date.now())))
      socket.on('error', () => {}) // a reset is one way to be closed
      socket.once('connect', () => resolve({ socket, closedAt }))
      socket.once('error', reject)
    })))
    victims.push(...batch)
  }
  return victims
}

async function attack(t: Tap, arena: Arena, closeWithinMs: number): Promise<void> {
  const watch = watchRss(arena)
  const victims = await openSockets(arena.port, SOCKETS)
  t.teardown(() => { for (const v of victims) v.socket.destroy() })
  const sentAt = Date.now()
  for (const v of victims) v.socket.write(CLAIM)
  const closed = await Promise.race([
    Promise.all(victims.map((v) => v.closedAt)),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), closeWithinMs + 5000).unref()),
  ])
  const growth = watch.stop()
  if (closed === null) {
    t.fail(`not every socket was closed: ${victims.filter((v) => !v.socket.destroyed).length} still open`)
    return
  }
  const slowest = Math.max(...closed) - sentAt
  t.ok(slowest < closeWithinMs, `all ${SOCKETS} closed, the last ${slowest} ms after the claims were sent (< ${closeWithinMs} ms)`)
  t.ok(growth < 20, `the broker's resident memory grew ${growth.toFixed(1)} MB at its peak (< 20 MB)`)
}



t.test('with the default maxPacketSize: refused from the header, each socket closed within a second', async (t) => {
  const arena = await openArena(t)
  await attack(t, arena, 1000)
  sampleRss(arena)
  t.test('and the broker is fine', (t) => assertArena(t, arena, 20))
})

t.test('with maxPacketSize 268435455 (the claim fits): nothing but the bytes that came is kept, the connect timeout ends them', async (t) => {
  const arena = await openArena(t, ['--max-packet-size', '268435455', '--connect-timeout', '1000'])
  await attack(t, arena, 2500)
  t.test('and the broker is fine', (t) => assertArena(t, arena, 20))
})
