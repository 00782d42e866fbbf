import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import t from 'tap'
import { listenWs } from '../../src/transport/index.js'
import { collect, connect, until } from '../helpers/client.js'
import { assertHealthy, connectPacket, pingreqPacket, publishPacket, subscribePacket, wireBroker } from '../helpers/raw.js'
import { startBroker } from '../helpers/broker.js'
import { WsRawClient } from '../helpers/ws-raw.js'

/*
 * c2b over WebSocket (MQTT 5.0 chapter 6): the handshake (subprotocol, Origin, path), what a
 * frame may carry (binary only, any split of the byte stream), and the frame size limit.
 */

const MAX_PACKET_SIZE = 1024
/** The WebSocket message limit: max(maxPacketSize, maxClientBufferBytes). */
const MAX_FRAME = 4 * MAX_PACKET_SIZE
const { b, healthy } = await wireBroker(t, {
  ws: true,
  config: { limits: { maxPacketSize: MAX_PACKET_SIZE, maxClientBufferBytes: MAX_FRAME } },
})
const url = `ws://127.0.0.1:${b.wsPort}/mqtt`

t.test('subprotocols', async (t) => {
  t.test('"mqtt" is selected when offered [MQTT-6.0.0-3, MQTT-6.0.0-4]', async (t) => {
    const ws = await WsRawClient.open(t, url, { protocols: ['mqtt'] })
    t.equal(ws.protocol, 'mqtt')
    ws.send(connectPacket({ clientId: 'ws-sub-mqtt' }))
    t.equal((await ws.next('connack')).returnCode, 0)
  })

  t.test('"mqtt" is picked out of a longer list', async (t) => {
    const ws = await WsRawClient.open(t, url, { protocols: ['chat', 'mqttv3.1', 'mqtt'] })
    t.equal(ws.protocol, 'mqtt')
  })

  t.test('"mqttv3.1" is accepted for MQTT 3.1 clients', async (t) => {
    const ws = await WsRawClient.open(t, url, { protocols: ['mqttv3.1'] })
    t.equal(ws.protocol, 'mqttv3.1')
    ws.send(connectPacket({ version: 3, clientId: 'ws-sub-v31' }))
    t.equal((await ws.next('connack')).returnCode, 0)
  })

  t.test('offering only other subprotocols is refused in the handshake (HTTP 400)', async (t) => {
    t.equal(await WsRawClient.refusal(url, { protocols: ['chat'] }), 400)
  })

  t.test('offering none is accepted, as Mosquitto does, and MQTT works', async (t) => {
    const ws = await WsRawClient.open(t, url, { protocols: [] })
    t.equal(ws.protocol, '', 'no subprotocol in the answer')
    ws.send(connectPacket({ clientId: 'ws-sub-none' }))
    t.equal((await ws.next('connack')).returnCode, 0)
  })
})

t.test('a path other than wsPath is refused in the handshake (HTTP 400)', async (t) => {
  t.equal(await WsRawClient.refusal(`ws://127.0.0.1:${b.wsPort}/other`), 400)
})

t.test('text frames [MQTT-6.0.0-1]', async (t) => {
  t.test('a text frame closes the connection (1003) and its bytes are never decoded', async (t) => {
    let connects = 0
    const onConnected = (): void => { connects++ }
    b.broker.on('clientConnected', onConnected)
    t.teardown(() => { b.broker.off('clientConnected', onConnected) })
    const ws = await WsRawClient.open(t, url)
    // A well-formed CONNECT, all ASCII, so it is valid UTF-8 text too.
    ws.sendText(connectPacket({ clientId: 'ws-text' }))
    const { code } = await ws.closed()
    t.equal(code, 1003, 'closed with 1003 (unsupported data)')
    t.same(ws.packets, [], 'no CONNACK: the CONNECT in the text frame was not decoded')
    t.equal(connects, 0, 'no client connected')
  })

  t.test('a text frame on an established connection closes it: the PUBLISH inside is dropped, the will is published', async (t) => {
    const watcher = await connect(b.url, { clientId: 'ws-text-watcher' })
    t.teardown(() => watcher.endAsync())
    const got = collect(watcher)
    await watcher.subscribeAsync('ws-text/#', { qos: 1 })
    const ws = await WsRawClient.open(t, url)
    ws.send(connectPacket({ clientId: 'ws-text-2', will: { topic: 'ws-text/will', payload: 'gone', qos: 1 } }))
    await ws.next('connack')
    ws.sendText(publishPacket({ topic: 'ws-text/data', payload: 'must not arrive', qos: 0 }))
    t.equal((await ws.closed()).code, 1003)
    const [first] = await got.next(1)
    t.equal(first?.topic, 'ws-text/will', 'the first message is the will, not the text frame\'s PUBLISH')
    t.equal(got.messages.length, 1)
  })
})

