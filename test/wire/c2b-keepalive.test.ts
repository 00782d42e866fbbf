import t from 'tap'
import { collect, connect } from '../helpers/client.js'
import {
  assertHealthy, connected, hex, parseDisconnect5, pingreqPacket, wireBroker, type RawClient,
} from '../helpers/raw.js'

/*
 * c2b: PINGREQ and a client that goes silent. The server allows one and a half Keep Alive
 * periods of silence, then closes [MQTT-3.1.2-24] (5.0: DISCONNECT 0x8D first) and publishes the
 * will, as for any close that is not a normal DISCONNECT [MQTT-3.1.2-8].
 */

const { b, healthy } = await wireBroker(t)

/** Waits for the close of a connection with Keep Alive 1 s; returns ms since `since`. */
async function closedAfter(raw: RawClient, since: number): Promise<number> {
  await raw.closed(2500 - (Date.now() - since))
  return Date.now() - since
}

for (const version of [4, 5] as const) {
  t.test(`c2b: v${version} PINGREQ is answered with PINGRESP [MQTT-3.12.4-1]`, async (t) => {
    const { raw } = await connected(t, b.port, { version, clientId: `ping-${version}` })
    raw.send(pingreqPacket(), pingreqPacket())
    t.equal(hex(await raw.read(4)), 'd0 00 d0 00', 'one PINGRESP per PINGREQ')
  })

  t.test(`c2b: v${version} Keep Alive 1 then silence: closed after 1.5 s and the will is published [MQTT-3.1.2-24] [MQTT-3.1.2-8]`, async (t) => {
    const willTopic = `will/keepalive/${version}`
    const watcher = await connect(b.url, { protocolVersion: 5, clientId: `ka-watch-${version}` })
    t.teardown(() => watcher.endAsync())
    const got = collect(watcher)
    await watcher.subscribeAsync(willTopic, { qos: 1 })

    const { raw } = await connected(t, b.port, {
      version, clientId: `ka-${version}`, keepalive: 1, will: { topic: willTopic, payload: 'gone', qos: 1 },
    })
    const since = Date.now()
    if (version === 5) {
      const disconnect = await raw.readPacket(2500)
      t.equal(parseDisconnect5(disconnect).reasonCode, 0x8d, `DISCONNECT 0x8D (Keep Alive timeout): ${hex(disconnect)}`)
    }
    const rest = await raw.closed(2500 - (Date.now() - since))
    const elapsed = Date.now() - since
    t.equal(hex(rest), '', 'nothing else before the close')
    t.ok(elapsed >= 1000, `not closed within the Keep Alive itself (${elapsed} ms)`)
    t.ok(elapsed <= 2000, `closed soon after 1.5 x Keep Alive (${elapsed} ms)`)
    const [will] = await got.next(1, 2000)
    t.equal(will?.topic, willTopic, 'the will is published')
    t.equal(will?.payload, 'gone', 'with its payload')
  })

  t.test(`c2b: v${version} PINGREQ every 0.5 s keeps a Keep Alive 1 connection open [MQTT-3.1.2-23]`, async (t) => {
    const { raw } = await connected(t, b.port, { version, clientId: `ka-alive-${version}`, keepalive: 1 })
    const since = Date.now()
    for (let i = 0; i < 4; i++) {
      // The wait is the stimulus here (time passing), not a guess at when the broker is done.
      await new Promise<void>((resolve) => setTimeout(resolve, 500))
      raw.send(pingreqPacket())
      t.equal(hex(await raw.read(2)), 'd0 00', `PINGRESP at ${Date.now() - since} ms`)
    }
    t.notOk(raw.isClosed, 'still open after 2 s, longer than 1.5 x Keep Alive')
    const elapsed = await closedAfter(raw, Date.now())
    t.ok(elapsed >= 1000, `then silence closes it (${elapsed} ms)`)
  })
}

t.test('the healthy client still publishes and subscribes', (t) => assertHealthy(t, healthy, 'health/keepalive'))
