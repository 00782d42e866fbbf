import type { Duplex } from 'node:stream'
import t from 'tap'
import { listenWs } from '../../src/transport/index.js'
import { startBroker } from '../helpers/broker.js'
import { connectPacket, subscribePacket } from '../helpers/raw.js'
import { WsRawClient } from '../helpers/ws-raw.js'

/*
 * b2c over WebSocket: what the broker does towards a WebSocket client on its own — pings to find
 * vanished peers, and dropping QoS 0 for a client that stops reading instead of buffering for it.
 */

t.test('WebSocket ping/pong', async (t) => {
  const PING_MS = 100
  const streams: Duplex[] = []
  const listener = await listenWs(
    { host: '127.0.0.1', port: 0, path: '/mqtt', maxPayload: 1024, pingInterval: PING_MS },
    (stream) => { streams.push(stream) },
  )
  t.teardown(() => new Promise<void>((resolve) => {
    listener.wss.close()
    listener.server.close(() => resolve())
  }))
  const address = listener.server.address()
  const url = `ws://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/mqtt`

  t.test('a client that answers pings stays connected', async (t) => {
    const ws = await WsRawClient.open(t, url)
    await ws.until(() => ws.pings >= 4, 40 * PING_MS, 'four pings')
    t.notOk(ws.isClosed, `still open after ${ws.pings} pings`)
  })

  t.test('a client that stops answering is cut off after one unanswered ping, and its stream closes', async (t) => {
    const ws = await WsRawClient.open(t, url, { autoPong: false })
    const stream = streams.at(-1)
    const streamClosed = new Promise<void>((resolve) => stream?.once('close', () => resolve()))
    const { code } = await ws.closed(40 * PING_MS)
    t.equal(code, 1006, 'terminated without a close frame')
    t.ok(ws.pings >= 1 && ws.pings <= 2, `after ${ws.pings} unanswered ping(s)`)
    await streamClosed
    t.pass('the MQTT side sees the stream close, as for a dropped TCP socket')
  })
})

t.test('back-pressure: QoS 0 for a WebSocket client that is not reading is dropped, not buffered without bound', async (t) => {
  // maxBufferedBytes is max(maxQueuedBytes, 1 MiB): 1 MiB here.
  const b = await startBroker({ ws: true, memory: true, config: { limits: { maxQueuedBytes: 1024 } } })
  t.teardown(() => b.close())
  const ws = await WsRawClient.open(t, `ws://127.0.0.1:${b.wsPort}/mqtt`)
  ws.send(connectPacket({ clientId: 'ws-slow' }), subscribePacket({ filters: [['bp/#', 0]] }))
  await ws.next('connack')
  await ws.next('suback')
  // The browser tab freezes: nothing is read from the socket any more.
  ws.socket.pause()

  const COUNT = 1000
  const payload = Buffer.alloc(64 * 1024, 0x61)
  const published = COUNT * payload.length
  const before = process.memoryUsage().arrayBuffers
  let peak = before
  for (let i = 0; i < COUNT; i++) {
    await b.broker.publish({ topic: `bp/${i}`, payload, qos: 0, retain: false })
    // Let each message reach the socket, so the stream's own buffer is what fills up.
    await new Promise((resolve) => setImmediate(resolve))
    if (i % 50 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers)
  }
  const growth = peak - before
  t.ok(growth < published / 4, `broker-side buffers grew by ${(growth / 2 ** 20).toFixed(1)} MiB while ${(published / 2 ** 20).toFixed(0)} MiB were published`)

  ws.socket.resume()
  // Once the backlog has drained the client is reading again and QoS 0 flows: publish a marker
  // until it arrives.
  const deadline = Date.now() + 10_000
  while (!ws.packets.some((p) => p.cmd === 'publish' && p.topic === 'bp/end')) {
    if (Date.now() > deadline) throw new Error('the marker never arrived after the client resumed reading')
    await b.broker.publish({ topic: 'bp/end', payload: Buffer.from('end'), qos: 0, retain: false })
    await ws.until(() => ws.packets.some((p) => p.cmd === 'publish' && p.topic === 'bp/end'), 100, 'the marker').catch(() => undefined)
  }
  const delivered = ws.packets.filter((p) => p.cmd === 'publish' && p.topic !== 'bp/end').length
  t.ok(delivered < COUNT, `${delivered} of ${COUNT} delivered: the rest were dropped while the client was not reading`)
  t.ok(delivered * payload.length < published / 2,
    `delivered ${(delivered * payload.length / 2 ** 20).toFixed(1)} MiB: what the broker buffered (1 MiB) plus the kernel's socket buffers`)
  t.ok(delivered > 0, 'the client got what was buffered before it stopped reading')
  t.notOk(ws.isClosed, 'the slow client stays connected')
})