t.test('packets and frames are independent [MQTT-6.0.0-2]', async (t) => {
  t.test('a CONNECT split into one frame per byte is decoded', async (t) => {
    const ws = await WsRawClient.open(t, url)
    const connect = connectPacket({ clientId: 'ws-split' })
    ws.send(...[...connect].map((byte) => Buffer.from([byte])))
    t.equal((await ws.next('connack')).returnCode, 0)
  })

  t.test('CONNECT, SUBSCRIBE, PUBLISH and PINGREQ in one frame are each answered, in order', async (t) => {
    const ws = await WsRawClient.open(t, url)
    ws.send(Buffer.concat([
      connectPacket({ clientId: 'ws-batch' }),
      subscribePacket({ id: 7, filters: [['ws-batch/t', 0]] }),
      publishPacket({ topic: 'ws-batch/t', payload: 'one frame' }),
      pingreqPacket(),
    ]))
    t.equal((await ws.next('connack')).returnCode, 0)
    t.equal((await ws.next('suback')).messageId, 7)
    t.equal((await ws.next('publish')).payload.toString(), 'one frame')
    await ws.next('pingresp')
  })

  t.test('frames that end and begin packets mid-way: each packet is decoded once', async (t) => {
    const ws = await WsRawClient.open(t, url)
    const bytes = Buffer.concat([
      connectPacket({ clientId: 'ws-straddle' }),
      subscribePacket({ id: 1, filters: [['ws-straddle/#', 0]] }),
      publishPacket({ topic: 'ws-straddle/a', payload: 'first' }),
      publishPacket({ topic: 'ws-straddle/b', payload: 'second' }),
    ])
    const cuts = [5, 17, 30, bytes.length - 3]
    ws.send(...[0, ...cuts].map((from, i) => bytes.subarray(from, cuts[i] ?? bytes.length)))
    await ws.next('connack')
    await ws.next('suback')
    t.equal((await ws.next('publish')).payload.toString(), 'first')
    t.equal((await ws.next('publish')).payload.toString(), 'second')
  })
})

t.test('frame size is tied to the maximum packet size and the client buffer', async (t) => {
  t.test('a packet of exactly limits.maxPacketSize bytes fits in one frame', async (t) => {
    const ws = await WsRawClient.open(t, url)
    ws.send(connectPacket({ clientId: 'ws-max' }), subscribePacket({ filters: [['ws-max', 0]] }))
    await ws.next('connack')
    await ws.next('suback')
    const header = publishPacket({ topic: 'ws-max', payload: '' }).length + 1 // Remaining Length grows to 2 bytes
    const publish = publishPacket({ topic: 'ws-max', payload: 'x'.repeat(MAX_PACKET_SIZE - header) })
    t.equal(publish.length, MAX_PACKET_SIZE)
    ws.send(publish)
    t.equal((await ws.next('publish')).payload.length, MAX_PACKET_SIZE - header)
  })

  t.test('one frame holding several packets, more than limits.maxPacketSize together, is decoded [MQTT-6.0.0-2]', async (t) => {
    // What MQTT.js does in a browser: writes queued while the socket is busy go out as one frame.
    const ws = await WsRawClient.open(t, url)
    ws.send(connectPacket({ clientId: 'ws-burst' }), subscribePacket({ filters: [['ws-burst/#', 0]] }))
    await ws.next('connack')
    await ws.next('suback')
    const burst = Buffer.concat([1, 2, 3].map((i) => publishPacket({ topic: `ws-burst/${i}`, payload: 'b'.repeat(MAX_PACKET_SIZE - 100) })))
    t.ok(burst.length > 2 * MAX_PACKET_SIZE && burst.length <= MAX_FRAME, `one ${burst.length}-byte frame of three packets under ${MAX_PACKET_SIZE} bytes`)
    ws.send(burst)
    for (const i of [1, 2, 3]) t.equal((await ws.next('publish')).topic, `ws-burst/${i}`, `packet ${i} of the frame delivered`)
    t.notOk(ws.isClosed, 'the connection stays open')
  })

  t.test('a packet above limits.maxPacketSize is refused even when its frame is within the frame limit', async (t) => {
    const ws = await WsRawClient.open(t, url)
    ws.send(connectPacket({ clientId: 'ws-big-packet' }))
    await ws.next('connack')
    const publish = publishPacket({ topic: 'ws-big-packet', payload: 'x'.repeat(MAX_PACKET_SIZE) })
    t.ok(publish.length > MAX_PACKET_SIZE && publish.length <= MAX_FRAME)
    ws.send(publish)
    await ws.closed()
    t.notOk(ws.packets.some((p) => p.cmd === 'publish'), 'nothing of it delivered')
  })

  t.test('a frame larger than max(limits.maxPacketSize, limits.maxClientBufferBytes) closes the connection (1009)', async (t) => {
    const ws = await WsRawClient.open(t, url)
    ws.send(connectPacket({ clientId: 'ws-too-big' }))
    await ws.next('connack')
    ws.send(Buffer.alloc(MAX_FRAME + 1))
    t.equal((await ws.closed()).code, 1009, 'closed with 1009 (message too big)')
  })
})

