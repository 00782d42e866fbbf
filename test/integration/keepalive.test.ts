import t from 'tap'
import { delay } from '../helpers/client.js'
import { PacketClient } from '../helpers/packet-client.js'
import { forEachTransport } from '../helpers/transports.js'

/*
 * Keep Alive over every transport: the MQTT-level mechanism (PINGREQ/PINGRESP, 1.5 periods of
 * silence) is the same on TCP and WebSocket; a WebSocket's own ping/pong does not count as MQTT
 * traffic (test/wire/b2c-websocket.test.ts covers those).
 */
forEachTransport(t, (t, { connect, tag, protocolVersion, url, startBroker }) => {
  t.test('a client silent for 1.5 x Keep Alive is disconnected and its will published [MQTT-3.1.2-24, MQTT-3.1.2-8]', async (t) => {
    const willTopic = `keepalive/${tag}/will`
    const watcher = await connect(t, { clientId: `ka-watch-${tag}` })
    await watcher.client.subscribeAsync(willTopic, { qos: 1 })
    // A packet-level client: it never sends PINGREQ on its own.
    const silent = await PacketClient.open(t, url, protocolVersion)
    silent.send({
      cmd: 'connect', protocolId: 'MQTT', protocolVersion, clientId: `ka-silent-${tag}`, clean: true, keepalive: 1,
      will: { topic: willTopic, payload: Buffer.from('gone'), qos: 1, retain: false },
    })
    await silent.next('connack')
    const since = Date.now()
    if (protocolVersion === 5) {
      const disconnect = await silent.next('disconnect', 3000)
      t.equal(disconnect.reasonCode, 0x8d, 'DISCONNECT 0x8D Keep Alive timeout first')
    }
    const [will] = await watcher.got.next(1, 3000)
    const elapsed = Date.now() - since
    t.equal(will?.payload, 'gone', 'the will is published')
    t.ok(elapsed >= 1000, `not before the Keep Alive period itself (${elapsed} ms)`)
    t.ok(elapsed < 2500, `soon after 1.5 x Keep Alive (${elapsed} ms)`)
  })

  t.test('an idle client whose PINGREQs arrive stays connected past 1.5 x Keep Alive [MQTT-3.1.2-23, MQTT-3.12.4-1]', async (t) => {
    const idle = await connect(t, { clientId: `ka-idle-${tag}`, keepalive: 1 })
    let pingresps = 0
    idle.client.on('packetreceive', (packet) => { if (packet.cmd === 'pingresp') pingresps++ })
    // Time passing is what this test is about.
    await delay(2500)
    t.ok(idle.client.connected, 'still connected')
    t.ok(pingresps >= 1, `${pingresps} PINGRESP(s) answered MQTT.js's PINGREQs`)
    await idle.client.subscribeAsync(`keepalive/${tag}/idle`, { qos: 1 })
    await idle.client.publishAsync(`keepalive/${tag}/idle`, 'awake', { qos: 1 })
    t.equal((await idle.got.next(1))[0]?.payload, 'awake', 'and still works')
  })

  t.test('a Keep Alive above limits.maxKeepalive: 5.0 is told Server Keep Alive, 3.1.1 is refused [MQTT-3.2.2-21]', async (t) => {
    const capped = await startBroker(t, { memory: true, config: { limits: { maxKeepalive: 10 } } })
    if (protocolVersion === 5) {
      const c = await capped.connect(t, { clientId: `ka-cap-${tag}`, keepalive: 60 })
      t.equal(c.connack.properties?.serverKeepAlive, 10, 'Server Keep Alive 10 in CONNACK')
      const within = await capped.connect(t, { clientId: `ka-within-${tag}`, keepalive: 5 })
      t.equal(within.connack.properties?.serverKeepAlive, undefined, 'no Server Keep Alive when the client\'s value is kept')
    } else {
      await t.rejects(capped.connect(t, { clientId: `ka-cap-${tag}`, keepalive: 60 }), { code: 2 },
        'CONNACK 2 (identifier rejected), as Mosquitto answers: 3.1.1 cannot announce a lower value')
      const within = await capped.connect(t, { clientId: `ka-within-${tag}`, keepalive: 5 })
      t.equal(within.connack.returnCode, 0, 'a Keep Alive within the limit is accepted')
    }
  })
})