t.test('back-pressure in: frames from a client the broker is not reading wait on the client\'s side, not in the broker', async (t) => {
  // The connection stops reading its stream (a full inbox, a publish rate): then the WebSocket
  // must stop reading its socket too, or every frame the client sends piles up in the stream.
  const streams: Duplex[] = []
  const sockets: Socket[] = []
  const listener = await listenWs({ host: '127.0.0.1', port: 0, path: '/mqtt', maxPayload: 1024 * 1024 }, (stream) => { streams.push(stream) })
  listener.wss.on('connection', (_ws, req) => { sockets.push(req.socket) })
  t.teardown(() => new Promise<void>((resolve) => {
    listener.wss.close()
    listener.server.close(() => resolve())
  }))
  const address = listener.server.address()
  const ws = await WsRawClient.open(t, `ws://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/mqtt`)
  const FRAMES = 400
  const frame = Buffer.alloc(64 * 1024, 0x62)
  const total = FRAMES * frame.length
  for (let i = 0; i < FRAMES; i++) ws.send(frame)
  const [stream, socket] = [streams[0], sockets[0]]
  if (stream === undefined || socket === undefined) throw new Error('no stream for the connection')
  // Nobody reads `stream`. Wait until the server has stopped taking bytes (three polls alike).
  let last = -1
  let same = 0
  await until(() => {
    same = socket.bytesRead === last ? same + 1 : 0
    last = socket.bytesRead
    return same >= 3
  }, 20_000, 'the server to stop reading', 100)
  t.ok(stream.readableLength <= stream.readableHighWaterMark + frame.length,
    `the stream holds ${stream.readableLength} bytes: its high-water mark and one frame at most`)
  t.ok(socket.bytesRead < total / 2, `the server read ${(socket.bytesRead / 2 ** 20).toFixed(1)} of ${(total / 2 ** 20).toFixed(0)} MiB sent`)
  // Reading again, every byte arrives.
  let received = 0
  stream.on('data', (chunk: Buffer) => { received += chunk.length })
  await until(() => received >= total, 20_000, 'every frame once the stream is read')
  t.equal(received, total, 'nothing lost while paused')
})

t.test('Origin allow-list (wsOrigins)', async (t) => {
  const guarded = await startBroker({ ws: true, memory: true, config: { wsOrigins: ['https://dash.example', 'http://127.0.0.1:8080'] } })
  t.teardown(() => guarded.close())
  const guardedUrl = `ws://127.0.0.1:${guarded.wsPort}/mqtt`

  t.test('a listed origin connects', async (t) => {
    const ws = await WsRawClient.open(t, guardedUrl, { origin: 'https://dash.example' })
    ws.send(connectPacket({ clientId: 'ws-origin-ok' }))
    t.equal((await ws.next('connack')).returnCode, 0)
  })

  t.test('an origin not listed is refused in the handshake (HTTP 403)', async (t) => {
    t.equal(await WsRawClient.refusal(guardedUrl, { origin: 'https://evil.example' }), 403)
    t.equal(await WsRawClient.refusal(guardedUrl, { origin: 'http://127.0.0.1:9090' }), 403, 'the port is part of the origin')
  })

  t.test('a client that sends no Origin (not a browser) connects', async (t) => {
    const ws = await WsRawClient.open(t, guardedUrl)
    ws.send(connectPacket({ clientId: 'ws-origin-none' }))
    t.equal((await ws.next('connack')).returnCode, 0)
  })
})

t.test('a custom wsPath is where the listener answers', async (t) => {
  const custom = await startBroker({ ws: true, memory: true, config: { wsPath: '/broker/ws' } })
  t.teardown(() => custom.close())
  const ws = await WsRawClient.open(t, `ws://127.0.0.1:${custom.wsPort}/broker/ws`)
  ws.send(connectPacket({ clientId: 'ws-path' }))
  t.equal((await ws.next('connack')).returnCode, 0)
  t.equal(await WsRawClient.refusal(`ws://127.0.0.1:${custom.wsPort}/mqtt`), 400, 'the default path is not served')
})

t.test('every other client is unaffected', async (t) => {
  await assertHealthy(t, healthy, 'ws-wire/healthy')
})
